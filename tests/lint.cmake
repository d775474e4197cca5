# SPDX-License-Identifier: Apache-2.0
# House rules (docs/design.md): scripts/checksrc over the tree, and proof
# that it refuses each rule on a small tree built to break them.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME lint.checksrc COMMAND Python3::Interpreter ${CMAKE_SOURCE_DIR}/scripts/checksrc
         ${CMAKE_SOURCE_DIR})
add_test(NAME lint.checksrc_fails COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/lint/checksrc_fails.sh
         ${CMAKE_SOURCE_DIR})
set_tests_properties(lint.checksrc lint.checksrc_fails PROPERTIES LABELS lint TIMEOUT 60)
