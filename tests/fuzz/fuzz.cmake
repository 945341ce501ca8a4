# libFuzzer + ASan/UBSan harnesses of the parsers that read remote or user
# input. They need clang: configure a separate build directory with
#   CC=clang cmake -S . -B build-fuzz -DENVBOT_FUZZ=ON
# (tests/fuzz/run.sh does that). The module libraries are built with the
# normal flags; the harnesses instead link the module sources they need,
# compiled here with the fuzzer's coverage instrumentation.
option(ENVBOT_FUZZ "Build the libFuzzer harnesses (clang only)" OFF)

if(ENVBOT_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ENVBOT_FUZZ needs clang (CC=clang)")
  endif()
  set(FUZZ_SAN -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  # Module sources are compiled once into object libraries (coverage
  # instrumented, no libFuzzer main) and shared by the harnesses that need
  # them: the CI run builds in about half the time.
  function(envbot_fuzz_objects name)
    set(srcs)
    foreach(s ${ARGN})
      list(APPEND srcs ${CMAKE_SOURCE_DIR}/${s})
    endforeach()
    add_library(${name} OBJECT ${srcs})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer-no-link ${FUZZ_SAN})
    target_link_libraries(${name} PRIVATE PkgConfig::LWS PkgConfig::CURL PkgConfig::CJSON
      PkgConfig::LIBCONFIG PkgConfig::XML2 PkgConfig::SSL ZLIB::ZLIB)
  endfunction()
  envbot_fuzz_objects(fuzzobj_util bot/rc.c bot/log.c bot/loop.c bot/when.c bot/cron.c bot/tz.c)
  envbot_fuzz_objects(fuzzobj_config config/config.c)
  envbot_fuzz_objects(fuzzobj_state bot/state.c)
  envbot_fuzz_objects(fuzzobj_aws aws/decode.c aws/util.c)
  envbot_fuzz_objects(fuzzobj_discord bot/interact.c bot/rest.c)
  envbot_fuzz_objects(fuzzobj_cmd commands/cmdutil.c bot/plan.c)

  function(envbot_fuzzer name)
    set(objs)
    foreach(o ${ARGN})
      list(APPEND objs $<TARGET_OBJECTS:${o}>)
    endforeach()
    add_executable(${name} tests/fuzz/${name}.c ${objs})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer ${FUZZ_SAN})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer ${FUZZ_SAN})
    target_link_libraries(${name} PRIVATE PkgConfig::LWS PkgConfig::CURL PkgConfig::CJSON
      PkgConfig::LIBCONFIG PkgConfig::XML2 PkgConfig::SSL ZLIB::ZLIB Threads::Threads m)
    set(ENVBOT_FUZZERS ${ENVBOT_FUZZERS} ${name} PARENT_SCOPE)
  endfunction()

  envbot_fuzzer(fuzz_when fuzzobj_util)
  envbot_fuzzer(fuzz_cron fuzzobj_util)
  envbot_fuzzer(fuzz_config fuzzobj_util fuzzobj_config)
  envbot_fuzzer(fuzz_state fuzzobj_util fuzzobj_state)
  envbot_fuzzer(fuzz_aws_xml fuzzobj_util fuzzobj_aws fuzzobj_config)
  envbot_fuzzer(fuzz_aws_json fuzzobj_util fuzzobj_aws fuzzobj_config)
  # gw.c is included by the harness itself (its decoding is static).
  envbot_fuzzer(fuzz_gateway fuzzobj_util fuzzobj_discord)
  envbot_fuzzer(fuzz_interaction fuzzobj_util fuzzobj_discord fuzzobj_cmd fuzzobj_state
    fuzzobj_config)
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
