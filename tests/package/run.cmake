# Installs ackmq into a scratch prefix, then configures, builds and runs tests/package/consumer's C++ and C
# programs against it.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/ackmq-build
                  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DACKMQ_BUILD_TESTS=OFF -DACKMQ_BUILD_EXAMPLES=OFF
                  -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring ackmq failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --install ${WORK_DIR}/ackmq-build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "installing ackmq failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer -B ${WORK_DIR}/consumer-build
                  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer project failed: find_package(ackmq) did not work")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer project failed")
endif()
execute_process(COMMAND ${WORK_DIR}/consumer-build/package_consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(rc OR NOT out MATCHES "SEND_OK")
  message(FATAL_ERROR "the consumer program failed (exit ${rc}): ${out}")
endif()
message(STATUS "package consumer said: ${out}")
execute_process(COMMAND ${WORK_DIR}/consumer-build/package_c_consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(rc OR NOT out MATCHES "C SEND_OK")
  message(FATAL_ERROR "the C consumer program failed (exit ${rc}): ${out}")
endif()
message(STATUS "package C consumer said: ${out}")
