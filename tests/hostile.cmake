# SPDX-License-Identifier: Apache-2.0
# The hostile-load suite (tests/hostile/README.md): attackers from
# 127.0.0.2-9 (tests/tools/hostile.c) against a gateway under a 1024-fd
# limit while 200 simulated devices poll (gwload poll), on SQLite and on
# PostgreSQL. Label "hostile": heavy, so scripts/ci.sh runs it once, in the
# gcc build (the clang and ASan builds exclude it).
if(TARGET bwgateway AND TARGET gwload)
  add_executable(hostile tools/hostile.c)
  target_link_libraries(hostile PRIVATE OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
  set(HOSTILE_ARGS $<TARGET_FILE:bulwark> $<TARGET_FILE:bulwark-gateway>
                   $<TARGET_FILE:gwload> $<TARGET_FILE:hostile> ${CMAKE_CURRENT_BINARY_DIR})
  add_test(NAME hostile.sqlite
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/hostile/hostile.sh ${HOSTILE_ARGS})
  add_test(NAME hostile.pg
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/contract/registry_pg.sh
                   ${CMAKE_CURRENT_SOURCE_DIR}/hostile/hostile.sh ${HOSTILE_ARGS})
  # each about 50 s on the 2-core development machine (README); the guards are
  # for hangs
  set_tests_properties(hostile.sqlite hostile.pg PROPERTIES LABELS hostile TIMEOUT 400
                       RUN_SERIAL TRUE)
  set_tests_properties(hostile.pg PROPERTIES LABELS "hostile;pg" ENVIRONMENT
                       BW_PG_TEST_TIMEOUT=360)
endif()
