# Tests of the config module and bot/when.c: unit tests of the pure parts and
# an end-to-end run of the real `envbot check-config` on the example config and
# on one bad config per kind of mistake (tests/config-bad/*.cfg).
add_executable(test_when tests/test_when.c)
target_link_libraries(test_when PRIVATE envbot_util)
add_test(NAME unit_when COMMAND test_when)

add_executable(test_config tests/test_config.c)
target_link_libraries(test_config PRIVATE envbot_config envbot_util)
target_compile_definitions(test_config PRIVATE
  ENVBOT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_test(NAME unit_config COMMAND test_config)

add_test(NAME e2e_check_config
  COMMAND sh ${CMAKE_SOURCE_DIR}/tests/check_config_e2e.sh $<TARGET_FILE:envbot>
          ${CMAKE_SOURCE_DIR})
