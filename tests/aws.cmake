# Tests of envbot_aws: signer vectors, encoders and decoders (unit), the
# fault-injecting fake AWS (proved with the aws CLI), moto with signature
# checking on (integration), and the status/tags commands end to end.
set(ENVBOT_TESTDATA ${CMAKE_SOURCE_DIR}/../shared/testdata)

add_executable(test_sigv4 tests/test_sigv4.c)
target_link_libraries(test_sigv4 PRIVATE envbot_aws PkgConfig::CJSON)
add_test(NAME unit_sigv4 COMMAND test_sigv4 ${ENVBOT_TESTDATA})

add_executable(test_aws_encode tests/test_aws_encode.c)
target_link_libraries(test_aws_encode PRIVATE envbot_aws PkgConfig::CJSON)
add_test(NAME unit_aws_encode COMMAND test_aws_encode ${ENVBOT_TESTDATA})

add_executable(test_aws_decode tests/test_aws_decode.c)
target_link_libraries(test_aws_decode PRIVATE envbot_aws)
add_test(NAME unit_aws_decode COMMAND test_aws_decode ${ENVBOT_TESTDATA})

# End to end: python3 on PATH (pyenv: moto, boto3 and the aws CLI installed).
find_program(ENVBOT_AWS_PYTHON3 NAMES python3)
set(ENVBOT_FAKE_AWS ${CMAKE_SOURCE_DIR}/tests/fakes/fake_aws.py)

add_executable(test_aws_live tests/test_aws_live.c)
target_link_libraries(test_aws_live PRIVATE envbot_aws PkgConfig::CJSON)
if(ENVBOT_AWS_PYTHON3)
  # the C client against the fault-injecting fake
  add_test(NAME e2e_aws_fake
           COMMAND ${ENVBOT_AWS_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/aws_with_fake.py
                   ${ENVBOT_FAKE_AWS} $<TARGET_FILE:test_aws_live> {base})
  set_tests_properties(e2e_aws_fake PROPERTIES TIMEOUT 120)
  # the fake's wire format, proved with the real aws CLI
  add_test(NAME e2e_fake_aws_cli
           COMMAND ${ENVBOT_AWS_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/test_fake_aws_cli.py
                   ${ENVBOT_FAKE_AWS})
  set_tests_properties(e2e_fake_aws_cli PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77)
  # TLS to AWS is verified: untrusted CA and wrong host name refused,
  # AWS_CA_BUNDLE / profile ca_bundle trusted
  add_test(NAME e2e_tls_aws
           COMMAND ${ENVBOT_AWS_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/test_tls_aws.py
                   $<TARGET_FILE:envbot> ${ENVBOT_FAKE_AWS})
  set_tests_properties(e2e_tls_aws PROPERTIES TIMEOUT 120)
endif()

# moto with signature checking on: our calls, `envbot status` and `envbot tags`
add_executable(test_aws_probe tests/test_aws_probe.c)
target_link_libraries(test_aws_probe PRIVATE envbot_aws PkgConfig::CJSON)
if(ENVBOT_AWS_PYTHON3)
  add_test(NAME e2e_aws_moto
           COMMAND ${ENVBOT_AWS_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/test_aws_moto.py
                   $<TARGET_FILE:envbot> $<TARGET_FILE:test_aws_probe>)
  set_tests_properties(e2e_aws_moto PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
