# SPDX-License-Identifier: Apache-2.0
# The secure store: unit tests, the power-cut simulation, the CLI end to end.
add_executable(test_store unit/test_store.c sim/simflash.c)
target_link_libraries(test_store PRIVATE bwhost)
target_include_directories(test_store PRIVATE unit)
add_test(NAME unit.store COMMAND test_store)

add_executable(test_store_powercut sim/test_store_powercut.c sim/simflash.c)
target_link_libraries(test_store_powercut PRIVATE bwhost)
add_test(NAME sim.store_powercut COMMAND test_store_powercut)

add_test(NAME integ.store COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/store.sh $<TARGET_FILE:bulwark>)
