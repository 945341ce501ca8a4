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
