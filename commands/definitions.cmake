# envbot_cmddefs: the slash command set of CONTRACT.md as JSON (used by
# `register-commands` and by `run` at start-up, through envbot_discord).
add_library(envbot_cmddefs STATIC ${CMAKE_SOURCE_DIR}/commands/definitions.c)
target_include_directories(envbot_cmddefs PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(envbot_cmddefs PUBLIC PkgConfig::CJSON)
list(APPEND ENVBOT_MODULE_LIBS envbot_cmddefs)
