# Unit tests of envbot_util's pure parts.
add_executable(test_log tests/test_log.c)
target_link_libraries(test_log PRIVATE envbot_util)
add_test(NAME unit_log COMMAND test_log)

add_executable(test_loop tests/test_loop.c)
target_link_libraries(test_loop PRIVATE envbot_util)
add_test(NAME unit_loop COMMAND test_loop)
