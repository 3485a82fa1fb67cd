#!/bin/sh
# Fuzz the ELF loader for SECONDS (default 60), seeded with the example
# objects. Builds in ${BUILD_DIR:-build-fuzz} (ASan+UBSan, BPFRT_FUZZ=ON).
# Exit status: 0 when no crash was found; crash inputs are left in
# $BUILD_DIR/fuzz-artifacts/.
set -eu
seconds=${1:-60}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build-fuzz}
jobs=${JOBS:-2}

cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBPFRT_SANITIZE=ON -DBPFRT_FUZZ=ON -DBPFRT_BUILD_TESTS=OFF -DBPFRT_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target loader_fuzz bpf_objects

corpus=$build/fuzz-corpus
mkdir -p "$corpus" "$build/fuzz-artifacts"
cp "$build"/examples/bpf/*.o "$corpus"/ 2>/dev/null || true

# Leaks are checked by libFuzzer itself; UBSan findings abort (-fno-sanitize-recover).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
"$build/fuzz/loader_fuzz" "$corpus" \
    -max_total_time="$seconds" -seed="${FUZZ_SEED:-0}" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
    -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1
