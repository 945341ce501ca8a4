# envbot_util: the pure and shared pieces every module uses (rc, log, loop,
# when = dates/durations, cron + tz = schedule engine).
file(GLOB ENVBOT_UTIL_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/bot/rc.c ${CMAKE_SOURCE_DIR}/bot/log.c
  ${CMAKE_SOURCE_DIR}/bot/loop.c ${CMAKE_SOURCE_DIR}/bot/when.c
  ${CMAKE_SOURCE_DIR}/bot/cron.c ${CMAKE_SOURCE_DIR}/bot/tz.c)
add_library(envbot_util STATIC ${ENVBOT_UTIL_SOURCES})
target_include_directories(envbot_util PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(envbot_util PUBLIC PkgConfig::CURL Threads::Threads)
