# SPDX-License-Identifier: Apache-2.0
# Compliance kit: bulwark audit / risk end to end on a test device (each
# check fails when broken and passes when fixed, profile errors, OSCAL
# schema validation, RFC 9116 rules for security.txt, HTML escaping).
add_test(NAME integ.audit COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/audit.sh $<TARGET_FILE:bulwark>
         ${CMAKE_SOURCE_DIR})
# The HTML reports in headless Chromium (skipped when it is not installed).
add_test(NAME integ.audit_render COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/audit_render.sh
         $<TARGET_FILE:bulwark>)
set_tests_properties(integ.audit_render PROPERTIES SKIP_RETURN_CODE 77)

add_executable(test_audit unit/test_audit.c)
target_link_libraries(test_audit PRIVATE bwaudit)
target_include_directories(test_audit PRIVATE unit)
add_test(NAME unit.audit COMMAND test_audit)

# Issue 14: the compliant reference device (scripts/reference-device.sh) gets
# a clean --strict audit, every false pass / false fail of the issue is a
# case, and the broken reference device is refused with a reason per break.
add_test(NAME integ.audit_strict COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/audit_strict.sh
         $<TARGET_FILE:bulwark> ${CMAKE_SOURCE_DIR})
# The regulatory documents (PSTI statement, support period, security.txt
# signed with a throwaway OpenPGP key, disclosure policy), the risk register
# as an assessment and the OSCAL set's integrity (tests/integ/audit_docs.sh).
add_test(NAME integ.audit_docs COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/audit_docs.sh
         $<TARGET_FILE:bulwark> ${CMAKE_SOURCE_DIR})

# EN 303 645 5.3-8 against the real gateway on loopback: `bulwark audit
# --gateway URL` fails a device behind the newest release, passes a current
# one, and is an error (never a pass) for a refused token, a wrong CA, an
# answer that is not the release list and a gateway that is down.
if(TARGET bulwark-gateway) # not the library name: that would skip this whole fragment
  add_test(NAME integ.audit_gateway COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/audit_gateway.sh
           $<TARGET_FILE:bulwark> $<TARGET_FILE:bulwark-gateway>)
endif()

# Issue 20, the Cyber Resilience Act: SBOMs from a tree of unpacked .debs
# (and its ext4 image) valid against CycloneDX 1.6 and BSI TR-03183-2,
# signed into two releases, stored and served by the gateway; a tampered
# SBOM refused; an OSV record affecting release 1, fixed in release 2:
# VEX status, OpenVEX and CSAF documents (schema and mandatory tests), the
# fleet's exposure, the advisory on the gateway's CSAF provider, the Art. 14
# drafts (tests/integ/cra.sh, tests/integ/cra_check.py).
if(TARGET bulwark-gateway)
  add_test(NAME integ.cra COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integ/cra.sh $<TARGET_FILE:bulwark>
           $<TARGET_FILE:bulwark-gateway> ${CMAKE_SOURCE_DIR} $<TARGET_FILE:devkey_pem>
           $<TARGET_FILE:bulwark-gatewayctl>)
endif()
