# Map lookup/update throughput vs std::unordered_map under a mutex (see
# maps_bench.cpp and RESULTS.md, "Maps").
add_executable(bpfrt_bench_maps ${CMAKE_CURRENT_LIST_DIR}/maps_bench.cpp)
target_link_libraries(bpfrt_bench_maps PRIVATE bpfrt_options bpfrt_maps benchmark::benchmark Threads::Threads)
