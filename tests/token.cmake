# SPDX-License-Identifier: Apache-2.0
# Device tokens (JWT ES256): unit tests, and the CLI end to end.
add_executable(test_token unit/test_token.c)
target_link_libraries(test_token PRIVATE bwhost PkgConfig::JANSSON)
target_include_directories(test_token PRIVATE unit)
add_test(NAME unit.token COMMAND test_token)
add_test(NAME integ.token COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/token.sh $<TARGET_FILE:bulwark>
         $<TARGET_FILE:test_token>)
