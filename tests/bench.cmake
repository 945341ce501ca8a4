# bench/run is not a test (it prints figures and asserts no timing); this
# smoke run in --quick mode (small counts) only keeps it from rotting: it
# must print every figure's line. Needs the python3 on PATH, /usr/bin/python3
# with aiohttp (the fake Discord) and libfaketime.
find_program(ENVBOT_BENCH_PYTHON3 NAMES python3)
if(ENVBOT_BENCH_PYTHON3)
  add_test(NAME bench_smoke
           COMMAND ${ENVBOT_BENCH_PYTHON3} ${CMAKE_SOURCE_DIR}/bench/smoke.py
                   $<TARGET_FILE:envbot> ${CMAKE_SOURCE_DIR})
  set_tests_properties(bench_smoke PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
