# Packets per second over the bundled capture: sockex1 and the XDP parser in
# the interpreter and the JIT, against libpcap's classic BPF (see
# packets_bench.cpp and RESULTS.md, "Packets").
if(TARGET bpf_objects AND TARGET example_capture)
  add_executable(packets_bench ${CMAKE_CURRENT_LIST_DIR}/packets_bench.cpp ${CMAKE_CURRENT_LIST_DIR}/packets_libpcap.cpp)
  target_link_libraries(packets_bench PRIVATE bpfrt bpfrt_options benchmark::benchmark)
  target_include_directories(packets_bench PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(packets_bench PRIVATE BPFRT_EXAMPLE_CAPTURE="${BPFRT_EXAMPLE_CAPTURE}"
                             BPFRT_BPF_OBJECT_DIR="${BPFRT_BPF_OBJECT_DIR}")
  add_dependencies(packets_bench bpf_objects example_capture)
endif()
