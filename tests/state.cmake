# Tests of the state module (bot/state.c): file format, atomic save, recovery,
# expiry, the conflict rule, and crash safety under SIGKILL.
add_executable(test_state tests/test_state.c)
target_link_libraries(test_state PRIVATE envbot_state)
add_test(NAME unit_state COMMAND test_state)

add_executable(test_state_crash tests/test_state_crash.c)
target_link_libraries(test_state_crash PRIVATE envbot_state)
add_test(NAME unit_state_crash COMMAND test_state_crash)
set_tests_properties(unit_state_crash PROPERTIES TIMEOUT 60)
