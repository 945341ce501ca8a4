# The daemon's module libraries (bot/). Each block is one library appended to
# ENVBOT_MODULE_LIBS so the envbot binary links it.

# envbot_state: the state file (overrides, holidays, audit, workflows in
# flight, uptime) and the override conflict rule. Owned by the state module;
# other daemon libraries go below this block.
add_library(envbot_state STATIC bot/state.c)
target_link_libraries(envbot_state PUBLIC envbot_util PkgConfig::CJSON)
list(APPEND ENVBOT_MODULE_LIBS envbot_state)

# envbot_wf: the workflow interpreter, its tables (stack, ec2), the progress
# embeds, the workflow manager, and the daemon wiring (state, AWS, scheduler)
# that bot.c switches to.
add_library(envbot_wf STATIC bot/wf.c bot/wf_stack.c bot/wf_ec2.c bot/embed.c bot/wfm.c
  bot/daemon.c bot/daemon_sched.c bot/daemon_health.c)
target_link_libraries(envbot_wf PUBLIC envbot_discord envbot_state envbot_health envbot_aws envbot_config
  envbot_util PkgConfig::CJSON)
list(APPEND ENVBOT_MODULE_LIBS envbot_wf)
