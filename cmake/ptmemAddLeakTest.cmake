# ptmemAddLeakTest.cmake - ptmem_add_leak_test(), installed with ptmemConfig.cmake (docs/ptmem.md).
#
#   ptmem_add_leak_test(NAME <name> COMMAND <program> [args...]
#                       [FAIL_ON <kind>...]          definite indirect reachable (default: definite indirect)
#                       [SUPPRESSIONS <file>]        LeakSanitizer leak: patterns
#                       [MAX_PEAK <size>]            e.g. 64M: fail when a process's heap peak exceeds it
#                       [MAX_LEAK_BYTES <bytes>]     leaked bytes allowed (default 0)
#                       [REPORT_ARGS <arg>...]       any other ptmem-report options (--baseline ...)
#                       [WORKING_DIRECTORY <dir>])
#
# Adds a CTest test that runs the command under `ptmem run` (it and every process it starts), so
# the test fails when the program leaks (or the gate fails otherwise) and the report, naming the
# leaking functions, is in the test's output. <program> may be an executable target. The test gets
# the label "ptmem"; its traces are kept in <current binary dir>/ptmem/<name>/ and replaced by the
# next run.
function(ptmem_add_leak_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;SUPPRESSIONS;MAX_PEAK;MAX_LEAK_BYTES;WORKING_DIRECTORY"
                        "COMMAND;FAIL_ON;REPORT_ARGS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ptmem_add_leak_test: unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_NAME OR NOT arg_COMMAND)
    message(FATAL_ERROR "ptmem_add_leak_test: NAME and COMMAND are required")
  endif()
  if(NOT PTMEM_EXECUTABLE)
    message(FATAL_ERROR "ptmem_add_leak_test: this ptmem installation has no `ptmem` wrapper "
                        "(a sanitizer build, or one without libptmem.so)")
  endif()

  list(POP_FRONT arg_COMMAND program)
  if(TARGET "${program}")
    get_target_property(type "${program}" TYPE)
    if(type STREQUAL "EXECUTABLE")
      set(program "$<TARGET_FILE:${program}>")
    endif()
  endif()

  set(options)
  if(arg_FAIL_ON)
    list(JOIN arg_FAIL_ON "," kinds)
    list(APPEND options "--fail-on=${kinds}")
  endif()
  if(arg_SUPPRESSIONS)
    get_filename_component(suppressions "${arg_SUPPRESSIONS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND options --suppressions "${suppressions}")
  endif()
  if(DEFINED arg_MAX_PEAK)
    list(APPEND options --max-peak "${arg_MAX_PEAK}")
  endif()
  if(DEFINED arg_MAX_LEAK_BYTES)
    list(APPEND options --max-leak-bytes "${arg_MAX_LEAK_BYTES}")
  endif()
  list(APPEND options ${arg_REPORT_ARGS})

  # One trace directory per test, replaced by each run: a report never mixes two runs.
  string(REGEX REPLACE "[^A-Za-z0-9_.+-]" "_" dir_name "${arg_NAME}")
  set(working_directory)
  if(arg_WORKING_DIRECTORY)
    set(working_directory WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}")
  endif()
  add_test(NAME "${arg_NAME}"
           COMMAND "${PTMEM_EXECUTABLE}" run --out "${CMAKE_CURRENT_BINARY_DIR}/ptmem/${dir_name}" --replace
                   ${options} -- "${program}" ${arg_COMMAND}
           ${working_directory})
  set_property(TEST "${arg_NAME}" APPEND PROPERTY LABELS ptmem)
endfunction()
