# bpfrt's verifier vs the kernel's PROG_LOAD on the largest accepted cases of
# tests/verifier (see verifier_bench.cpp and RESULTS.md, "Verifier"). The case
# parser and the kernel oracle are compiled in directly so that the benchmark
# builds without the tests.
if(TARGET bpfrt_verifier AND TARGET bpfrt_helpers)
  add_executable(verifier_bench ${CMAKE_CURRENT_LIST_DIR}/verifier_bench.cpp
    ${CMAKE_SOURCE_DIR}/tests/verifier/case_file.cpp ${CMAKE_SOURCE_DIR}/tests/kernel/kernel_oracle.cpp
    ${CMAKE_SOURCE_DIR}/src/helpers/prototypes.cpp)
  target_include_directories(verifier_bench PRIVATE ${CMAKE_SOURCE_DIR}/tests/verifier
    ${CMAKE_SOURCE_DIR}/tests/kernel ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(verifier_bench PRIVATE
    BPFRT_VTEST_CASE_DIR="${CMAKE_SOURCE_DIR}/tests/verifier/cases")
  target_link_libraries(verifier_bench PRIVATE bpfrt_options bpfrt_verifier bpfrt_isa fmt::fmt)
endif()

# bpfrt's verifier on every corpus program (tests/corpus): verdict, time
# against the kernel's recorded BPF_PROG_LOAD time, peak heap (see
# corpus_verify_bench.cpp and RESULTS.md, "Verifier").
if(TARGET bpfrt_corpus)
  add_executable(corpus_verify_bench ${CMAKE_CURRENT_LIST_DIR}/corpus_verify_bench.cpp)
  target_link_libraries(corpus_verify_bench PRIVATE bpfrt bpfrt_corpus bpfrt_options fmt::fmt)
endif()
