# envbot_health: the loopback /healthz + /metrics listener and the metrics
# registry (bot/health.c, bot/metrics.c). The sources live in bot/, but the
# fragment lives here because the top-level CMakeLists.txt only includes
# bot/util.cmake, bot/discord.cmake, bot/daemon.cmake and globs
# commands/*.cmake; a bot/health.cmake would never be read.
add_library(envbot_health STATIC ${CMAKE_SOURCE_DIR}/bot/health.c ${CMAKE_SOURCE_DIR}/bot/metrics.c)
target_include_directories(envbot_health PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(envbot_health PUBLIC envbot_util PkgConfig::CJSON Threads::Threads)
list(APPEND ENVBOT_MODULE_LIBS envbot_health)
