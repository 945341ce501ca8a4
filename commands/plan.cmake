# envbot_plan: the pure computation behind `envbot plan` and /cost
# (bot/plan.c); the CLI front end is bot/cli_plan.c in the binary.
add_library(envbot_plan STATIC ${CMAKE_SOURCE_DIR}/bot/plan.c)
target_link_libraries(envbot_plan PUBLIC envbot_util PkgConfig::CJSON m)
list(APPEND ENVBOT_MODULE_LIBS envbot_plan)
