// bpfrt-conformance-plugin: the plugin protocol of the public bpf_conformance
// runner, so that anyone can check bpfrt with that runner.
//
//   argv: [MEMORY_HEX] [--engine interp|jit] [other options, ignored]
//   stdin: one line, the program's bytes as hex separated by spaces
//   stdout: r0 in hex and exit 0, or the error and a non-zero exit
#include "helpers/conformance.hpp"

#include <bpfrt/vm.hpp>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Parses bytes written as hex pairs separated by whitespace ("b7 00 01").
std::optional<std::vector<uint8_t>> parse_hex_bytes(std::string_view text) {
    std::vector<uint8_t> out;
    std::istringstream in{std::string(text)};
    std::string token;
    while (in >> token) {
        if (token.size() != 2) return std::nullopt;
        char* end = nullptr;
        const unsigned long v = std::strtoul(token.c_str(), &end, 16);
        if (*end != '\0') return std::nullopt;
        out.push_back(static_cast<uint8_t>(v));
    }
    return out;
}

struct Options {
    std::string memory_hex;
    std::string engine = "interp";
};

Options parse_args(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--engine" && i + 1 < argc) {
            opt.engine = argv[++i];
        } else if (arg.starts_with("--engine=")) {
            opt.engine = std::string(arg.substr(9));
        } else if (arg.starts_with("--")) {
            continue;  // unknown options are ignored, as the protocol asks
        } else if (opt.memory_hex.empty()) {
            opt.memory_hex = std::string(arg);
        }
    }
    return opt;
}

int run(const Options& opt, const std::string& program_hex) {
    auto bytes = parse_hex_bytes(program_hex);
    if (!bytes || bytes->empty() || bytes->size() % sizeof(bpf_insn) != 0) {
        std::printf("error: the program must be a non-empty multiple of 8 bytes in hex\n");
        return 1;
    }
    auto memory = parse_hex_bytes(opt.memory_hex);
    if (!memory) {
        std::printf("error: the memory argument must be hex bytes separated by spaces\n");
        return 1;
    }
    if (opt.engine != "interp") {
        std::printf("error: engine '%s' is not available (use interp)\n", opt.engine.c_str());
        return 1;
    }
    std::vector<bpf_insn> prog(bytes->size() / sizeof(bpf_insn));
    std::memcpy(prog.data(), bytes->data(), bytes->size());

    static const bpfrt::vm::HelperTable helpers = bpfrt::helpers::conformance_helpers();
    auto vm = bpfrt::vm::make_interpreter(prog, &helpers, bpfrt::vm::Mode::Checked);
    if (!vm) {
        std::printf("error: %s\n", vm.error().message.c_str());
        return 1;
    }
    bpfrt::vm::ExecContext ctx;
    ctx.allow(memory->data(), memory->size(), true);
    ctx.packet = memory->data();
    ctx.packet_len = memory->size();
    auto r0 = (*vm)->run(reinterpret_cast<uint64_t>(memory->data()), memory->size(), ctx);
    if (!r0) {
        std::printf("error: %s\n", r0.error().message.c_str());
        return 1;
    }
    std::printf("%llx\n", static_cast<unsigned long long>(*r0));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Options opt = parse_args(argc, argv);
    std::string line;
    std::getline(std::cin, line);
    return run(opt, line);
}
