# SPDX-License-Identifier: Apache-2.0
# PKCS#11 key backend: the keystore contract plus backend checks and interop
# (pkcs11-tool, openssl) against softhsm2 in a private token directory.
add_executable(test_pkcs11 unit/test_pkcs11.c)
target_link_libraries(test_pkcs11 PRIVATE bwhost)
target_include_directories(test_pkcs11 PRIVATE unit ${P11KIT_INCLUDE_DIRS})
add_test(NAME contract.keystore_pkcs11
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/contract/softhsm.sh ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(contract.keystore_pkcs11 PROPERTIES LABELS pkcs11 TIMEOUT 60)
# the manufacturing CA's key in a token: provision issues through it
add_test(NAME integ.provision_pkcs11
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/provision_pkcs11.sh $<TARGET_FILE:bulwark>)
set_tests_properties(integ.provision_pkcs11 PROPERTIES LABELS pkcs11 TIMEOUT 60)
# the device storage key wrapped by a token-resident AES key
add_test(NAME integ.store_pkcs11
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/store_pkcs11.sh $<TARGET_FILE:bulwark>)
set_tests_properties(integ.store_pkcs11 PROPERTIES LABELS pkcs11 TIMEOUT 60)
# the gateway's online TUF keys in a token: it signs snapshot and timestamp through it
add_test(NAME integ.gateway_keys_pkcs11
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_keys_pkcs11.sh $<TARGET_FILE:bulwark>
                 $<TARGET_FILE:bulwark-gateway>)
set_tests_properties(integ.gateway_keys_pkcs11 PROPERTIES LABELS pkcs11 TIMEOUT 60)
