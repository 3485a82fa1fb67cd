#include "helpers/kernel_helpers.hpp"

#include "helpers/helper_args.hpp"
#include "helpers/prototypes.hpp"
#include "maps/map.hpp"
#include "maps/perf_event_array.hpp"
#include "maps/ringbuf.hpp"
#include "runtime/contexts.hpp"
#include "runtime/program.hpp"
#include "runtime/state.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <span>
#include <string>

namespace bpfrt::helpers {

namespace {

using runtime::ProgramObject;
using runtime::RunState;
using namespace args;  // error_code, as_pointer, program_of, run_of, map_arg, memory_ok, context_arg

constexpr unsigned kMaxTailCalls = 33;  // MAX_TAIL_CALL_CNT
constexpr size_t kEthHeaderLen = 14;

maps::RingBuf* ring_arg(uint64_t reg, const vm::ExecContext& ctx) {
    maps::Map* map = map_arg(reg, ctx);
    if (map == nullptr || map->spec().type != BPF_MAP_TYPE_RINGBUF) return nullptr;
    return static_cast<maps::RingBuf*>(map);
}

bool is_skb(uint32_t type) {
    return type == BPF_PROG_TYPE_SOCKET_FILTER || type == BPF_PROG_TYPE_SCHED_CLS ||
           type == BPF_PROG_TYPE_SCHED_ACT || type == BPF_PROG_TYPE_CGROUP_SKB;
}
bool is_xdp(uint32_t type) { return type == BPF_PROG_TYPE_XDP; }

// ---- time, random, CPU ----

uint64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext&) {
    return clock_ns(CLOCK_MONOTONIC);
}
uint64_t ktime_get_boot_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext&) {
    return clock_ns(CLOCK_BOOTTIME);
}

uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext&) {
    // Per thread, as the kernel's per-CPU state: no locking.
    thread_local std::mt19937 engine{std::random_device{}()};
    return static_cast<uint32_t>(engine());
}

uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext&) {
    return maps::current_cpu_slot();  // the slot per-CPU maps use for this thread
}

// ---- memory the program was given ----

// Whether every byte of [addr, addr + size) may be read by helpers.
bool readable(const vm::ExecContext& ctx, uintptr_t addr, size_t size) {
    return size == 0 || ctx.is_allowed(addr, size, false);
}

uint64_t probe_read(uint64_t dst, uint64_t size, uint64_t src, uint64_t, uint64_t, vm::ExecContext& ctx) {
    if (!memory_ok(dst, size, true, ctx)) return error_code(-EFAULT);
    if (size == 0) return 0;
    if (!readable(ctx, static_cast<uintptr_t>(src), size)) {
        std::memset(as_pointer(dst), 0, size);
        return error_code(-EFAULT);
    }
    std::memmove(as_pointer(dst), as_pointer(src), size);
    return 0;
}

// Copies a NUL-terminated string of at most size - 1 bytes plus the NUL.
// Returns its length with the NUL, or -EFAULT (destination zeroed) when a
// byte before the NUL is outside the program's memory.
uint64_t probe_read_str(uint64_t dst, uint64_t size, uint64_t src, uint64_t, uint64_t, vm::ExecContext& ctx) {
    if (!memory_ok(dst, size, true, ctx)) return error_code(-EFAULT);
    if (size == 0) return 0;
    auto* out = static_cast<char*>(as_pointer(dst));
    const auto from = static_cast<uintptr_t>(src);
    for (uint64_t i = 0; i + 1 < size; ++i) {
        if (!readable(ctx, from + i, 1)) {
            std::memset(out, 0, size);
            return error_code(-EFAULT);
        }
        char c;
        std::memcpy(&c, as_pointer(from + i), 1);
        out[i] = c;
        if (c == '\0') return i + 1;
    }
    out[size - 1] = '\0';
    return size;
}

// ---- trace_printk, trace_vprintk ----

constexpr size_t kPrintkArgs = 3;        // MAX_TRACE_PRINTK_VARARGS
constexpr size_t kVprintkMaxArgs = 12;   // MAX_BPRINTF_VARARGS
constexpr size_t kMaxMessage = 1024;     // MAX_BPRINTF_BUF: longer messages are cut (with their NUL)
constexpr size_t kMaxStringArg = 512;    // MAX_BPRINTF_BIN_ARGS: a %s argument is at most that long

// A %s argument: the string if the program may read it (its stack, memory it
// was given), else "" (as the kernel prints a string it cannot copy).
std::string string_arg(const vm::ExecContext& ctx, uint64_t ptr) {
    std::string s;
    for (uintptr_t p = static_cast<uintptr_t>(ptr); s.size() < kMaxStringArg; ++p) {
        if (!readable(ctx, p, 1)) return {};
        char c;
        std::memcpy(&c, as_pointer(p), 1);
        if (c == '\0') break;
        s.push_back(c);
    }
    return s;
}

// %pI4 %pi4 %pI6 %pi6: the address at `ptr` (zeros when it cannot be read, as the kernel).
std::string ip_arg(const vm::ExecContext& ctx, uint64_t ptr, char kind, char family) {
    uint8_t ip[16] = {};
    const size_t size = family == '4' ? 4 : 16;
    if (readable(ctx, static_cast<uintptr_t>(ptr), size)) std::memcpy(ip, as_pointer(ptr), size);
    std::string out;
    char part[8];
    for (size_t i = 0; i < size; ++i) {
        if (family == '4') {
            std::snprintf(part, sizeof part, kind == 'I' ? "%s%u" : "%s%03u", i == 0 ? "" : ".", ip[i]);
        } else {
            const bool colon = kind == 'I' && i != 0 && i % 2 == 0;
            std::snprintf(part, sizeof part, "%s%02x", colon ? ":" : "", ip[i]);
        }
        out += part;
    }
    return out;
}

bool format_char_ok(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x80 && (std::isprint(u) || std::isspace(u));
}

// What may follow %p and %s: the end, a space or punctuation (the kernel's check).
bool ends_conversion(char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == '\0' || std::isspace(u) || std::ispunct(u);
}

// `text` in a field of the conversion's flags and width (`spec`, e.g. "-8").
std::string padded(const std::string& spec, const std::string& text) {
    const int len = std::snprintf(nullptr, 0, ("%" + spec + "s").c_str(), text.c_str());
    std::string out(static_cast<size_t>(std::max(len, 0)) + 1, '\0');
    std::snprintf(out.data(), out.size(), ("%" + spec + "s").c_str(), text.c_str());
    out.pop_back();
    return out;
}

// Formats like the kernel's bpf_bprintf_prepare + bstr_printf, with its
// checks: printable ASCII only; %% ; flags "0+- " and a width; then %d %i %u
// %x %X with l or ll, %c, %s, %p (plain: 0x<hex>; %px: 16 hex digits; %pK
// %ps %pS %pB: 0x<hex>, no symbols), %pks/%pus (strings) and %pI4 %pi4 %pI6
// %pi6 (addresses read from memory). No precision, no h/z/o, no more
// conversions than `args`. nullopt where the kernel gives -EINVAL.
std::optional<std::string> format_bprintf(const vm::ExecContext& ctx, std::string_view fmt,
                                          std::span<const uint64_t> args) {
    auto at = [&](size_t i) { return i < fmt.size() ? fmt[i] : '\0'; };
    std::string out;
    size_t next_arg = 0;
    for (size_t i = 0; i < fmt.size(); ++i) {
        if (!format_char_ok(fmt[i])) return std::nullopt;
        if (fmt[i] != '%') {
            out.push_back(fmt[i]);
            continue;
        }
        if (at(i + 1) == '%') {
            out.push_back('%');
            ++i;
            continue;
        }
        if (next_arg >= args.size()) return std::nullopt;
        const uint64_t arg = args[next_arg++];
        const size_t spec_start = ++i;
        while (std::strchr("0+- ", at(i)) != nullptr && at(i) != '\0') ++i;
        if (at(i) >= '1' && at(i) <= '9') {
            while (std::isdigit(static_cast<unsigned char>(at(i)))) ++i;
        }
        const std::string spec(fmt.substr(spec_start, i - spec_start));
        char buf[64];
        if (at(i) == 'p') {
            const char kind = at(i + 1);
            if (ends_conversion(kind)) {
                std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(arg));
                out += padded(spec, buf);
            } else if ((kind == 'k' || kind == 'u') && at(i + 2) == 's') {
                i += 2;
                if (!ends_conversion(at(i + 1))) return std::nullopt;
                out += padded(spec, string_arg(ctx, arg));
            } else if (kind == 'K' || kind == 'x' || kind == 's' || kind == 'S' || kind == 'B') {
                ++i;
                std::snprintf(buf, sizeof buf, kind == 'x' ? "%016llx" : "0x%llx", static_cast<unsigned long long>(arg));
                out += padded(spec, buf);
            } else if ((kind == 'i' || kind == 'I') && (at(i + 2) == '4' || at(i + 2) == '6')) {
                out += padded(spec, ip_arg(ctx, arg, kind, at(i + 2)));
                i += 2;
            } else {
                return std::nullopt;
            }
            continue;
        }
        if (at(i) == 's') {
            if (!ends_conversion(at(i + 1))) return std::nullopt;
            out += padded(spec, string_arg(ctx, arg));
            continue;
        }
        if (at(i) == 'c') {
            std::snprintf(buf, sizeof buf, ("%" + spec + "c").c_str(), static_cast<unsigned char>(arg));
            out += buf;
            continue;
        }
        bool wide = false;  // l or ll: 64 bits; otherwise an int
        if (at(i) == 'l') {
            wide = true;
            ++i;
            if (at(i) == 'l') ++i;
        }
        const char conv = at(i);
        if (conv == 'd' || conv == 'i') {
            const int64_t v = wide ? static_cast<int64_t>(arg) : static_cast<int32_t>(arg);
            std::snprintf(buf, sizeof buf, ("%" + spec + "lld").c_str(), static_cast<long long>(v));
        } else if (conv == 'u' || conv == 'x' || conv == 'X') {
            const uint64_t v = wide ? arg : static_cast<uint32_t>(arg);
            std::snprintf(buf, sizeof buf, ("%" + spec + "ll" + conv).c_str(), static_cast<unsigned long long>(v));
        } else {
            return std::nullopt;
        }
        out += buf;
    }
    return out;
}

// The format at `fmt` (fmt_size bytes, a NUL among them) with `args` to the
// trace stream. Returns the message's length (as the kernel: the whole
// formatted text, even where the stream keeps only its first 1023 bytes) or
// -EINVAL.
uint64_t print_to_trace(uint64_t fmt, uint64_t fmt_size, std::span<const uint64_t> args, vm::ExecContext& ctx) {
    if (fmt_size == 0 || !memory_ok(fmt, fmt_size, false, ctx)) return error_code(-EINVAL);
    const char* text = static_cast<const char*>(as_pointer(fmt));
    const void* nul = std::memchr(text, '\0', static_cast<size_t>(fmt_size));
    if (nul == nullptr) return error_code(-EINVAL);
    auto message = format_bprintf(ctx, std::string_view(text, static_cast<size_t>(static_cast<const char*>(nul) - text)), args);
    if (!message) return error_code(-EINVAL);
    const size_t length = message->size();
    if (message->size() >= kMaxMessage) message->resize(kMaxMessage - 1);
    if (!message->empty() && message->back() == '\n') message->pop_back();  // one message, one line
    if (auto* state = static_cast<runtime::State*>(ctx.runtime)) {
        const ProgramObject* program = program_of(ctx);
        state->trace(program != nullptr ? std::string_view(program->name) : std::string_view(), *message);
    }
    return length;
}

// bpf_trace_printk(fmt, fmt_size, a1, a2, a3)
uint64_t trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3, vm::ExecContext& ctx) {
    const uint64_t args[kPrintkArgs] = {a1, a2, a3};
    return print_to_trace(fmt, fmt_size, args, ctx);
}

// bpf_trace_vprintk(fmt, fmt_size, data, data_len): the arguments are the
// data_len / 8 u64 at `data` (at most 12; data_len a multiple of 8, else -EINVAL).
uint64_t trace_vprintk(uint64_t fmt, uint64_t fmt_size, uint64_t data, uint64_t data_len, uint64_t,
                       vm::ExecContext& ctx) {
    if (data_len % 8 != 0 || data_len > kVprintkMaxArgs * 8 || (data_len != 0 && data == 0)) return error_code(-EINVAL);
    if (!memory_ok(data, data_len, false, ctx)) return error_code(-EFAULT);
    uint64_t args[kVprintkMaxArgs] = {};
    if (data_len != 0) std::memcpy(args, as_pointer(data), static_cast<size_t>(data_len));
    return print_to_trace(fmt, fmt_size, std::span<const uint64_t>(args, static_cast<size_t>(data_len / 8)), ctx);
}

// ---- tail calls ----

uint64_t tail_call(uint64_t, uint64_t map_reg, uint64_t index, uint64_t, uint64_t, vm::ExecContext& ctx) {
    maps::Map* map = map_arg(map_reg, ctx);
    const ProgramObject* caller = program_of(ctx);
    if (map == nullptr || caller == nullptr || map->spec().type != BPF_MAP_TYPE_PROG_ARRAY) return error_code(-EINVAL);
    if (index >= map->spec().max_entries || ctx.tail_calls >= kMaxTailCalls) return 0;  // falls through
    // The array keeps the program alive; retired entries live until the run's read section ends.
    ObjectRef target = map->prog_array_get(static_cast<uint32_t>(index));
    if (!target || target->kind() != ObjectKind::Program) return 0;
    auto* program = static_cast<ProgramObject*>(target.get());
    if (program->type != caller->type || !program->exec) return 0;
    ctx.tail_call_target = program->exec.get();
    ctx.program = program;
    for (const runtime::DirectValue& value : program->direct_values) ctx.allow(value.start, value.size, value.writable);
    return 0;
}

// ---- ring buffer ----

uint64_t ringbuf_output(uint64_t map_reg, uint64_t data, uint64_t size, uint64_t flags, uint64_t, vm::ExecContext& ctx) {
    maps::RingBuf* ring = ring_arg(map_reg, ctx);
    if (ring == nullptr) return error_code(-EINVAL);
    if (!memory_ok(data, size, false, ctx)) return error_code(-EFAULT);
    return error_code(ring->output(as_pointer(data), size, flags));
}

uint64_t ringbuf_reserve(uint64_t map_reg, uint64_t size, uint64_t flags, uint64_t, uint64_t, vm::ExecContext& ctx) {
    maps::RingBuf* ring = ring_arg(map_reg, ctx);
    RunState* run = run_of(ctx);
    if (ring == nullptr || run == nullptr) return 0;
    void* sample = ring->reserve(size, flags);
    if (sample == nullptr) return 0;
    run->reserved.push_back({sample, ring});
    if (ctx.checked) ctx.allow(sample, size, true);
    return reinterpret_cast<uintptr_t>(sample);
}

// Submits or discards a record this run reserved (others are ignored:
// only an unverified program can pass one).
template <bool kDiscard>
uint64_t ringbuf_commit(uint64_t sample, uint64_t flags, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    RunState* run = run_of(ctx);
    if (run == nullptr) return 0;
    auto it = std::find_if(run->reserved.begin(), run->reserved.end(),
                           [&](const RunState::Reserved& r) { return r.sample == as_pointer(sample); });
    if (it == run->reserved.end()) return 0;
    auto* ring = static_cast<maps::RingBuf*>(it->ring);
    if (kDiscard)
        ring->discard(it->sample, flags);
    else
        ring->submit(it->sample, flags);
    run->reserved.erase(it);
    return 0;
}

uint64_t ringbuf_query(uint64_t map_reg, uint64_t flags, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    maps::RingBuf* ring = ring_arg(map_reg, ctx);
    return ring == nullptr ? 0 : ring->query(flags);
}

// ---- perf event output ----

std::span<const std::byte> bytes_at(uint64_t reg, uint64_t size) {
    return {static_cast<const std::byte*>(as_pointer(reg)), static_cast<size_t>(size)};
}

// The packet bytes the skb and XDP variants append (flags' BPF_F_CTXLEN_MASK):
// the first `len` bytes of the packet the program sees. nullopt when the
// packet is shorter (-EFAULT, as the kernel's skb->len / xdp_size check).
std::optional<std::span<const std::byte>> packet_prefix(uint64_t ctx_reg, uint64_t len, const vm::ExecContext& ctx) {
    if (auto* skb = context_arg<runtime::SkbContext>(ctx_reg, ctx, is_skb)) {
        if (len > skb->packet_len) return std::nullopt;
        return std::span<const std::byte>(reinterpret_cast<const std::byte*>(skb->packet), static_cast<size_t>(len));
    }
    if (auto* xdp = context_arg<runtime::XdpContext>(ctx_reg, ctx, is_xdp)) {
        if (len > xdp->data_end - xdp->data) return std::nullopt;
        return bytes_at(xdp->data, len);
    }
    return std::nullopt;
}

// bpf_perf_event_output(ctx, map, flags, data, size): a sample of `size`
// bytes to the perf event in slot flags & BPF_F_INDEX_MASK (BPF_F_CURRENT_CPU:
// this thread's CPU slot). Socket filter, tc and XDP programs may append the
// first (flags & BPF_F_CTXLEN_MASK) >> 32 packet bytes (the kernel's
// bpf_skb_event_output / bpf_xdp_event_output); other types take no other
// flag bits (-EINVAL). Then -E2BIG, -ENOENT, -EOPNOTSUPP or -ENOSPC as
// PerfEventArray::output.
uint64_t perf_event_output(uint64_t ctx_reg, uint64_t map_reg, uint64_t flags, uint64_t data, uint64_t size,
                           vm::ExecContext& ctx) {
    maps::Map* map = map_arg(map_reg, ctx);
    if (map == nullptr || map->spec().type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) return error_code(-EINVAL);
    if (!memory_ok(data, size, false, ctx)) return error_code(-EFAULT);
    const ProgramObject* program = program_of(ctx);
    const uint32_t type = program != nullptr ? program->type : 0;
    const bool packet_type = is_skb(type) || is_xdp(type);
    const uint64_t allowed = uint64_t{BPF_F_INDEX_MASK} | (packet_type ? uint64_t{BPF_F_CTXLEN_MASK} : 0);
    if (flags & ~allowed) return error_code(-EINVAL);
    std::span<const std::byte> extra;
    if (const uint64_t ctx_len = (flags & BPF_F_CTXLEN_MASK) >> 32; ctx_len != 0) {
        auto prefix = packet_prefix(ctx_reg, ctx_len, ctx);
        if (!prefix) return error_code(-EFAULT);
        extra = *prefix;
    }
    auto& array = static_cast<maps::PerfEventArray&>(*map);
    return error_code(array.output(flags & BPF_F_INDEX_MASK, bytes_at(data, size), extra));
}

// ---- packets ----

uint64_t skb_load_bytes(uint64_t skb_reg, uint64_t offset, uint64_t to, uint64_t len, uint64_t, vm::ExecContext& ctx) {
    auto* skb = context_arg<runtime::SkbContext>(skb_reg, ctx, is_skb);
    if (skb == nullptr || len == 0 || !memory_ok(to, len, true, ctx)) return error_code(-EFAULT);
    const auto off = static_cast<uint32_t>(offset);
    if (off > 0xffff || offset > UINT32_MAX || len > skb->packet_len || off > skb->packet_len - len) {
        std::memset(as_pointer(to), 0, len);
        return error_code(-EFAULT);
    }
    std::memcpy(as_pointer(to), skb->packet + off, len);
    return 0;
}

uint8_t* ptr(uint64_t v) { return static_cast<uint8_t*>(as_pointer(v)); }

uint64_t xdp_adjust_head(uint64_t xdp_reg, uint64_t delta, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    auto* xdp = context_arg<runtime::XdpContext>(xdp_reg, ctx, is_xdp);
    if (xdp == nullptr) return error_code(-EINVAL);
    const int64_t offset = static_cast<int32_t>(delta);
    const size_t metalen = xdp->data - xdp->data_meta;
    const uintptr_t data_start = reinterpret_cast<uintptr_t>(xdp->hard_start) + runtime::kXdpFrameReserve + metalen;
    const uintptr_t data = xdp->data + static_cast<uint64_t>(offset);
    if (data < data_start || data > xdp->data_end - kEthHeaderLen) return error_code(-EINVAL);
    if (metalen != 0) std::memmove(ptr(xdp->data_meta + static_cast<uint64_t>(offset)), ptr(xdp->data_meta), metalen);
    xdp->data_meta += static_cast<uint64_t>(offset);
    xdp->data = data;
    return 0;
}

uint64_t xdp_adjust_tail(uint64_t xdp_reg, uint64_t delta, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    auto* xdp = context_arg<runtime::XdpContext>(xdp_reg, ctx, is_xdp);
    if (xdp == nullptr) return error_code(-EINVAL);
    const int64_t offset = static_cast<int32_t>(delta);
    const uintptr_t hard_end =
        reinterpret_cast<uintptr_t>(xdp->hard_start) + runtime::kXdpFrameSize - runtime::kXdpTailroom;
    const uintptr_t data_end = xdp->data_end + static_cast<uint64_t>(offset);
    if (data_end > hard_end || data_end < xdp->data + kEthHeaderLen) return error_code(-EINVAL);
    if (offset > 0) std::memset(ptr(xdp->data_end), 0, static_cast<size_t>(offset));  // no stale bytes
    xdp->data_end = data_end;
    return 0;
}

uint64_t xdp_adjust_meta(uint64_t xdp_reg, uint64_t delta, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    auto* xdp = context_arg<runtime::XdpContext>(xdp_reg, ctx, is_xdp);
    if (xdp == nullptr) return error_code(-EINVAL);
    const int64_t offset = static_cast<int32_t>(delta);
    const uintptr_t frame_end = reinterpret_cast<uintptr_t>(xdp->hard_start) + runtime::kXdpFrameReserve;
    const uintptr_t meta = xdp->data_meta + static_cast<uint64_t>(offset);
    if (meta < frame_end || meta > xdp->data) return error_code(-EINVAL);
    const size_t metalen = xdp->data - meta;
    if ((metalen & 3) != 0 || metalen > runtime::kXdpMaxMeta) return error_code(-EACCES);
    xdp->data_meta = meta;
    return 0;
}

void add(vm::HelperTable& table, uint32_t id, vm::HelperFn fn) {
    const HelperProto* proto = find_prototype(id);
    table.set(id, vm::Helper{fn, proto != nullptr ? std::string(proto->name) : std::to_string(id), false});
}

}  // namespace

void register_kernel_helpers(vm::HelperTable& table) {
    add(table, BPF_FUNC_probe_read, probe_read);
    add(table, BPF_FUNC_ktime_get_ns, ktime_get_ns);
    add(table, BPF_FUNC_trace_printk, trace_printk);
    add(table, BPF_FUNC_get_prandom_u32, get_prandom_u32);
    add(table, BPF_FUNC_get_smp_processor_id, get_smp_processor_id);
    add(table, BPF_FUNC_tail_call, tail_call);
    add(table, BPF_FUNC_perf_event_output, perf_event_output);
    add(table, BPF_FUNC_skb_load_bytes, skb_load_bytes);
    add(table, BPF_FUNC_xdp_adjust_head, xdp_adjust_head);
    add(table, BPF_FUNC_probe_read_str, probe_read_str);
    add(table, BPF_FUNC_xdp_adjust_meta, xdp_adjust_meta);
    add(table, BPF_FUNC_xdp_adjust_tail, xdp_adjust_tail);
    add(table, BPF_FUNC_probe_read_user, probe_read);
    add(table, BPF_FUNC_probe_read_kernel, probe_read);
    add(table, BPF_FUNC_probe_read_user_str, probe_read_str);
    add(table, BPF_FUNC_probe_read_kernel_str, probe_read_str);
    add(table, BPF_FUNC_ktime_get_boot_ns, ktime_get_boot_ns);
    add(table, BPF_FUNC_ringbuf_output, ringbuf_output);
    add(table, BPF_FUNC_ringbuf_reserve, ringbuf_reserve);
    add(table, BPF_FUNC_ringbuf_submit, ringbuf_commit<false>);
    add(table, BPF_FUNC_ringbuf_discard, ringbuf_commit<true>);
    add(table, BPF_FUNC_ringbuf_query, ringbuf_query);
    add(table, BPF_FUNC_trace_vprintk, trace_vprintk);
}

}  // namespace bpfrt::helpers
