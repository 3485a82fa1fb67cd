// bpfrt-conformance-plugin: the plugin protocol of the public bpf_conformance
// runner, so that anyone can check bpfrt with that runner.
//
//   argv: [MEMORY_HEX] [--engine auto|interp|jit] [other options, ignored]
//   stdin: one line, the program's bytes as hex separated by spaces
//   stdout: r0 in hex and exit 0, or the error and a non-zero exit
//
// The suite's programs are not verified by the runner. --engine interp runs
// them in the interpreter with every access checked. --engine jit (and auto,
// the default, where the JIT is supported) first verifies the program as
// bpfrt's raw-memory type (r1 = the memory, r2 = its length, no helper
// calls): accepted programs are JIT-compiled; the others (those calling the
// conformance helpers, whose numbers are kernel helper numbers too) run in
// the checked interpreter, with a note on stderr under --engine jit.
#include "helpers/conformance.hpp"
#include "verifier/verifier.hpp"

#include <bpfrt/jit.hpp>
#include <bpfrt/vm.hpp>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
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
    std::string engine = "auto";
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

// Why the verifier refuses `prog` as a raw-memory program of mem_size
// bytes; nullopt when it accepts it.
std::optional<std::string> rejection(std::span<const bpf_insn> prog, size_t mem_size) {
    if (mem_size > UINT32_MAX) return "the memory is larger than 4 GiB";
    bpfrt::verifier::VerifyInput in;
    in.insns = prog;
    in.prog_type = bpfrt::verifier::kProgTypeRawMemory;
    in.license = "GPL";
    in.ctx_size = static_cast<uint32_t>(mem_size);
    in.strict_alignment = false;  // plain bytes, as bpfrt exec
    const bpfrt::verifier::VerifyResult r = bpfrt::verifier::verify(in);
    if (r.accepted) return std::nullopt;
    return r.message;
}

// The JIT for programs the verifier accepts (engine jit, or auto where
// supported); the checked interpreter for the rest.
bpfrt::Result<std::unique_ptr<bpfrt::vm::Program>> prepare(const std::string& engine, std::span<const bpf_insn> prog,
                                                           size_t mem_size, const bpfrt::vm::HelperTable& helpers) {
    const bool want_jit = engine == "jit" || (engine == "auto" && bpfrt::jit::jit_supported());
    if (want_jit) {
        const auto why = rejection(prog, mem_size);
        if (!why) return bpfrt::jit::make_program(prog, &helpers, bpfrt::jit::Engine::Jit);
        if (engine == "jit")
            std::fprintf(stderr, "note: not verified (%s); running in the checked interpreter\n", why->c_str());
    }
    return bpfrt::vm::make_interpreter(prog, &helpers, bpfrt::vm::Mode::Checked);
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
    if (opt.engine != "interp" && opt.engine != "jit" && opt.engine != "auto") {
        std::printf("error: engine '%s' is not one of auto, interp, jit\n", opt.engine.c_str());
        return 1;
    }
    std::vector<bpf_insn> prog(bytes->size() / sizeof(bpf_insn));
    std::memcpy(prog.data(), bytes->data(), bytes->size());

    static const bpfrt::vm::HelperTable helpers = bpfrt::helpers::conformance_helpers();
    auto vm = prepare(opt.engine, prog, memory->size(), helpers);
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
