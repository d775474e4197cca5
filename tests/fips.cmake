# SPDX-License-Identifier: Apache-2.0
# Issue 21, crypto_mode = approved, against a real OpenSSL FIPS provider:
# fips.provider builds it from Debian's openssl source package into
# ${CMAKE_BINARY_DIR}/fips (scripts/fips-provider.sh; the objects are cached,
# so after scripts/setup.sh this is fipsinstall only, under a second). The
# tests skip (77) with a message when it could not be built.
set(BW_FIPS_DIR ${CMAKE_BINARY_DIR}/fips)
set(BW_FIPS_ENV "BULWARK_CRYPTO_MODE=approved;BULWARK_FIPS_CONF=${BW_FIPS_DIR}/openssl-fips.cnf")
add_test(NAME fips.provider
         COMMAND sh -c "'${CMAKE_SOURCE_DIR}/scripts/fips-provider.sh' '${BW_FIPS_DIR}' || { echo 'skipped: the FIPS provider could not be built (no openssl source package?)'; exit 77; }")
set_tests_properties(fips.provider PROPERTIES FIXTURES_SETUP fips SKIP_RETURN_CODE 77 TIMEOUT 900)

# the crypto contract with the Wycheproof vectors, and the COSE and SUIT
# suites on top of it, in the provider (tests/unit/approved_main.c)
foreach(t crypto cose suit)
  add_executable(test_${t}_approved unit/approved_main.c)
  target_compile_definitions(test_${t}_approved PRIVATE BW_APPROVED_TEST="test_${t}.c")
  target_link_libraries(test_${t}_approved PRIVATE bwhost PkgConfig::JANSSON)
  target_include_directories(test_${t}_approved PRIVATE unit)
endforeach()
add_test(NAME fips.crypto COMMAND test_crypto_approved ${V}/wycheproof)
add_test(NAME fips.cose COMMAND test_cose_approved ${V}/cose/cose-examples.tsv)
add_test(NAME fips.suit COMMAND test_suit_approved ${V}/suit)

# each non-approved operation refused; Argon2id credentials migrate
add_executable(test_fips unit/test_fips.c)
target_link_libraries(test_fips PRIVATE bwhost PkgConfig::JANSSON PkgConfig::ARGON2)
target_include_directories(test_fips PRIVATE unit)
add_test(NAME fips.refused COMMAND sh -c "d=$(mktemp -d) && '$<TARGET_FILE:test_fips>' \"$d\"; r=$?; rm -rf \"$d\"; exit $r")

# the provider's self-test, and two induced failures
add_test(NAME fips.selftest COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/fips_selftest.sh
         $<TARGET_FILE:bulwark> ${BW_FIPS_DIR})

set_tests_properties(fips.crypto fips.cose fips.suit fips.refused fips.selftest PROPERTIES
                     FIXTURES_REQUIRED fips SKIP_RETURN_CODE 77 ENVIRONMENT "${BW_FIPS_ENV}"
                     LABELS fips TIMEOUT 120)

# End to end in approved mode, the existing scripts with
# BULWARK_CRYPTO_MODE=approved (gwlib.sh and agent_fleet.sh then write
# crypto_mode = approved into gw.conf and agent.conf): a provisioning run
# (PBKDF2 credentials), installs with power cuts, and a fleet campaign of
# the simulator against the gateway (with approved-only TLS suites).
# About 25 + 25 + 30 s: heavy, once, in the gcc build.
# BW_FIPS_RUN: skipped (77) with a message when the provider is missing
set(BW_FIPS_RUN sh -c "test -f \"$0\" && exec \"$@\" || (echo \"skipped: no FIPS provider at $0\" && exit 77)"
    ${BW_FIPS_DIR}/openssl-fips.cnf)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU" AND NOT BW_SANITIZE)
  add_test(NAME fips.provision COMMAND ${BW_FIPS_RUN} ${CMAKE_CURRENT_SOURCE_DIR}/integ/provision.sh
           $<TARGET_FILE:bulwark>)
  add_test(NAME fips.device COMMAND ${BW_FIPS_RUN} ${CMAKE_CURRENT_SOURCE_DIR}/integ/device.sh
           $<TARGET_FILE:bulwark> 10)
  set(BW_FIPS_E2E fips.provision fips.device)
  # (the executable, not the library: naming the library would leave this
  # whole file out on a build without the gateway, tests/CMakeLists.txt)
  if(TARGET bulwark-gateway AND TARGET bulwark-agent)
    add_test(NAME fips.agent_fleet
             COMMAND ${BW_FIPS_RUN} ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_fleet.sh $<TARGET_FILE:bulwark>
                     $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
    list(APPEND BW_FIPS_E2E fips.agent_fleet)
  endif()
  set_tests_properties(${BW_FIPS_E2E} PROPERTIES FIXTURES_REQUIRED fips SKIP_RETURN_CODE 77
                       ENVIRONMENT "${BW_FIPS_ENV}" LABELS "fips;heavy" TIMEOUT 300)
endif()

# bulwark audit's crypto.module check and the 27402 5.2.5 row
add_test(NAME fips.audit COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/fips_audit.sh
         $<TARGET_FILE:bulwark> ${BW_FIPS_DIR})
set_tests_properties(fips.audit PROPERTIES FIXTURES_REQUIRED fips SKIP_RETURN_CODE 77
                     LABELS fips TIMEOUT 120)
