# SPDX-License-Identifier: Apache-2.0
# Issue 18, bulwark on a microcontroller.
#
# 1. The crypto backend contract on mbed TLS: the same test sources as
#    unit.crypto / unit.cose / unit.suit (Wycheproof ECDSA P-256, AES-GCM,
#    HKDF, FIPS 180-2 SHA-256, COSE and SUIT examples) linked against the
#    core built with src/crypto/crypto_mbedtls.c (CMake target
#    bulwark_mbedtls, top-level CMakeLists.txt).
if(TARGET bulwark_mbedtls)
  foreach(t crypto cose suit)
    add_executable(test_${t}_mbedtls unit/test_${t}.c)
    target_link_libraries(test_${t}_mbedtls PRIVATE bulwark_mbedtls PkgConfig::JANSSON)
    target_include_directories(test_${t}_mbedtls PRIVATE unit)
  endforeach()
  add_test(NAME unit.crypto.mbedtls COMMAND test_crypto_mbedtls ${V}/wycheproof)
  add_test(NAME unit.cose.mbedtls COMMAND test_cose_mbedtls ${V}/cose/cose-examples.tsv)
  add_test(NAME unit.suit.mbedtls COMMAND test_suit_mbedtls ${V}/suit)
else()
  message(STATUS "mcu: no mbedtls variant of the core; unit.*.mbedtls not registered")
endif()
