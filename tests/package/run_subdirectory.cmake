# Configures, builds and runs tests/package/subdirectory, which adds ackmq's source tree with add_subdirectory.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/subdirectory -B ${WORK_DIR}
                  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DACKMQ_SOURCE_DIR=${SOURCE_DIR}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the subdirectory project failed: add_subdirectory(ackmq) did not work")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR} RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the subdirectory project failed")
endif()
execute_process(COMMAND ${WORK_DIR}/subdirectory_consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(rc OR NOT out MATCHES "SEND_OK")
  message(FATAL_ERROR "the subdirectory program failed (exit ${rc}): ${out}")
endif()
message(STATUS "subdirectory consumer said: ${out}")
