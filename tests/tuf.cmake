# SPDX-License-Identifier: Apache-2.0
# The TUF client (host/tuf*.c) and `bulwark tuf`: a repository simulator
# on 127.0.0.1 (tests/tuf/simrepo.py, Debian's python3-securesystemslib)
# re-creating the conformance suite's test classes.
# Heavy (about 30 s, one core busy): once, in the gcc build
if(CMAKE_C_COMPILER_ID STREQUAL "GNU" AND NOT BW_SANITIZE)
  add_test(NAME integ.tuf COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/tuf/test_tuf.py
           $<TARGET_FILE:bulwark>)
  set_tests_properties(integ.tuf PROPERTIES LABELS "tuf;heavy" TIMEOUT 180)
endif()
