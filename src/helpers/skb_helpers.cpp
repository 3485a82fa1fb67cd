#include "helpers/skb_helpers.hpp"

#include "helpers/helper_args.hpp"
#include "helpers/prototypes.hpp"
#include "runtime/contexts.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstring>
#include <string>

namespace bpfrt::helpers {

namespace {

using args::error_code;
using runtime::SkbContext;

constexpr long kENOTSUPP = maps::kENOTSUPP;  // the kernel's internal ENOTSUPP (524)
constexpr uint32_t kEthHeaderLen = ETH_HLEN;
constexpr uint32_t kVlanHeaderLen = 4;
constexpr uint32_t kIpv4HeaderLen = 20;      // sizeof(struct iphdr)
constexpr uint32_t kIpv6HeaderLen = 40;      // sizeof(struct ipv6hdr)
constexpr uint32_t kMaxSkbLen = 16384 - 320;  // BPF_SKB_MAX_LEN: SKB_MAX_ALLOC on 4 KiB pages
constexpr uint16_t kCsumMangled0 = 0xffff;   // CSUM_MANGLED_0

// Linux 6.3+ flags (older UAPI headers lack them).
constexpr uint64_t kDecapL3Ipv4 = 1ull << 7;  // BPF_F_ADJ_ROOM_DECAP_L3_IPV4
constexpr uint64_t kDecapL3Ipv6 = 1ull << 8;  // BPF_F_ADJ_ROOM_DECAP_L3_IPV6
constexpr uint64_t kDecapL3Mask = kDecapL3Ipv4 | kDecapL3Ipv6;
constexpr uint64_t kEncapL3Mask = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L3_IPV6;
constexpr uint64_t kEncapL2Field = uint64_t{BPF_ADJ_ROOM_ENCAP_L2_MASK} << BPF_ADJ_ROOM_ENCAP_L2_SHIFT;
constexpr uint64_t kAdjRoomMask = BPF_F_ADJ_ROOM_FIXED_GSO | kEncapL3Mask | BPF_F_ADJ_ROOM_ENCAP_L4_GRE |
                                  BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH | kEncapL2Field |
                                  kDecapL3Mask;
constexpr uint64_t kShrinkFlags = BPF_F_ADJ_ROOM_FIXED_GSO | kDecapL3Mask | BPF_F_ADJ_ROOM_NO_CSUM_RESET;

bool is_tc(uint32_t type) { return type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT; }

SkbContext* skb_arg(uint64_t reg, const vm::ExecContext& ctx) {
    return args::context_arg<SkbContext>(reg, ctx, is_tc);
}

// After the packet moved or changed length: what programs and LD_ABS see.
void packet_changed(SkbContext& skb, vm::ExecContext& ctx) {
    skb.skb.len = skb.packet_len;
    skb.data = reinterpret_cast<uintptr_t>(skb.packet);
    skb.data_end = skb.data + skb.packet_len;
    skb.data_meta = skb.data;
    ctx.packet = skb.packet;
    ctx.packet_len = skb.packet_len;
    if (ctx.checked) ctx.allow(skb.packet, skb.packet_len, true);
}

// bpf_try_make_writable: the first `len` bytes must be in the packet.
bool writable(const SkbContext& skb, uint64_t len) { return len <= skb.packet_len; }

// ---- one's-complement arithmetic, as the kernel's csum_* ----

uint32_t csum_add(uint32_t a, uint32_t b) {
    a += b;
    return a + (a < b ? 1u : 0u);
}
uint32_t csum_sub(uint32_t a, uint32_t b) { return csum_add(a, ~b); }
uint16_t csum_fold(uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}
uint16_t csum16_add(uint16_t csum, uint16_t addend) {
    const uint16_t res = static_cast<uint16_t>(csum + addend);
    return static_cast<uint16_t>(res + (res < addend ? 1 : 0));
}

uint16_t load16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
void store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, sizeof v); }

// ---- bpf_skb_store_bytes ----

uint64_t skb_store_bytes(uint64_t skb_reg, uint64_t offset, uint64_t from, uint64_t len, uint64_t flags,
                         vm::ExecContext& ctx) {
    SkbContext* skb = skb_arg(skb_reg, ctx);
    if (skb == nullptr) return error_code(-EINVAL);
    if ((flags & ~uint64_t{BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH}) != 0) return error_code(-EINVAL);
    const auto off = static_cast<uint32_t>(offset);
    const auto size = static_cast<uint32_t>(len);
    if (off > INT_MAX || !writable(*skb, uint64_t{off} + size)) return error_code(-EFAULT);
    if (!args::memory_ok(from, size, false, ctx)) return error_code(-EFAULT);
    if (size != 0) std::memmove(skb->packet + off, args::as_pointer(from), size);  // `from` may be the packet
    if (flags & BPF_F_INVALIDATE_HASH) skb->skb.hash = 0;
    return 0;
}

// ---- bpf_l3_csum_replace / bpf_l4_csum_replace ----

// The checksum field at `offset`: -EFAULT unless it is 2-aligned and inside the packet.
long csum_field(const SkbContext& skb, uint64_t offset, uint8_t*& field) {
    const auto off = static_cast<uint32_t>(offset);
    if (off > 0xffff || (off & 1) != 0 || !writable(skb, uint64_t{off} + 2)) return -EFAULT;
    field = skb.packet + off;
    return 0;
}

uint64_t l3_csum_replace(uint64_t skb_reg, uint64_t offset, uint64_t from, uint64_t to, uint64_t flags,
                         vm::ExecContext& ctx) {
    SkbContext* skb = skb_arg(skb_reg, ctx);
    if (skb == nullptr) return error_code(-EINVAL);
    if ((flags & ~uint64_t{BPF_F_HDR_FIELD_MASK}) != 0) return error_code(-EINVAL);
    uint8_t* field = nullptr;
    if (long err = csum_field(*skb, offset, field); err != 0) return error_code(err);
    const uint16_t sum = load16(field);
    switch (flags & BPF_F_HDR_FIELD_MASK) {
    case 0:  // `to` is a difference (from bpf_csum_diff)
        if (from != 0) return error_code(-EINVAL);
        store16(field, csum_fold(csum_add(static_cast<uint32_t>(to), ~uint32_t{sum})));
        return 0;
    case 2:  // csum_replace2
        store16(field, static_cast<uint16_t>(~csum16_add(csum16_add(static_cast<uint16_t>(~sum),
                                                                   static_cast<uint16_t>(~static_cast<uint16_t>(from))),
                                                         static_cast<uint16_t>(to))));
        return 0;
    case 4:  // csum_replace4
        store16(field, csum_fold(csum_add(csum_sub(~uint32_t{sum}, static_cast<uint32_t>(from)),
                                          static_cast<uint32_t>(to))));
        return 0;
    default: return error_code(-EINVAL);
    }
}

uint64_t l4_csum_replace(uint64_t skb_reg, uint64_t offset, uint64_t from, uint64_t to, uint64_t flags,
                         vm::ExecContext& ctx) {
    SkbContext* skb = skb_arg(skb_reg, ctx);
    if (skb == nullptr) return error_code(-EINVAL);
    constexpr uint64_t kFlags = BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR |
                                BPF_F_HDR_FIELD_MASK | BPF_F_IPV6;
    if ((flags & ~kFlags) != 0) return error_code(-EINVAL);
    uint8_t* field = nullptr;
    if (long err = csum_field(*skb, offset, field); err != 0) return error_code(err);
    const bool mangled_zero = (flags & BPF_F_MARK_MANGLED_0) != 0;
    const uint16_t sum = load16(field);
    if (mangled_zero && !(flags & BPF_F_MARK_ENFORCE) && sum == 0) return 0;  // UDP without a checksum
    uint32_t diff = 0;
    switch (flags & BPF_F_HDR_FIELD_MASK) {
    case 0:
        if (from != 0) return error_code(-EINVAL);
        diff = static_cast<uint32_t>(to);
        break;
    case 2:  // inet_proto_csum_replace2 is replace4 of the zero-extended halves
        diff = csum_add(~static_cast<uint32_t>(static_cast<uint16_t>(from)), static_cast<uint16_t>(to));
        break;
    case 4: diff = csum_add(~static_cast<uint32_t>(from), static_cast<uint32_t>(to)); break;
    default: return error_code(-EINVAL);
    }
    uint16_t result = csum_fold(csum_add(diff, ~uint32_t{sum}));
    if (mangled_zero && result == 0) result = kCsumMangled0;
    store16(field, result);
    return 0;
}

// ---- bpf_skb_adjust_room ----

// Bytes before the network header: the tc view starts at the Ethernet header
// (a VLAN tag the runtime reports as accelerated is still in the data).
uint32_t mac_header_len(const SkbContext& skb) {
    return kEthHeaderLen + (skb.skb.vlan_present ? kVlanHeaderLen : 0);
}

uint32_t net_base_len(uint32_t protocol) {
    if (protocol == htons(ETH_P_IP)) return kIpv4HeaderLen;
    if (protocol == htons(ETH_P_IPV6)) return kIpv6HeaderLen;
    return 0;
}

// bpf_skb_net_grow: `len` zero bytes at `off` (the bytes before move to the front).
long net_grow(SkbContext& skb, uint32_t off, uint32_t len, uint64_t flags) {
    if ((flags & kEncapL3Mask) != 0) {
        const uint32_t inner_mac_len = static_cast<uint32_t>(flags >> BPF_ADJ_ROOM_ENCAP_L2_SHIFT) &
                                       BPF_ADJ_ROOM_ENCAP_L2_MASK;
        if ((flags & kEncapL3Mask) == kEncapL3Mask) return -EINVAL;
        if ((flags & BPF_F_ADJ_ROOM_ENCAP_L4_GRE) && (flags & BPF_F_ADJ_ROOM_ENCAP_L4_UDP)) return -EINVAL;
        if ((flags & BPF_F_ADJ_ROOM_ENCAP_L2_ETH) && inner_mac_len < kEthHeaderLen) return -EINVAL;
        if (inner_mac_len > len) return -EINVAL;
    }
    if (len > skb.headroom) return -ENOMEM;  // the kernel would reallocate the skb head
    if (off > skb.packet_len) return -EFAULT;
    uint8_t* start = skb.packet - len;
    std::memmove(start, skb.packet, off);
    std::memset(start + off, 0, len);
    skb.packet = start;
    skb.packet_len += len;
    skb.headroom -= len;
    if (skb.skb.protocol == htons(ETH_P_IP) && (flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV6))
        skb.skb.protocol = htons(ETH_P_IPV6);
    else if (skb.skb.protocol == htons(ETH_P_IPV6) && (flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV4))
        skb.skb.protocol = htons(ETH_P_IP);
    return 0;
}

// bpf_skb_net_shrink: removes `len` bytes at `off`.
long net_shrink(SkbContext& skb, uint32_t off, uint32_t len, uint64_t flags) {
    if ((flags & ~kShrinkFlags) != 0) return -EINVAL;
    if (uint64_t{off} + len > skb.packet_len) return -ENOMEM;  // pskb_may_pull fails
    std::memmove(skb.packet + len, skb.packet, off);
    skb.packet += len;
    skb.packet_len -= len;
    skb.headroom += len;
    if (flags & kDecapL3Ipv4) skb.skb.protocol = htons(ETH_P_IP);
    else if (flags & kDecapL3Ipv6) skb.skb.protocol = htons(ETH_P_IPV6);
    return 0;
}

uint64_t skb_adjust_room(uint64_t skb_reg, uint64_t len_diff_reg, uint64_t mode, uint64_t flags, uint64_t,
                         vm::ExecContext& ctx) {
    SkbContext* skb = skb_arg(skb_reg, ctx);
    if (skb == nullptr) return error_code(-EINVAL);
    const auto len_diff = static_cast<int32_t>(len_diff_reg);
    const bool shrink = len_diff < 0;
    const uint32_t len = shrink ? 0u - static_cast<uint32_t>(len_diff) : static_cast<uint32_t>(len_diff);
    const uint32_t protocol = skb->skb.protocol;
    uint32_t len_min = net_base_len(protocol);
    if ((flags & ~(kAdjRoomMask | BPF_F_ADJ_ROOM_NO_CSUM_RESET)) != 0) return error_code(-EINVAL);
    if (len > 0xfff) return error_code(-EFAULT);
    if (protocol != htons(ETH_P_IP) && protocol != htons(ETH_P_IPV6)) return error_code(-kENOTSUPP);
    uint32_t off = mac_header_len(*skb);
    switch (static_cast<uint32_t>(mode)) {
    case BPF_ADJ_ROOM_NET: off += net_base_len(protocol); break;
    case BPF_ADJ_ROOM_MAC: break;
    default: return error_code(-kENOTSUPP);
    }
    if ((flags & kDecapL3Mask) != 0) {
        if (!shrink) return error_code(-EINVAL);
        if ((flags & kDecapL3Mask) == kDecapL3Mask) return error_code(-EINVAL);
        len_min = (flags & kDecapL3Ipv4) ? kIpv4HeaderLen : kIpv6HeaderLen;
    }
    const uint32_t net_off = std::min(mac_header_len(*skb), skb->packet_len);
    const uint32_t len_cur = skb->packet_len - net_off;
    if ((shrink && (len >= len_cur || len_cur - len < len_min)) ||
        (!shrink && uint64_t{skb->packet_len} + len > kMaxSkbLen))
        return error_code(-kENOTSUPP);
    const long err = shrink ? net_shrink(*skb, off, len, flags) : net_grow(*skb, off, len, flags);
    if (err == 0) packet_changed(*skb, ctx);
    return error_code(err);
}

void add(vm::HelperTable& table, uint32_t id, vm::HelperFn fn) {
    const HelperProto* proto = find_prototype(id);
    table.set(id, vm::Helper{fn, proto != nullptr ? std::string(proto->name) : std::to_string(id), false});
}

}  // namespace

void register_skb_helpers(vm::HelperTable& table) {
    add(table, BPF_FUNC_skb_store_bytes, skb_store_bytes);
    add(table, BPF_FUNC_l3_csum_replace, l3_csum_replace);
    add(table, BPF_FUNC_l4_csum_replace, l4_csum_replace);
    add(table, BPF_FUNC_skb_adjust_room, skb_adjust_room);
}

}  // namespace bpfrt::helpers
