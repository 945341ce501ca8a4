# Tests of the Discord side: unit tests of the pure parts, end-to-end
# scenarios of the real binary against tests/fakes/fake_discord.py, and the
# discord.js check that the fake behaves like Discord.
foreach(t gw rest interact)
  add_executable(test_${t} tests/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE envbot_discord)
  add_test(NAME unit_${t} COMMAND test_${t})
endforeach()

# The REST client alone against the fake (limits, 4xx cap, 401, 15 minutes).
add_executable(rest_live tests/e2e/rest_live.c)
target_link_libraries(rest_live PRIVATE envbot_discord)
add_test(NAME e2e_discord_rest_live
  COMMAND rest_live ${CMAKE_SOURCE_DIR}/tests/fakes/fake_discord.py)
set_tests_properties(e2e_discord_rest_live PROPERTIES TIMEOUT 120)

# The gateway module alone against the fake (gw_send and its budget).
add_executable(gateway_live tests/e2e/gateway_live.c)
target_link_libraries(gateway_live PRIVATE envbot_discord)
add_test(NAME e2e_discord_gateway_live
  COMMAND gateway_live ${CMAKE_SOURCE_DIR}/tests/fakes/fake_discord.py)
set_tests_properties(e2e_discord_gateway_live PROPERTIES TIMEOUT 120)

set(ENVBOT_DISCORD_E2E
  flow register_commands start_limit resume_replay zombie op7 op9_resumable op9_new_session
  close_resumable close_new_session close_fatal bad_token rest_429_route
  rest_429_global rest_5xx burst_500 burst_delay latency sigterm malformed compress tls)
foreach(s ${ENVBOT_DISCORD_E2E})
  add_test(NAME e2e_discord_${s}
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/e2e/discord_e2e.py
            $<TARGET_FILE:envbot> ${s})
  set_tests_properties(e2e_discord_${s} PROPERTIES TIMEOUT 120)
endforeach()

add_test(NAME e2e_discordjs
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/e2e/discordjs_e2e.py
          ${CMAKE_SOURCE_DIR}/tests/discordjs)
set_tests_properties(e2e_discordjs PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
# A channel post whose answer is lost (502 after the message was made) is
# retried with the same nonce + enforce_nonce: one message, not two.
add_test(NAME e2e_post_once COMMAND /usr/bin/python3
         ${CMAKE_SOURCE_DIR}/tests/e2e/test_post_once.py $<TARGET_FILE:envbot>)
set_tests_properties(e2e_post_once PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
