# Interpreter vs native C++ (see interp_bench.cpp and RESULTS.md, "Interpreter").
add_executable(interp_bench ${CMAKE_CURRENT_LIST_DIR}/interp_bench.cpp)
target_link_libraries(interp_bench PRIVATE bpfrt_options bpfrt_isa bpfrt_vm benchmark::benchmark)
# The native baselines in this file are compiled -O2 whatever the build type.
target_compile_options(interp_bench PRIVATE -O2)
