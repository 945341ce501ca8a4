# Tests of the schedule engine (bot/cron.c, bot/tz.c) and of `envbot plan`.
add_executable(test_cron tests/test_cron.c)
target_link_libraries(test_cron PRIVATE envbot_util)
add_test(NAME unit_cron COMMAND test_cron)
