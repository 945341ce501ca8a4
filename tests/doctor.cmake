# `envbot doctor` end to end: the real binary against moto (pyenv's python3,
# with moto and boto3) and the fake Discord (Debian's python3, with aiohttp).
# Everything right gives exit 0; each broken input (Discord token, application
# id, channel, guild, ECR repository, no token, config, AWS credentials refused,
# ec2:StartInstances denied under moto's IAM) its ✘ with a fix and exit status.
# Without moto or aiohttp the test exits 77 (skipped).
find_program(ENVBOT_DOCTOR_PYTHON3 NAMES python3)
if(ENVBOT_DOCTOR_PYTHON3)
  add_test(NAME e2e_doctor
           COMMAND ${ENVBOT_DOCTOR_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/test_doctor.py
                   $<TARGET_FILE:envbot> ${CMAKE_SOURCE_DIR}/tests/fakes/fake_discord.py)
  set_tests_properties(e2e_doctor PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
