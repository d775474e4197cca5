# SPDX-License-Identifier: Apache-2.0
# bulwark-agent against a real bulwark-gateway on loopback (bwgateway):
# the fleet end to end, network faults, update policies.
if(TARGET bwgateway AND TARGET bulwark-agent)
  add_test(NAME integ.agent_e2e
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_e2e.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
  set_tests_properties(integ.agent_e2e PROPERTIES TIMEOUT 300)
  add_test(NAME integ.agent_fleet
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_fleet.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
  set_tests_properties(integ.agent_fleet PROPERTIES TIMEOUT 120)
  # the connection and the TLS session kept between polls, from the
  # gateway's access log (ports, full or resumed handshakes); about 20 s
  add_test(NAME integ.agent_keep
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_keep.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>
                   $<TARGET_FILE:devkey_pem>)
  set_tests_properties(integ.agent_keep PROPERTIES TIMEOUT 120)
  # the campaign guard rails with the fleet simulator: abort, fleet rollback,
  # a dynamic campaign picking up devices imported later
  add_test(NAME integ.fleet_guard
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/fleet_guard.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
  set_tests_properties(integ.fleet_guard PROPERTIES TIMEOUT 120)
  # the device's say with real agents: the update lock, download now and
  # install later, consent
  add_test(NAME integ.device_say
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/device_say.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
  set_tests_properties(integ.device_say PROPERTIES TIMEOUT 120)
  # delta updates through the fleet: an uploaded delta offered to the
  # devices running its source, the full package to the others and on any
  # problem with the delta (about 7 s)
  add_test(NAME integ.agent_delta
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_delta.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
  set_tests_properties(integ.agent_delta PROPERTIES TIMEOUT 120)
  # deltas the gateway builds itself: asked for, killed while building,
  # rebuilt for a campaign after the restart, a tampered source package
  # refused, agents through the delta or the full package (about 8 s idle)
  add_test(NAME integ.gateway_delta_build
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/gateway_delta_build.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
  set_tests_properties(integ.gateway_delta_build PROPERTIES TIMEOUT 120)
  # the agent and the simulator say the same for the same state (one cycle)
  add_test(NAME integ.agent_same
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_same.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
  set_tests_properties(integ.agent_same PROPERTIES TIMEOUT 120)
endif()
if(TARGET bwagent)
  add_executable(test_agent unit/test_agent.c)
  target_link_libraries(test_agent PRIVATE bwagent)
  target_include_directories(test_agent PRIVATE unit)
  add_test(NAME unit.agent COMMAND test_agent)
  # the cycle's pure parts: check-in version, the one read of a package
  add_executable(test_agent_cycle unit/test_agent_cycle.c)
  target_link_libraries(test_agent_cycle PRIVATE bwagent)
  target_include_directories(test_agent_cycle PRIVATE unit)
  add_test(NAME unit.agent_cycle COMMAND test_agent_cycle)
  # the agent's HTTP client against a scripted HTTPS server
  add_executable(agent_net_probe integ/agent_net_probe.c)
  target_link_libraries(agent_net_probe PRIVATE bwagent)
  add_test(NAME integ.agent_http
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_http.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:agent_net_probe>)
  set_tests_properties(integ.agent_http PROPERTIES TIMEOUT 120)
  # bulwark install URL and the agent's client against hostile servers
  add_test(NAME integ.hostile_client
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/hostile_client.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:agent_net_probe>)
  set_tests_properties(integ.hostile_client PROPERTIES TIMEOUT 240)
endif()
# the agent enrolls and renews its operational certificate over EST
if(TARGET bwgateway AND TARGET bulwark-agent)
  add_test(NAME integ.agent_est
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_est.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>)
  set_tests_properties(integ.agent_est PROPERTIES TIMEOUT 120)
  # the operational key in a token and in a TPM: generated there, signs the
  # CSR and the mTLS handshakes (host/tlskey.c)
  foreach(kind pkcs11 tpm)
    add_test(NAME integ.agent_est_${kind}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_est_keys.sh ${kind}
                     $<TARGET_FILE:bulwark> $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent>
                     $<TARGET_FILE:test_tlskey>)
    set_tests_properties(integ.agent_est_${kind} PROPERTIES LABELS ${kind} TIMEOUT 60)
  endforeach()
  # 500 simulated devices renew 120-second certificates while 20 % of the
  # requests are lost: about 2 minutes (heavy: once, in the gcc build). The
  # script's default is 10,000 devices with 900-second certificates (about
  # 25 minutes on 2 cores): tests/integ/agent_est_fleet.sh B GW AGENT
  add_test(NAME integ.agent_est_fleet
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/agent_est_fleet.sh $<TARGET_FILE:bulwark>
                   $<TARGET_FILE:bulwark-gateway> $<TARGET_FILE:bulwark-agent> 500 120 30)
  set_tests_properties(integ.agent_est_fleet PROPERTIES TIMEOUT 900 LABELS heavy)
endif()
