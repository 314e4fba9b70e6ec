# report_smoke.cmake - runs scripts/bench-report.sh once at its smallest (--quick --only sqlite3) and
# fails unless it records both traces and prints a median and a ratio for every report; the figures
# themselves are not judged (timing is never pass/fail). Skipped (77) without heaptrack.
#   cmake -DSCRIPT=.../bench-report.sh -DBUILD=<build dir> -P report_smoke.cmake
find_program(HEAPTRACK heaptrack)
find_program(HEAPTRACK_PRINT heaptrack_print)
find_program(ZSTD zstd)
find_program(SQLITE3 sqlite3)
if(NOT HEAPTRACK OR NOT HEAPTRACK_PRINT OR NOT ZSTD OR NOT SQLITE3)
  message(STATUS "heaptrack, heaptrack_print, zstd or sqlite3 is not installed: skipped")
  cmake_language(EXIT 77)
endif()
execute_process(COMMAND bash ${SCRIPT} ${BUILD} --quick --only sqlite3
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench-report.sh failed (${rc}):\n${out}\n${err}")
endif()
# One row per table (wall, CPU, RSS): the program, four medians, three ratios - no FAIL cell.
string(REGEX MATCHALL "\nsqlite3 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+" rows "${out}")
list(LENGTH rows n)
if(NOT n EQUAL 3 OR out MATCHES "FAIL" OR NOT out MATCHES "\nsqlite3 +[0-9.]+ [kM]?B +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ [kM]?B")
  message(FATAL_ERROR "bench-report.sh printed no complete tables:\n${out}\n${err}")
endif()
message(STATUS "${out}")
