# envbot_aws: SigV4, credentials, retries and the CloudFormation/ECR/EC2/STS
# calls, all asynchronous on the event loop.
add_library(envbot_aws STATIC
  ${CMAKE_SOURCE_DIR}/aws/aws.c
  ${CMAKE_SOURCE_DIR}/aws/creds.c
  ${CMAKE_SOURCE_DIR}/aws/sigv4.c
  ${CMAKE_SOURCE_DIR}/aws/util.c
  ${CMAKE_SOURCE_DIR}/aws/encode.c
  ${CMAKE_SOURCE_DIR}/aws/decode.c
  ${CMAKE_SOURCE_DIR}/aws/cfn.c
  ${CMAKE_SOURCE_DIR}/aws/ecr.c
  ${CMAKE_SOURCE_DIR}/aws/ec2.c
  ${CMAKE_SOURCE_DIR}/aws/sts.c)
target_include_directories(envbot_aws PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(envbot_aws PUBLIC envbot_config envbot_util PkgConfig::CURL
  PRIVATE PkgConfig::CJSON PkgConfig::XML2 PkgConfig::SSL m)
list(APPEND ENVBOT_MODULE_LIBS envbot_aws)
