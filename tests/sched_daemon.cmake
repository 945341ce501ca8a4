# Tests of the daemon's scheduler (bot/sched.c) with a fake wall clock and a
# real event loop. (tests/sched.cmake holds the schedule engine's tests.)
add_executable(test_sched tests/test_sched.c)
target_link_libraries(test_sched PRIVATE envbot_sched)
add_test(NAME unit_scheduler COMMAND test_sched)
set_tests_properties(unit_scheduler PROPERTIES TIMEOUT 60)
