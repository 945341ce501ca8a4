# Hostile input and secrets, end to end with the real daemon against the fake
# Discord and the fake AWS (Debian's /usr/bin/python3, which has aiohttp;
# exit 77 = skipped without it).
#   e2e_hostile  oversized and deeply nested gateway frames, invalid UTF-8,
#                mentions and markdown in option values (never a ping), 10 and
#                20 MB AWS responses; the daemon keeps serving
#   e2e_secrets  a debug-level session with known fake secrets (bot token,
#                AWS keys, session token, interaction tokens): none in the log
if(EXISTS /usr/bin/python3)
  add_test(NAME e2e_hostile COMMAND /usr/bin/python3
           ${CMAKE_SOURCE_DIR}/tests/e2e/test_hostile.py $<TARGET_FILE:envbot>)
  add_test(NAME e2e_secrets COMMAND /usr/bin/python3
           ${CMAKE_SOURCE_DIR}/tests/e2e/test_secrets.py $<TARGET_FILE:envbot>)
  set_tests_properties(e2e_hostile e2e_secrets PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
endif()
