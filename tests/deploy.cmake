# Tests of the deploy issue: the metrics registry and health listener (unit),
# and the deploy/ files validated with the real tools when the machine has
# them (exit 77 = skipped: systemd-analyze, cfn-lint, python3 yaml).
add_executable(test_metrics tests/test_metrics.c)
target_link_libraries(test_metrics PRIVATE envbot_health)
add_test(NAME unit_metrics COMMAND test_metrics)

add_executable(test_health tests/test_health.c)
target_link_libraries(test_health PRIVATE envbot_health)
add_test(NAME unit_health COMMAND test_health)

# The rendering parsed by the Prometheus Python client's own parser.
add_test(NAME unit_metrics_promparse
         COMMAND ${CMAKE_SOURCE_DIR}/tests/deploy_promparse.sh $<TARGET_FILE:test_metrics>)
set_tests_properties(unit_metrics_promparse PROPERTIES SKIP_RETURN_CODE 77)

add_test(NAME deploy_systemd_verify
         COMMAND ${CMAKE_SOURCE_DIR}/tests/deploy_systemd_verify.sh $<TARGET_FILE:envbot>)
add_test(NAME deploy_cfn_lint COMMAND ${CMAKE_SOURCE_DIR}/tests/deploy_cfn_lint.sh)
add_test(NAME deploy_cfn_policy COMMAND ${CMAKE_SOURCE_DIR}/tests/deploy_cfn_policy.sh)
# Given the built binary, also checks that the image's runtime packages
# provide every library it links.
add_test(NAME deploy_docker_files
         COMMAND ${CMAKE_SOURCE_DIR}/tests/deploy_docker_files.sh $<TARGET_FILE:envbot>)
add_test(NAME deploy_install_deps COMMAND ${CMAKE_SOURCE_DIR}/tests/deploy_install_deps.sh)
set_tests_properties(deploy_systemd_verify deploy_cfn_lint deploy_cfn_policy
                     deploy_docker_files deploy_install_deps
                     PROPERTIES SKIP_RETURN_CODE 77 WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})

# The shell scripts of deploy/ and of these tests, through shellcheck
# (Debian package shellcheck; skipped when absent).
add_test(NAME deploy_shellcheck
         COMMAND sh -c "command -v shellcheck >/dev/null || exit 77; shellcheck deploy/*.sh tests/deploy_*.sh")
set_tests_properties(deploy_shellcheck PROPERTIES SKIP_RETURN_CODE 77
                     WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
