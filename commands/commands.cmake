# envbot_commands: the slash commands (commands/*.c, one file per family) and
# the stop warning. The pure parts (roles, parsing, extend computation,
# custom ids) are their own small library so that the unit test links them
# without the Discord client, AWS or the daemon.
add_library(envbot_commands_pure STATIC ${CMAKE_SOURCE_DIR}/commands/cmdutil.c
  ${CMAKE_SOURCE_DIR}/commands/nextwords.c)
target_include_directories(envbot_commands_pure PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(envbot_commands_pure PUBLIC envbot_sched envbot_state envbot_plan envbot_config
  envbot_util PkgConfig::CJSON m)

add_library(envbot_commands STATIC
  ${CMAKE_SOURCE_DIR}/commands/dispatch.c
  ${CMAKE_SOURCE_DIR}/commands/env.c
  ${CMAKE_SOURCE_DIR}/commands/schedule.c
  ${CMAKE_SOURCE_DIR}/commands/holiday.c
  ${CMAKE_SOURCE_DIR}/commands/misc.c)
target_link_libraries(envbot_commands PUBLIC envbot_commands_pure envbot_discord envbot_state
  envbot_wf envbot_plan envbot_aws envbot_config envbot_util PkgConfig::CJSON)
list(APPEND ENVBOT_MODULE_LIBS envbot_commands envbot_commands_pure)
