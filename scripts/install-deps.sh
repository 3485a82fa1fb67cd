#!/usr/bin/env bash
# Installs the Debian 12 packages bpfrt needs to build and test, if missing.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config       # build
  libfmt-dev nlohmann-json3-dev libcli11-dev  # formatting, JSON, command line
  libgtest-dev libgmock-dev libbenchmark-dev  # tests and benchmarks
  clang llvm                              # clang -target bpf for examples, llvm-objdump
  libelf-dev libbpf-dev                   # ELF loader, BTF
  libpcap-dev libcapstone-dev             # packet captures, JIT disassembly
  libxbyak-dev                            # JIT code generation (header-only x86-64 assembler)
  libclang-rt-14-dev                      # sanitizer runtimes for clang (fuzzing)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
