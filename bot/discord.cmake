# envbot_discord: the Discord gateway (libwebsockets thread), the REST client
# (libcurl multi on the loop), interactions, the `run` context (bot.c) and the
# slash command definitions (commands/definitions.cmake adds those).
add_library(envbot_discord STATIC
  ${CMAKE_SOURCE_DIR}/bot/gw.c
  ${CMAKE_SOURCE_DIR}/bot/rest.c
  ${CMAKE_SOURCE_DIR}/bot/interact.c
  ${CMAKE_SOURCE_DIR}/bot/bot.c)
target_include_directories(envbot_discord PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(envbot_discord PUBLIC PkgConfig::LWS PkgConfig::CJSON ZLIB::ZLIB
  PkgConfig::SSL envbot_cmddefs envbot_config envbot_util m)
list(APPEND ENVBOT_MODULE_LIBS envbot_discord)
