# SPDX-License-Identifier: Apache-2.0
# Gateway registry (gateway/db*.c): one contract suite on both backends.
# SQLite gets a fresh file in a temp dir ("sqlite:" alone); PostgreSQL gets
# a private server that contract/registry_pg.sh starts and stops itself.
if(TARGET bwgateway)
  add_executable(test_registry contract/test_registry.c)
  target_link_libraries(test_registry PRIVATE bwgateway)
  add_test(NAME contract.registry_sqlite COMMAND test_registry sqlite:)
  set_tests_properties(contract.registry_sqlite PROPERTIES TIMEOUT 300)
  add_test(NAME contract.registry_pg
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/contract/registry_pg.sh
           $<TARGET_FILE:test_registry>)
  set_tests_properties(contract.registry_pg PROPERTIES LABELS pg TIMEOUT 300)
  # every allocation of the registry through the capped allocator
  add_executable(test_registry_nomem contract/test_registry_nomem.c)
  target_link_libraries(test_registry_nomem PRIVATE bwgateway)
  add_test(NAME contract.registry_nomem_sqlite COMMAND test_registry_nomem sqlite:)
  add_test(NAME contract.registry_nomem_pg
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/contract/registry_pg.sh
           $<TARGET_FILE:test_registry_nomem>)
  set_tests_properties(contract.registry_nomem_pg PROPERTIES LABELS pg TIMEOUT 120)
endif()
