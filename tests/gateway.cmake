# SPDX-License-Identifier: Apache-2.0
# bulwark-gateway through curl over TLS with client certificates.
if(TARGET bwgateway)
  add_executable(devkey_pem integ/devkey_pem.c)
  target_link_libraries(devkey_pem PRIVATE bwhost)
  add_test(NAME integ.gateway_sqlite
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>
                   $<TARGET_FILE:bulwark-gatewayctl>)
endif()
if(TARGET bwgateway)
  add_test(NAME integ.gateway_pg
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/contract/registry_pg.sh
                   ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>
                   $<TARGET_FILE:bulwark-gatewayctl>)
  set_tests_properties(integ.gateway_pg PROPERTIES LABELS pg)
endif()
# The fleet dashboard in headless Chromium (DevTools protocol over a pipe)
if(TARGET bwgateway)
  add_test(NAME integ.dashboard
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/dashboard.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway>)
  set_tests_properties(integ.dashboard PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()

# the connection guard's rules (deadlines, caps, eviction) on an injected clock
if(TARGET bwgateway)
  add_executable(test_guard unit/test_guard.c)
  target_link_libraries(test_guard PRIVATE bwgateway)
  target_include_directories(test_guard PRIVATE unit)
  add_test(NAME unit.guard COMMAND test_guard)
endif()

# the cache of verified client chains: lifetime, notAfter, generations
if(TARGET bwgateway)
  add_executable(test_certcache unit/test_certcache.c)
  target_link_libraries(test_certcache PRIVATE bwgateway)
  target_include_directories(test_certcache PRIVATE unit)
  add_test(NAME unit.certcache COMMAND test_certcache)
endif()

# the gateway's limits against misbehaving clients, one finding each
if(TARGET bwgateway)
  add_test(NAME integ.gateway_limits
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_limits.sh $<TARGET_FILE:bulwark-gateway>)
  set_tests_properties(integ.gateway_limits PROPERTIES TIMEOUT 180)
endif()
# The per-device share of the token replay table, refused operator requests
# in the audit log, DELETE of a device
if(TARGET bwgateway)
  add_test(NAME integ.gateway_quota
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_quota.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
endif()

# the route table, the response layer and the operator-token file, without a server
if(TARGET bwgateway)
  add_executable(test_gw_routes unit/test_gw_routes.c)
  target_link_libraries(test_gw_routes PRIVATE bwgateway)
  target_include_directories(test_gw_routes PRIVATE unit)
  add_test(NAME unit.gw_routes COMMAND test_gw_routes)
endif()
# TLS session resumption across two instances of one registry (shared ticket keys)
if(TARGET bwgateway)
  add_test(NAME integ.gateway_tickets
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_tickets.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
endif()
# sqlite_exclusive: the registry held by the gateway's process alone
if(TARGET bwgateway)
  add_test(NAME integ.gateway_sqlite_excl
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_sqlite_excl.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
endif()
# the keep-alive poll path: one read per TLS record, the connection's token
# byte for byte, a repeated check-in body, the shared answer, the access log
if(TARGET bwgateway)
  add_test(NAME integ.gateway_poll_path
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_poll_path.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
endif()
# a kept connection's device row: every registry change seen on its next poll
if(TARGET bwgateway)
  add_test(NAME integ.gateway_device_memo
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_device_memo.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
  add_test(NAME integ.gateway_device_memo_excl
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_device_memo.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
  set_tests_properties(integ.gateway_device_memo_excl PROPERTIES ENVIRONMENT EXCL=1)
endif()
# revocation on two instances of one registry, and the published CRL
if(TARGET bwgateway)
  add_test(NAME integ.gateway_revoke
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_revoke.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
  add_test(NAME integ.gateway_revoke_pg
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/contract/registry_pg.sh
                   ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_revoke.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
  set_tests_properties(integ.gateway_revoke_pg PROPERTIES LABELS pg)
endif()
# EST enrollment and renewal by hand with curl and openssl (RFC 7030)
if(TARGET bwgateway)
  add_test(NAME integ.gateway_est
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_est.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
  add_test(NAME integ.gateway_est_pg
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/contract/registry_pg.sh
                   ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_est.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
  set_tests_properties(integ.gateway_est_pg PROPERTIES LABELS pg)
endif()
