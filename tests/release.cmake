# SPDX-License-Identifier: Apache-2.0
# Gateway releases (gateway/release.c): ingest of packages made by the real
# `bulwark sign`, refusals, the blob store, Range and ETag parsing.
if(TARGET bwgateway)
  add_executable(test_release unit/test_release.c)
  target_link_libraries(test_release PRIVATE bwgateway)
  target_include_directories(test_release PRIVATE unit)
  add_test(NAME unit.release COMMAND test_release $<TARGET_FILE:bulwark>)
endif()
