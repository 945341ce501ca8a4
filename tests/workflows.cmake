# End-to-end tests of the start/stop workflows with the real binary
# (`envbot start|stop ENV`): against moto, and against the fault-injecting
# fake AWS (tests/fakes/fake_aws.py). They need the python3 that has moto
# and boto3 (pyenv's, first on PATH); without it they exit 77 = skipped.
# The 60-minute timeout runs under libfaketime (skipped without faketime).
find_program(ENVBOT_WF_PYTHON3 NAMES python3)
if(ENVBOT_WF_PYTHON3)
  set(ENVBOT_WF_MOTO ${CMAKE_SOURCE_DIR}/tests/e2e/test_workflows_moto.py)
  set(ENVBOT_WF_FAULTS ${CMAKE_SOURCE_DIR}/tests/e2e/test_workflows_faults.py)
  add_test(NAME e2e_workflows_moto COMMAND ${ENVBOT_WF_PYTHON3} ${ENVBOT_WF_MOTO}
                                           $<TARGET_FILE:envbot>)
  # Credentials refused (moto enforcing IAM auth): exit status 3.
  add_test(NAME e2e_workflows_moto_auth COMMAND ${ENVBOT_WF_PYTHON3} ${ENVBOT_WF_MOTO}
                                                $<TARGET_FILE:envbot> auth)
  add_test(NAME e2e_workflows_faults
           COMMAND ${ENVBOT_WF_PYTHON3} ${ENVBOT_WF_FAULTS} $<TARGET_FILE:envbot>
                   slow createfail deletefail leftover busy throttle auth outage noimage)
  # 1200 tagged instances: every page, every batch.
  add_test(NAME e2e_workflows_faults_ec2
           COMMAND ${ENVBOT_WF_PYTHON3} ${ENVBOT_WF_FAULTS} $<TARGET_FILE:envbot> ec2)
  add_test(NAME e2e_workflows_faults_timeout
           COMMAND ${ENVBOT_WF_PYTHON3} ${ENVBOT_WF_FAULTS} $<TARGET_FILE:envbot> timeout)
  # Through the daemon: /env start|stop via the fake Discord, judged by the
  # embed; failure paths end red with the real reason; 200 environments
  # stopped at once (skipped without aiohttp in Debian's python3).
  add_test(NAME e2e_workflows_slash
           COMMAND ${ENVBOT_WF_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/test_workflows_slash.py
                   $<TARGET_FILE:envbot>)
  # Scheduled ticks (09:00 start, 09:01 stop) under libfaketime at 10x speed
  # drive dev and qa against moto; the embeds land in the channel.
  add_test(NAME e2e_workflows_sched
           COMMAND ${ENVBOT_WF_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/test_workflows_sched.py
                   $<TARGET_FILE:envbot>)
  set_tests_properties(e2e_workflows_moto e2e_workflows_moto_auth e2e_workflows_faults
                       e2e_workflows_faults_ec2 e2e_workflows_faults_timeout e2e_workflows_slash
                       e2e_workflows_sched
                       PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
endif()

# The local demo (demo/run) as a test: /env start dev and /env stop dev sent
# to `envbot run` through the fake Discord, against moto; passes when both
# embeds finish green and correct, moto agrees, and envbot exits cleanly on
# SIGTERM. Skipped (77) when aiohttp or moto is missing.
add_test(NAME e2e_demo
         COMMAND env ENVBOT_BIN=$<TARGET_FILE:envbot> DEMO_NO_INSTALL=1
                 ${CMAKE_SOURCE_DIR}/demo/run)
set_tests_properties(e2e_demo PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
