# `envbot run` end to end (tests/e2e/test_run_daemon.py): slash-command and
# scheduled (libfaketime) full start/stop against moto, kill -9 and resume,
# 200 environments stopped at one minute against the fake AWS. Needs the
# python3 with moto (pyenv's, first on PATH); exits 77 = skipped without it.
find_program(ENVBOT_RUN_PYTHON3 NAMES python3)
if(ENVBOT_RUN_PYTHON3)
  foreach(scenario slash schedule resume fanout)
    add_test(NAME e2e_run_${scenario}
             COMMAND ${ENVBOT_RUN_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/test_run_daemon.py
                     $<TARGET_FILE:envbot> ${CMAKE_SOURCE_DIR} ${scenario})
    set_tests_properties(e2e_run_${scenario} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
  endforeach()
endif()
