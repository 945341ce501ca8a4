# Fuzzing (libFuzzer harnesses, the fuzz_short CI test): see tests/fuzz/.
include(${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz.cmake)
