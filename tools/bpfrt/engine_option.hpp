// --engine auto|interp|jit, shared by the commands that run programs.
#pragma once

#include <bpfrt/jit.hpp>

#include <CLI/CLI.hpp>

#include <string>

namespace bpfrt::cli {

inline constexpr const char* kEngineHelp =
    "Execution engine of verified programs: auto (the JIT where supported), interp or jit";

inline CLI::Option* add_engine_option(CLI::App& cmd, std::string& engine) {
    return cmd.add_option("--engine", engine, kEngineHelp)
        ->check(CLI::IsMember({"auto", "interp", "jit"}))
        ->default_str("auto");
}

// The engine named by a validated --engine value.
inline jit::Engine parse_engine(const std::string& name) {
    if (name == "interp") return jit::Engine::Interpreter;
    if (name == "jit") return jit::Engine::Jit;
    return jit::Engine::Auto;
}

// What runs a verified program under `engine` on this host: "jit" or "interp".
inline const char* engine_name(jit::Engine engine) {
    const bool jit = engine == jit::Engine::Jit || (engine == jit::Engine::Auto && jit::jit_supported());
    return jit ? "jit" : "interp";
}

}  // namespace bpfrt::cli
