#include "runtime/contexts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>

namespace bpfrt::runtime {

namespace {

constexpr size_t kEthHeaderLen = 14;
constexpr uint16_t kEthP8021Q = 0x8100;
constexpr uint16_t kEthP8021AD = 0x88a8;

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
// A __be16 as the kernel keeps it in sk_buff (network order in memory).
uint16_t raw16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// Where a program's u32 pointer field lives as a u64 in our context.
struct PointerField {
    int32_t uapi_off;
    int16_t real_off;
};

constexpr PointerField kSkbPointers[] = {
    {offsetof(struct __sk_buff, data), offsetof(SkbContext, data)},
    {offsetof(struct __sk_buff, data_end), offsetof(SkbContext, data_end)},
    {offsetof(struct __sk_buff, data_meta), offsetof(SkbContext, data_meta)},
};
constexpr PointerField kXdpPointers[] = {
    {offsetof(struct xdp_md, data), offsetof(XdpContext, data)},
    {offsetof(struct xdp_md, data_end), offsetof(XdpContext, data_end)},
    {offsetof(struct xdp_md, data_meta), offsetof(XdpContext, data_meta)},
};

std::span<const PointerField> pointer_fields(uint32_t prog_type) {
    switch (prog_type) {
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_CGROUP_SKB: return kSkbPointers;
    case BPF_PROG_TYPE_XDP: return kXdpPointers;
    default: return {};
    }
}

}  // namespace

void XdpBuffer::reset(const uint8_t* packet, size_t len, uint32_t ifindex, uint32_t rx_queue) {
    len = std::min(len, kXdpMaxPacket);
    std::memset(bytes, 0, kXdpHeadroom);
    if (len != 0) std::memcpy(bytes + kXdpHeadroom, packet, len);
    ctx = XdpContext{};
    ctx.md.ingress_ifindex = ifindex;
    ctx.md.rx_queue_index = rx_queue;
    ctx.hard_start = bytes;
    ctx.data = reinterpret_cast<uintptr_t>(bytes + kXdpHeadroom);
    ctx.data_end = ctx.data + len;
    ctx.data_meta = ctx.data;  // no metadata yet
}

void XdpBuffer::reset_with_meta(const uint8_t* bytes_in, size_t len, size_t metalen, uint32_t ifindex,
                                uint32_t rx_queue) {
    metalen = std::min({metalen, len, kXdpHeadroom - kXdpFrameReserve});
    reset(bytes_in + metalen, len - metalen, ifindex, rx_queue);
    if (metalen == 0) return;
    std::memcpy(bytes + kXdpHeadroom - metalen, bytes_in, metalen);
    ctx.data_meta = ctx.data - metalen;
}

void fill_skb(SkbContext& ctx, uint8_t* frame, size_t frame_len, SkbView view, uint32_t pkt_type, uint32_t ifindex) {
    ctx = SkbContext{};
    struct __sk_buff& skb = ctx.skb;
    size_t l2_len = kEthHeaderLen;
    if (frame_len >= kEthHeaderLen) {
        uint16_t type = load_be16(frame + 12);
        skb.protocol = raw16(frame + 12);
        if ((type == kEthP8021Q || type == kEthP8021AD) && frame_len >= kEthHeaderLen + 4) {
            // A tag in the frame: reported as the kernel reports an accelerated tag.
            skb.vlan_present = 1;
            skb.vlan_proto = raw16(frame + 12);
            skb.vlan_tci = load_be16(frame + 14);
            skb.protocol = raw16(frame + 16);
        }
    }
    size_t start = 0;
    if (view == SkbView::Network) start = std::min(l2_len, frame_len);
    ctx.packet = frame + start;
    ctx.packet_len = static_cast<uint32_t>(frame_len - start);
    skb.len = ctx.packet_len;
    skb.pkt_type = pkt_type;
    skb.ifindex = ifindex;
    skb.ingress_ifindex = ifindex;
    skb.wire_len = static_cast<uint32_t>(frame_len);
    skb.gso_segs = 1;
    ctx.data = reinterpret_cast<uintptr_t>(ctx.packet);
    ctx.data_end = ctx.data + ctx.packet_len;
    ctx.data_meta = ctx.data;
}

Result<void> convert_ctx_accesses(uint32_t prog_type, const std::vector<verifier::CtxAccess>& accesses,
                                  std::vector<bpf_insn>& insns) {
    const auto fields = pointer_fields(prog_type);
    for (const verifier::CtxAccess& access : accesses) {
        const auto field = std::find_if(fields.begin(), fields.end(),
                                        [&](const PointerField& f) { return f.uapi_off == access.off; });
        if (field == fields.end()) continue;  // a scalar field at its UAPI offset: nothing to convert
        if (access.insn >= insns.size()) return fail(EINVAL, fmt::format("context access at {} is outside the program", access.insn));
        bpf_insn& insn = insns[access.insn];
        if (access.write || access.size != 4 || insn.code != (BPF_LDX | BPF_MEM | BPF_W))
            return fail(EINVAL, fmt::format("insn {}: cannot convert this access to context offset {}", access.insn,
                                            access.off));
        insn.code = BPF_LDX | BPF_MEM | BPF_DW;
        insn.off = field->real_off;
    }
    return {};
}

uint32_t max_ctx_offset(const std::vector<verifier::CtxAccess>& accesses) {
    uint32_t end = 0;
    for (const verifier::CtxAccess& a : accesses)
        end = std::max(end, static_cast<uint32_t>(a.off) + a.size);
    return end;
}

}  // namespace bpfrt::runtime
