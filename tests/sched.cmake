# Tests of the schedule engine (bot/cron.c, bot/tz.c) and of `envbot plan`.
add_executable(test_cron tests/test_cron.c)
target_link_libraries(test_cron PRIVATE envbot_util)
add_test(NAME unit_cron COMMAND test_cron)

add_executable(test_plan tests/test_plan.c)
target_link_libraries(test_plan PRIVATE envbot_plan)
add_test(NAME unit_plan COMMAND test_plan)

# The real binary on config/example.cfg (offline).
add_test(NAME e2e_plan COMMAND sh ${CMAKE_SOURCE_DIR}/tests/plan_e2e.sh $<TARGET_FILE:envbot>
                               ${CMAKE_SOURCE_DIR})
