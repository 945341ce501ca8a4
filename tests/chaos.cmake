# The chaos suite (tests/chaos/chaos.py): faults combined with `envbot run`
# doing real work against the fake Discord and the fake AWS on loopback;
# every scenario asserts nothing acknowledged is lost, nothing runs twice and
# the daemon keeps serving. One CTest per scenario (each well under 90 s).
# The long soak (tests/chaos/soak.sh) and kill9 x100 are not in CI.
# Needs Debian's python3 with aiohttp for the fake Discord: exit 77 = skipped.
set(ENVBOT_CHAOS_CI
  gw_drop gw_op7_op9 gw_heartbeat gw_close burst1000 soak
  rest_429 rest_5xx rest_slow rest_refused
  aws_throttle50 aws_5xx aws_creds aws_stuck
  kill9 diskfull readonly sighup)
foreach(s ${ENVBOT_CHAOS_CI})
  add_test(NAME chaos_${s}
           COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/chaos/chaos.py
                   $<TARGET_FILE:envbot> ${s})
  set_tests_properties(chaos_${s} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
endforeach()
