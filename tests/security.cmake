# Hostile input and secrets, end to end with the real daemon against the fake
# Discord and the fake AWS (Debian's /usr/bin/python3, which has aiohttp;
# exit 77 = skipped without it).
#   e2e_hostile  oversized and deeply nested gateway frames, invalid UTF-8,
#                lone surrogates, 10 and 20 MB AWS responses; the daemon keeps
#                serving
#   e2e_hostile_mentions  mentions, markdown and control characters in option
#                values and the user's name: allowed_mentions {"parse": []}
#                on everything sent, and no raw mention text anywhere
#   e2e_hostile_zlib  a zlib-stream event inflating past the 8 MiB cap: no
#                reconnect loop when the resumed session replays it
# (The last two found bugs 7 and 8 of RELIABILITY.md, Fuzzing; both fixed.)
#   e2e_secrets  a debug-level session with known fake secrets (bot token,
#                AWS keys, session token, interaction tokens): none in the log
#   e2e_privileges  `envbot run` warns when it runs as root, not as nobody
if(EXISTS /usr/bin/python3)
  set(ENVBOT_HOSTILE ${CMAKE_SOURCE_DIR}/tests/e2e/test_hostile.py)
  add_test(NAME e2e_hostile COMMAND /usr/bin/python3 ${ENVBOT_HOSTILE} $<TARGET_FILE:envbot>
                                    frames surrogate awshuge)
  add_test(NAME e2e_hostile_mentions COMMAND /usr/bin/python3 ${ENVBOT_HOSTILE}
                                             $<TARGET_FILE:envbot> mentions)
  add_test(NAME e2e_hostile_zlib COMMAND /usr/bin/python3 ${ENVBOT_HOSTILE}
                                         $<TARGET_FILE:envbot> zlib)
  add_test(NAME e2e_secrets COMMAND /usr/bin/python3
           ${CMAKE_SOURCE_DIR}/tests/e2e/test_secrets.py $<TARGET_FILE:envbot>)
  set_tests_properties(e2e_hostile e2e_hostile_mentions e2e_hostile_zlib e2e_secrets
                       PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
endif()
add_test(NAME e2e_privileges COMMAND /usr/bin/python3
         ${CMAKE_SOURCE_DIR}/tests/e2e/test_privileges.py $<TARGET_FILE:envbot>)
set_tests_properties(e2e_privileges PROPERTIES TIMEOUT 120)
