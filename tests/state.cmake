# Tests of the state module (bot/state.c): file format, atomic save, recovery,
# expiry, the conflict rule, and crash safety under SIGKILL.
add_executable(test_state tests/test_state.c)
target_link_libraries(test_state PRIVATE envbot_state)
add_test(NAME unit_state COMMAND test_state)

add_executable(test_state_crash tests/test_state_crash.c)
target_link_libraries(test_state_crash PRIVATE envbot_state)
add_test(NAME unit_state_crash COMMAND test_state_crash)
set_tests_properties(unit_state_crash PROPERTIES TIMEOUT 60)

# As root (CI containers) directory permissions are not enforced, so the
# read-only-directory case of test_state is skipped there. Run the suite once
# more as "nobody" when we are root and runuser exists; 77 = skipped when
# nobody cannot reach the build directory.
find_program(ENVBOT_RUNUSER runuser)
if(ENVBOT_RUNUSER)
  add_test(NAME unit_state_unprivileged
           COMMAND sh -c "if [ \"$(id -u)\" != 0 ]; then exec \"$0\"; fi; \
${ENVBOT_RUNUSER} -u nobody -- test -x \"$0\" || exit 77; \
exec ${ENVBOT_RUNUSER} -u nobody -- \"$0\"" $<TARGET_FILE:test_state>)
  set_tests_properties(unit_state_unprivileged PROPERTIES SKIP_RETURN_CODE 77)
endif()

# The outbox of final progress pictures end to end (tests/e2e/test_final_edit.py):
# the final edit refused, kill -9 after the workflow ended, restart: the
# message shows the outcome exactly once and the record leaves the state file.
# Needs Debian's python3 with aiohttp for the fake Discord: 77 = skipped.
find_program(ENVBOT_FINAL_PYTHON3 NAMES python3)
if(ENVBOT_FINAL_PYTHON3)
  add_test(NAME e2e_final_edit
           COMMAND ${ENVBOT_FINAL_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/e2e/test_final_edit.py
                   $<TARGET_FILE:envbot>)
  set_tests_properties(e2e_final_edit PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
