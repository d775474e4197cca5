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
  # the backend's own parsers (strict DER signatures, key import) fuzzed on
  # this backend too; fuzz/CMakeLists.txt builds the same target on OpenSSL
  set(F ${CMAKE_SOURCE_DIR}/fuzz)
  add_executable(replay_ecder_mbedtls ${F}/fuzz_ecder.c ${F}/replay.c)
  target_link_libraries(replay_ecder_mbedtls PRIVATE bulwark_mbedtls)
  add_test(NAME fuzz.replay_ecder.mbedtls COMMAND replay_ecder_mbedtls ${F}/corpus/ecder)
  if(BW_FUZZ)
    add_executable(fuzz_ecder_mbedtls ${F}/fuzz_ecder.c)
    target_compile_options(fuzz_ecder_mbedtls PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_ecder_mbedtls PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_ecder_mbedtls PRIVATE bulwark_mbedtls)
  endif()
else()
  message(STATUS "mcu: no mbedtls variant of the core; unit.*.mbedtls not registered")
endif()

# 2. The Cortex-M port in QEMU (port/mps2/, docs/mcu.md). The factory
#    programmer is a host program over the board's own NOR rules (nor.c);
#    the firmware is cross-built by scripts/mps2-build.sh in the setup
#    test, so a machine without the ARM toolchain, QEMU or the mbedtls
#    source package still configures and builds: the tests are then not
#    registered, and a message says why.
add_executable(mps2-factory ${CMAKE_SOURCE_DIR}/port/mps2/factory.c
               ${CMAKE_SOURCE_DIR}/port/mps2/nor.c ${CMAKE_SOURCE_DIR}/port/mps2/counter.c)
target_include_directories(mps2-factory PRIVATE ${CMAKE_SOURCE_DIR}/port/mps2)
target_link_libraries(mps2-factory PRIVATE bwhost)
# the board's NOR rules and flash counter on the host, a power cut at each
# of their operations (no QEMU needed)
add_executable(test_mps2_nor mcu/test_nor.c ${CMAKE_SOURCE_DIR}/port/mps2/nor.c
               ${CMAKE_SOURCE_DIR}/port/mps2/counter.c)
target_include_directories(test_mps2_nor PRIVATE ${CMAKE_SOURCE_DIR}/port/mps2 unit)
target_link_libraries(test_mps2_nor PRIVATE bulwark_static)
add_test(NAME unit.mps2_nor COMMAND test_mps2_nor)
find_program(BW_ARM_GCC arm-none-eabi-gcc)
find_program(BW_QEMU_ARM qemu-system-arm)
set(BW_MCU_MISSING "")
if(NOT BW_ARM_GCC)
  string(APPEND BW_MCU_MISSING " arm-none-eabi-gcc")
endif()
if(NOT BW_QEMU_ARM)
  string(APPEND BW_MCU_MISSING " qemu-system-arm")
endif()
if(NOT EXISTS /usr/share/doc/libnewlib-arm-none-eabi)
  string(APPEND BW_MCU_MISSING " libnewlib-arm-none-eabi")
endif()
if(BW_MCU_MISSING)
  message(STATUS "mcu: QEMU tests skipped, missing:${BW_MCU_MISSING} (scripts/setup.sh test)")
else()
  set(M ${CMAKE_CURRENT_SOURCE_DIR}/mcu/mps2.sh)
  set(MD ${CMAKE_BINARY_DIR}/mps2)
  add_test(NAME mcu.build COMMAND ${M} build ${MD} $<TARGET_FILE:bulwark> $<TARGET_FILE:mps2-factory>)
  set_tests_properties(mcu.build PROPERTIES FIXTURES_SETUP mcu)
  foreach(s install_confirm uart bankflip fallback tamper rollback smallchunk bootsig ab powercut
          footprint)
    add_test(NAME mcu.${s} COMMAND ${M} ${s} ${MD} $<TARGET_FILE:bulwark> $<TARGET_FILE:mps2-factory>)
    set_tests_properties(mcu.${s} PROPERTIES FIXTURES_REQUIRED mcu SKIP_RETURN_CODE 77
                         LABELS emulator)
  endforeach()
  set_tests_properties(mcu.build PROPERTIES SKIP_RETURN_CODE 77 LABELS emulator)
  # deliverable 5: the board updated through the fleet gateway by an agent
  # acting for it over its UART (agent/secondary.c, docs/mcu.md)
  if(TARGET bulwark-gateway AND TARGET bulwark-agent)
    add_test(NAME mcu.secondary COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/mcu/secondary.sh ${MD}
             $<TARGET_FILE:bulwark> $<TARGET_FILE:mps2-factory> $<TARGET_FILE:bulwark-gateway>
             $<TARGET_FILE:bulwark-agent>)
    set_tests_properties(mcu.secondary PROPERTIES FIXTURES_REQUIRED mcu SKIP_RETURN_CODE 77
                         LABELS emulator TIMEOUT 120)
  endif()
endif()
