# `envbot run` end to end (tests/e2e/test_run_daemon.py): slash-command
# start/stop against moto with /healthz and /metrics scraped, and kill -9 in
# the middle of a create then resume. Its "schedule" and "fanout" scenarios
# can be run by hand; CI covers them with e2e_workflows_sched and
# e2e_workflows_slash (200 parallel stops). Needs the python3 with moto
# (pyenv's, first on PATH); exits 77 = skipped without it.
find_program(ENVBOT_RUN_PYTHON3 NAMES python3)
if(ENVBOT_RUN_PYTHON3)
  foreach(scenario slash resume)
    add_test(NAME e2e_run_${scenario}
             COMMAND ${ENVBOT_RUN_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/test_run_daemon.py
                     $<TARGET_FILE:envbot> ${CMAKE_SOURCE_DIR} ${scenario})
    set_tests_properties(e2e_run_${scenario} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
  endforeach()
endif()
