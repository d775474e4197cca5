# SPDX-License-Identifier: Apache-2.0
# The host library's HTTP client (host/http.c) over answers in memory and,
# for redirects, two scripted servers on loopback (threads of the test); the
# rest of its network behaviour is tested through its users
# (integ.hostile_client, integ.agent_http, integ.device).
add_executable(test_http unit/test_http.c)
target_link_libraries(test_http PRIVATE bwhost)
target_include_directories(test_http PRIVATE unit)
add_test(NAME unit.http COMMAND test_http)
