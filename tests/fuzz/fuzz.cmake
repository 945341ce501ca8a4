# libFuzzer + ASan/UBSan harnesses of the parsers that read remote or user
# input. They need clang: configure a separate build directory with
#   CC=clang cmake -S . -B build-fuzz -DENVBOT_FUZZ=ON
# (tests/fuzz/run.sh does that). The module libraries are built with the
# normal flags; each harness instead compiles the module sources it needs
# itself, so that all of them carry the fuzzer's coverage instrumentation.
option(ENVBOT_FUZZ "Build the libFuzzer harnesses (clang only)" OFF)

if(ENVBOT_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ENVBOT_FUZZ needs clang (CC=clang)")
  endif()
  set(FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer -g)
  set(FUZZ_UTIL bot/rc.c bot/log.c bot/loop.c bot/when.c bot/cron.c bot/tz.c)
  function(envbot_fuzzer name)
    set(srcs tests/fuzz/${name}.c)
    foreach(s ${ARGN})
      list(APPEND srcs ${CMAKE_SOURCE_DIR}/${s})
    endforeach()
    add_executable(${name} ${srcs})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
    target_compile_options(${name} PRIVATE ${FUZZ_FLAGS})
    target_link_options(${name} PRIVATE ${FUZZ_FLAGS})
    target_link_libraries(${name} PRIVATE PkgConfig::LWS PkgConfig::CURL PkgConfig::CJSON
      PkgConfig::LIBCONFIG PkgConfig::XML2 PkgConfig::SSL ZLIB::ZLIB Threads::Threads m)
    set(ENVBOT_FUZZERS ${ENVBOT_FUZZERS} ${name} PARENT_SCOPE)
  endfunction()

  envbot_fuzzer(fuzz_when ${FUZZ_UTIL})
  envbot_fuzzer(fuzz_cron ${FUZZ_UTIL})
  envbot_fuzzer(fuzz_config ${FUZZ_UTIL} config/config.c)
  envbot_fuzzer(fuzz_state ${FUZZ_UTIL} bot/state.c)
  envbot_fuzzer(fuzz_aws_xml ${FUZZ_UTIL} aws/decode.c aws/util.c config/config.c)
  envbot_fuzzer(fuzz_aws_json ${FUZZ_UTIL} aws/decode.c aws/util.c config/config.c)
  # gw.c is included by the harness itself (its decoding is static).
  envbot_fuzzer(fuzz_gateway ${FUZZ_UTIL} bot/interact.c bot/rest.c)
  envbot_fuzzer(fuzz_interaction ${FUZZ_UTIL} bot/interact.c bot/rest.c commands/cmdutil.c
    bot/plan.c bot/state.c config/config.c)
  add_custom_target(fuzzers DEPENDS ${ENVBOT_FUZZERS})
elseif(NOT ENVBOT_SANITIZE)
  # CI: every harness for 30 s on its committed corpus, two at a time (the
  # harnesses carry ASan+UBSan themselves, so the sanitizer build does not
  # run them again). Serial: it keeps both cores busy for about 2 minutes,
  # which would starve the timing-sensitive end-to-end tests.
  add_test(NAME fuzz_short COMMAND ${CMAKE_SOURCE_DIR}/tests/fuzz/run.sh 30)
  set_tests_properties(fuzz_short PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE TIMEOUT 900
    ENVIRONMENT "FUZZ_BUILD_DIR=${CMAKE_BINARY_DIR}/fuzz;FUZZ_JOBS=2")
endif()
