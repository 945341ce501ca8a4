# Tests of the slash commands: the pure parts (unit_commands) and every
# command against the real binary with the fake Discord and fake AWS
# (e2e_commands).
add_executable(test_commands tests/test_commands.c)
target_link_libraries(test_commands PRIVATE envbot_commands_pure)
add_test(NAME unit_commands COMMAND test_commands)


add_test(NAME e2e_commands
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/e2e/test_commands.py
                 $<TARGET_FILE:envbot>)
set_tests_properties(e2e_commands PROPERTIES TIMEOUT 180)

# Replies longer than one Discord message (60 environments, 300 holidays, a
# minutely schedule): complete over embeds and follow-ups, or visibly cut.
add_test(NAME e2e_cmd_long_replies
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/e2e/test_cmd_long_replies.py
                 $<TARGET_FILE:envbot>)
set_tests_properties(e2e_cmd_long_replies PROPERTIES TIMEOUT 120)
