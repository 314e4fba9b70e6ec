# smoke.cmake - runs PROG ARGS once under glibc and once with LD_PRELOAD=PRELOAD, and fails unless
# both exit 0 and print the same checksum line. cmake -DPROG=... -DPRELOAD=... -DARGS="a;b" -P smoke.cmake
# (A script rather than two tests: the comparison needs both outputs.)
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LD_PRELOAD ${PROG} ${ARGS}
                RESULT_VARIABLE rc_ref OUTPUT_VARIABLE out_ref ERROR_VARIABLE err_ref)
if(NOT rc_ref EQUAL 0)
  message(FATAL_ERROR "${PROG} ${ARGS} failed without the preload (${rc_ref}):\n${err_ref}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env PTMEM_TRACK=0 LD_PRELOAD=${PRELOAD} ${PROG} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} ${ARGS} failed under ${PRELOAD} (${rc}):\n${err}")
endif()
if(NOT out STREQUAL out_ref)
  message(FATAL_ERROR "checksum differs under the preload:\n glibc: ${out_ref} ptmem: ${out}")
endif()
message(STATUS "${out}${err}")
