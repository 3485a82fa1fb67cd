// Shared helpers of the attach tests: loading hand-written programs and
// running them on packets or events.
#pragma once

#include "attach/packet_runner.hpp"

#include <bpfrt/insn.h>
#include <bpfrt/runtime.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace bpfrt::test {

struct Loaded {
    int fd = -1;
    std::string log;
    int error = 0;
};

inline Loaded load(Runtime& rt, uint32_t type, const std::vector<bpf_insn>& insns, ProgramHandle* keep = nullptr) {
    auto r = rt.prog_load({.prog_type = type, .insns = insns, .license = "GPL", .log_level = 1});
    Loaded out;
    out.log = r.log;
    if (!r.program) {
        out.error = r.program.error().code;
        out.log += r.program.error().message;
        return out;
    }
    out.fd = keep ? (*keep = std::move(*r.program), keep->fd()) : r.program->release();
    return out;
}

// An Ethernet + IPv4 frame of `len` bytes with IP protocol `proto`.
inline std::vector<uint8_t> ip_frame(uint8_t proto, size_t len = 64) {
    std::vector<uint8_t> f(len, 0);
    for (int i = 0; i < 6; ++i) f[static_cast<size_t>(i)] = static_cast<uint8_t>(0x10 + i);
    f[12] = 0x08;
    f[14] = 0x45;
    f[14 + 9] = proto;
    return f;
}

inline attach::PacketVerdict run_packet(Runtime& rt, int fd, const std::vector<uint8_t>& frame,
                                        attach::PacketRunOptions options = {}) {
    auto runner = attach::PacketRunner::create(rt, fd, options);
    EXPECT_TRUE(runner) << (runner ? "" : runner.error().message);
    if (!runner) return {};
    static thread_local std::vector<uint8_t> out;  // verdict spans point into the runner: copy
    auto v = (*runner)->run(frame);
    EXPECT_TRUE(v) << (v ? "" : v.error().message);
    if (!v) return {};
    out.assign(v->out.begin(), v->out.end());
    attach::PacketVerdict copy = *v;
    copy.out = out;
    return copy;
}

}  // namespace bpfrt::test
