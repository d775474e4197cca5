# SPDX-License-Identifier: Apache-2.0
# TPM 2.0 key backend: the shared keystore contract plus TPM-specific checks,
# run against swtpm directly and through tpm2-abrmd on a private session bus
# (contract/swtpm.sh starts and stops all three daemons itself).
add_executable(test_tpm unit/test_tpm.c)
target_link_libraries(test_tpm PRIVATE bwhost)
target_include_directories(test_tpm PRIVATE unit)
add_test(NAME contract.keystore_tpm
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/contract/swtpm.sh $<TARGET_FILE_DIR:test_keystore>)
set_tests_properties(contract.keystore_tpm PROPERTIES LABELS tpm TIMEOUT 120)
