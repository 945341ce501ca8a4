# envbot_sched: the daemon's scheduler (bot/sched.c). It lives in bot/, but
# its fragment is here because the top-level CMakeLists.txt globs
# commands/*.cmake (and only named bot/ fragments); nothing else about the
# scheduler is a command.
add_library(envbot_sched STATIC ${CMAKE_SOURCE_DIR}/bot/sched.c)
target_link_libraries(envbot_sched PUBLIC envbot_state envbot_plan envbot_config envbot_util)
list(APPEND ENVBOT_MODULE_LIBS envbot_sched)
