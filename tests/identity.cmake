# SPDX-License-Identifier: Apache-2.0
# Key backends: one contract suite (contract/test_keystore.c) on every backend.
add_executable(test_keystore contract/test_keystore.c)
target_link_libraries(test_keystore PRIVATE bwhost)
add_test(NAME contract.keystore_file
         COMMAND sh -c "d=$(mktemp -d) && ./test_keystore \"file:$d/device.key\" 1; r=$?; rm -rf \"$d\"; exit $r")

add_executable(test_cred unit/test_cred.c)
target_link_libraries(test_cred PRIVATE bwhost m)
add_test(NAME unit.cred
         COMMAND sh -c "d=$(mktemp -d) && ./test_cred \"$d\"; r=$?; rm -rf \"$d\"; exit $r")

add_executable(test_identity unit/test_identity.c)
target_link_libraries(test_identity PRIVATE bwhost)
target_compile_definitions(test_identity PRIVATE _GNU_SOURCE)
add_test(NAME unit.identity
         COMMAND sh -c "d=$(mktemp -d) && ./test_identity \"$d\"; r=$?; rm -rf \"$d\"; exit $r")

add_test(NAME integ.provision COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/provision.sh $<TARGET_FILE:bulwark>)
# host/tlskey.c: a device key signing as an OpenSSL key (the agent's mTLS)
add_executable(test_tlskey unit/test_tlskey.c)
target_link_libraries(test_tlskey PRIVATE bwhost)
target_include_directories(test_tlskey PRIVATE unit)
add_test(NAME unit.tlskey
         COMMAND sh -c "d=$(mktemp -d) && ./test_tlskey \"file:$d/op.key?storage-key=$d/storage.key\"; r=$?; rm -rf \"$d\"; exit $r")
