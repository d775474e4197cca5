# SPDX-License-Identifier: Apache-2.0
# bulwark-gateway under a simulated fleet (tests/tools/gwload.c): durability
# of acknowledged reports across kill -9, on SQLite and PostgreSQL, and two
# gateway instances on one PostgreSQL registry.
if(TARGET bwgateway)
  pkg_check_modules(CURL_LOAD REQUIRED IMPORTED_TARGET libcurl)
  add_executable(gwload tools/gwload.c)
  target_link_libraries(gwload PRIVATE bwhost PkgConfig::CURL_LOAD PkgConfig::JANSSON
                        Threads::Threads)
  set(GWLOAD_ARGS $<TARGET_FILE:bulwark> $<TARGET_FILE:bulwark-gateway>
                  $<TARGET_FILE:devkey_pem> $<TARGET_FILE:gwload>)
  add_test(NAME integ.gateway_durability_sqlite
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_durability.sh ${GWLOAD_ARGS})
  add_test(NAME integ.gateway_durability_pg
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/contract/registry_pg.sh
                   ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_durability.sh ${GWLOAD_ARGS})
  add_test(NAME integ.gateway_scale_pg
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/contract/registry_pg.sh
                   ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_scale.sh ${GWLOAD_ARGS})
  set_tests_properties(integ.gateway_durability_sqlite integ.gateway_durability_pg
                       PROPERTIES TIMEOUT 300)
  set_tests_properties(integ.gateway_durability_pg PROPERTIES LABELS pg)
  # about 30 s, 60 s with ASan on an idle 2-core machine; over 240 s with
  # ASan while other builds ran on the same cores, so the guard against a
  # hang (registry_pg.sh) is set well above that
  set_tests_properties(integ.gateway_scale_pg PROPERTIES LABELS pg TIMEOUT 900
                       ENVIRONMENT BW_PG_TEST_TIMEOUT=840)
endif()
