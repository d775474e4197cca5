# SPDX-License-Identifier: Apache-2.0
# The hawkBit DDI wire format (gateway/ddi.c) with the bodies recorded from
# SWUpdate's suricatta.
if(TARGET bwgateway)
  add_executable(test_ddi unit/test_ddi.c)
  target_link_libraries(test_ddi PRIVATE bwgateway)
  target_include_directories(test_ddi PRIVATE unit)
  add_test(NAME unit.ddi COMMAND test_ddi)
endif()
# Debian's swupdate (suricatta) against the DDI subset over mTLS
if(TARGET bwgateway)
  add_test(NAME integ.ddi_swupdate
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/ddi_swupdate.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
endif()
# The Mender device API wire format (gateway/mender.c)
if(TARGET bwgateway)
  add_executable(test_mender unit/test_mender.c)
  target_link_libraries(test_mender PRIVATE bwgateway)
  target_include_directories(test_mender PRIVATE unit)
  add_test(NAME unit.mender COMMAND test_mender)
endif()
# The Mender device API over TLS with openssl-signed auth requests
if(TARGET bwgateway)
  add_test(NAME integ.mender_api
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/mender_api.sh $<TARGET_FILE:bulwark-gateway>
                   $<TARGET_FILE:bulwark-gatewayctl>)
endif()
# Debian's mender-client daemon against the gateway (in a private mount namespace)
if(TARGET bwgateway)
  add_test(NAME integ.mender_client
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/mender_client.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:devkey_pem>)
  set_tests_properties(integ.mender_client PROPERTIES TIMEOUT 300)
endif()
