# JIT vs interpreter vs native C++ vs the kernel's JIT (see jit_bench.cpp and
# RESULTS.md, "JIT"). The kernel oracle is compiled in directly so that the
# benchmark builds without the tests. The hashmap program runs through a
# Runtime (maps, verifier, map helpers), hence the runtime's components.
add_executable(jit_bench ${CMAKE_CURRENT_LIST_DIR}/jit_bench.cpp ${CMAKE_SOURCE_DIR}/tests/kernel/kernel_oracle.cpp)
target_include_directories(jit_bench PRIVATE ${CMAKE_SOURCE_DIR}/tests/kernel ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(jit_bench PRIVATE bpfrt_options bpfrt_runtime bpfrt_verifier bpfrt_helpers bpfrt_maps
                      bpfrt_jit bpfrt_vm bpfrt_isa benchmark::benchmark Threads::Threads)
# The native baselines in this file are compiled -O2 whatever the build type.
target_compile_options(jit_bench PRIVATE -O2)
