# SPDX-License-Identifier: Apache-2.0
# Host-library helpers that the house rules lean on (scripts/checksrc):
# the strict number parsers, the JSON escaper, the UTF-8 rule.
add_executable(test_hostparse unit/test_hostparse.c)
target_link_libraries(test_hostparse PRIVATE bwhost)
target_include_directories(test_hostparse PRIVATE unit)
add_test(NAME unit.hostparse COMMAND test_hostparse)

# The host allocator's failure injection (host/alloc.c): exact across
# threads, and BW_FAIL_ALLOC read strictly (one process per value: it is
# read once). Each row: test name, value, first of 10 allocations to fail.
add_executable(test_alloc unit/test_alloc.c)
target_link_libraries(test_alloc PRIVATE bwhost Threads::Threads)
target_include_directories(test_alloc PRIVATE unit)
add_test(NAME unit.alloc_race COMMAND test_alloc race)
set(rows "3|3|3" "zero|0|0" "empty||0" "suffix|3x|1" "negative|-2|1" "blank| 3|1" "hex|0x3|1"
         "huge|99999999999999999999999|1")
foreach(r ${rows})
  string(REPLACE "|" ";" r "${r}")
  list(GET r 0 name)
  list(GET r 1 value)
  list(GET r 2 first)
  add_test(NAME unit.alloc_env_${name} COMMAND test_alloc env "${value}" ${first})
endforeach()

# sscanf's "%u" read "-1" as 4294967295 passes: an Argon2 cost that never
# ends. The strict parser refuses it before anything is created.
add_test(NAME integ.argon2_strict COMMAND bulwark provision --argon2 -1,19456,1
         --ca-dir ${CMAKE_CURRENT_BINARY_DIR}/argon2_strict/ca --count 1
         --out ${CMAKE_CURRENT_BINARY_DIR}/argon2_strict/out)
set_tests_properties(integ.argon2_strict PROPERTIES TIMEOUT 20
                     PASS_REGULAR_EXPRESSION "--argon2 wants T,M_KIB,LANES")
