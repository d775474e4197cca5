# SPDX-License-Identifier: Apache-2.0
# Security log: unit tests on real files, the power-cut simulation of its
# file layer, and the CLI end to end (install events, `log verify` on edits).
add_executable(test_log unit/test_log.c)
target_link_libraries(test_log PRIVATE bwhost)
target_include_directories(test_log PRIVATE unit)
add_test(NAME unit.log COMMAND test_log)

add_executable(test_log_powercut sim/test_log_powercut.c)
target_link_libraries(test_log_powercut PRIVATE bwhost)
target_include_directories(test_log_powercut PRIVATE unit)
add_test(NAME sim.log_powercut COMMAND test_log_powercut)

add_test(NAME integ.log COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/log.sh $<TARGET_FILE:bulwark>
         $<TARGET_FILE:test_log>)
