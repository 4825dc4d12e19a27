# heapscope_add_leak_test(NAME name COMMAND program [args...]
#                         [GATE_OPTIONS --suppressions file ...])
#
# Adds a ctest test that runs the command under `heapscope run --gate`: it
# fails when the program fails, or when it leaks (definitely or indirectly
# lost bytes by default; GATE_OPTIONS are passed to the gate). Traces go to
# ${CMAKE_CURRENT_BINARY_DIR}/heapscope/<name>/. Set HEAPSCOPE_EXECUTABLE to
# the heapscope command if it is not on the PATH.
#
#   include(HeapscopeLeakTest)   # or find_package(heapscope) and include it
#   heapscope_add_leak_test(NAME parser_leaks COMMAND parser_tests --quick)
if(NOT HEAPSCOPE_EXECUTABLE)
  find_program(HEAPSCOPE_EXECUTABLE heapscope REQUIRED)
endif()

function(heapscope_add_leak_test)
  cmake_parse_arguments(HS "" "NAME" "COMMAND;GATE_OPTIONS" ${ARGN})
  if(NOT HS_NAME OR NOT HS_COMMAND)
    message(FATAL_ERROR "heapscope_add_leak_test: NAME and COMMAND are required")
  endif()
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/heapscope/${HS_NAME})
  file(MAKE_DIRECTORY ${dir})
  list(GET HS_COMMAND 0 program)
  list(REMOVE_AT HS_COMMAND 0)
  if(TARGET ${program})
    set(program $<TARGET_FILE:${program}>)
  endif()
  add_test(NAME ${HS_NAME}
           COMMAND ${HEAPSCOPE_EXECUTABLE} run --gate ${HS_GATE_OPTIONS}
                   --junit ${dir}/junit.xml -o ${dir}/%e.%p.hst -- ${program} ${HS_COMMAND})
endfunction()
