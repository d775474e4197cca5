# SPDX-License-Identifier: Apache-2.0
# The TUF client (host/tuf*.c) and `bulwark tuf`: a repository simulator
# on 127.0.0.1 (tests/tuf/simrepo.py, Debian's python3-securesystemslib)
# re-creating the conformance suite's test classes, and known-answer tests
# of the canonical form and of metadata made by other implementations.
add_executable(test_tuf_kat tuf/test_tuf_kat.c)
target_link_libraries(test_tuf_kat PRIVATE bwhost)
add_test(NAME unit.tuf_kat COMMAND test_tuf_kat ${CMAKE_CURRENT_SOURCE_DIR}/tuf/vectors)
# Heavy (about 30 s, one core busy): once, in the gcc build
if(CMAKE_C_COMPILER_ID STREQUAL "GNU" AND NOT BW_SANITIZE)
  add_test(NAME integ.tuf COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tuf/test_tuf.py
           $<TARGET_FILE:bulwark>)
  set_tests_properties(integ.tuf PROPERTIES LABELS "tuf;heavy" TIMEOUT 180)
endif()
add_test(NAME integ.tuf_canon COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tuf/canon_check.py
         $<TARGET_FILE:test_tuf_kat> ${CMAKE_SOURCE_DIR}/fuzz/corpus/tuf_canon)
# bulwark repo: a 3-of-5 repository signed by separate holders, served on
# 127.0.0.1 and read by bulwark tuf; rotation, revocation, refusals, and
# securesystemslib verifying what bulwark wrote (about 6 s)
add_test(NAME integ.tuf_repo COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tuf/test_repo.py
         $<TARGET_FILE:bulwark>)
set_tests_properties(integ.tuf_repo PROPERTIES LABELS "tuf" TIMEOUT 120)
# The fleet on TUF: the real gateway hosting the repository and the real
# agent; one step per TUF attack class by an attacker holding the gateway
# (registry, TLS key, online keys), a freeze, root rotation (about 17 s in
# the gcc build, 25 s under ASan: heavy)
if(TARGET bwgateway AND TARGET bulwark-agent)
  add_test(NAME integ.tuf_fleet COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/integ/tuf_fleet.py
           $<TARGET_FILE:bulwark> $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
  set_tests_properties(integ.tuf_fleet PROPERTIES LABELS "tuf;heavy" TIMEOUT 120)
endif()
