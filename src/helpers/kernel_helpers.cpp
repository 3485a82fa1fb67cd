#include "helpers/kernel_helpers.hpp"

#include "helpers/prototypes.hpp"
#include "maps/map.hpp"
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
#include <string>

namespace bpfrt::helpers {

namespace {

using runtime::ProgramObject;
using runtime::RunState;

constexpr unsigned kMaxTailCalls = 33;  // MAX_TAIL_CALL_CNT
constexpr size_t kEthHeaderLen = 14;

uint64_t error_code(long err) { return static_cast<uint64_t>(static_cast<int64_t>(err)); }
void* as_pointer(uint64_t reg) { return reinterpret_cast<void*>(static_cast<uintptr_t>(reg)); }

const ProgramObject* program_of(const vm::ExecContext& ctx) { return static_cast<const ProgramObject*>(ctx.program); }
RunState* run_of(const vm::ExecContext& ctx) { return static_cast<RunState*>(ctx.user); }

// The map in `reg`, or nullptr when a checked (unverified) run passes
// something that is not a map of the running program.
maps::Map* map_arg(uint64_t reg, const vm::ExecContext& ctx) {
    if (ctx.checked) {
        const ProgramObject* program = program_of(ctx);
        const RunState* run = run_of(ctx);
        const void* map = as_pointer(reg);
        if (!((program != nullptr && program->uses_map(map)) || (run != nullptr && run->knows_map(map)))) return nullptr;
    }
    return static_cast<maps::Map*>(as_pointer(reg));
}

maps::RingBuf* ring_arg(uint64_t reg, const vm::ExecContext& ctx) {
    maps::Map* map = map_arg(reg, ctx);
    if (map == nullptr || map->spec().type != BPF_MAP_TYPE_RINGBUF) return nullptr;
    return static_cast<maps::RingBuf*>(map);
}

// Whether a checked run may pass `size` bytes at `reg` (always in verified runs).
bool memory_ok(uint64_t reg, size_t size, bool write, const vm::ExecContext& ctx) {
    if (!ctx.checked || size == 0) return true;
    return ctx.is_allowed(static_cast<uintptr_t>(reg), size, write);
}

// The run's own context when `reg` is it and the program is of a type in
// `types`; nullptr otherwise (a checked run passing anything else).
template <class Ctx>
Ctx* context_arg(uint64_t reg, const vm::ExecContext& ctx, bool (*type_ok)(uint32_t)) {
    const ProgramObject* program = program_of(ctx);
    const RunState* run = run_of(ctx);
    if (program == nullptr || !type_ok(program->type)) return nullptr;
    if (run == nullptr || run->context != reg) return nullptr;
    return static_cast<Ctx*>(as_pointer(reg));
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

// ---- trace_printk ----

// A %s argument: the string if the program was given its memory, else "".
std::string string_arg(const vm::ExecContext& ctx, uint64_t ptr) {
    std::string s;
    constexpr size_t kMaxString = 256;
    for (uintptr_t p = static_cast<uintptr_t>(ptr); s.size() < kMaxString; ++p) {
        if (!readable(ctx, p, 1)) return {};
        char c;
        std::memcpy(&c, as_pointer(p), 1);
        if (c == '\0') break;
        s.push_back(c);
    }
    return s;
}

// Formats like the kernel's bpf_trace_printk: %d %i %u %x %X %o %c %s %p
// and %%, with flags, width, precision and the l/ll/h/hh/z modifiers; at
// most three arguments. nullopt for a format the kernel refuses.
std::optional<std::string> format_printk(const vm::ExecContext& ctx, std::string_view fmt, const uint64_t (&args)[3]) {
    std::string out;
    size_t next_arg = 0;
    for (size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') {
            out.push_back(fmt[i]);
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '%') {
            out.push_back('%');
            ++i;
            continue;
        }
        size_t j = i + 1;
        while (j < fmt.size() && std::strchr("-+ 0#", fmt[j]) != nullptr) ++j;
        while (j < fmt.size() && (std::isdigit(static_cast<unsigned char>(fmt[j])) || fmt[j] == '.')) ++j;
        int longs = 0;
        bool half = false;
        while (j < fmt.size() && (fmt[j] == 'l' || fmt[j] == 'h' || fmt[j] == 'z')) {
            if (fmt[j] == 'l' || fmt[j] == 'z') ++longs;
            if (fmt[j] == 'h') half = true;
            ++j;
        }
        if (j >= fmt.size() || longs > 2 || next_arg == 3) return std::nullopt;
        const char conv = fmt[j];
        const std::string flags(fmt.substr(i + 1, j - i - 1 - static_cast<size_t>(longs) - (half ? 1 : 0)));
        const uint64_t arg = args[next_arg++];
        char buf[128];
        switch (conv) {
        case 'd':
        case 'i': {
            const int64_t v = longs ? static_cast<int64_t>(arg) : static_cast<int32_t>(arg);
            std::snprintf(buf, sizeof buf, ("%" + flags + "lld").c_str(), static_cast<long long>(v));
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            const uint64_t v = longs ? arg : static_cast<uint32_t>(arg);
            std::snprintf(buf, sizeof buf, ("%" + flags + "ll" + conv).c_str(), static_cast<unsigned long long>(v));
            break;
        }
        case 'c': std::snprintf(buf, sizeof buf, "%c", static_cast<char>(arg)); break;
        case 'p': std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(arg)); break;
        case 's': {
            out += string_arg(ctx, arg);
            i = j;
            continue;
        }
        default: return std::nullopt;
        }
        out += buf;
        i = j;
    }
    return out;
}

uint64_t trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3, vm::ExecContext& ctx) {
    if (fmt_size == 0 || !memory_ok(fmt, fmt_size, false, ctx)) return error_code(-EINVAL);
    const char* text = static_cast<const char*>(as_pointer(fmt));
    if (text[fmt_size - 1] != '\0') return error_code(-EINVAL);
    const uint64_t args[3] = {a1, a2, a3};
    auto message = format_printk(ctx, std::string_view(text, std::strlen(text)), args);
    if (!message) return error_code(-EINVAL);
    if (!message->empty() && message->back() == '\n') message->pop_back();
    if (auto* state = static_cast<runtime::State*>(ctx.runtime)) {
        const ProgramObject* program = program_of(ctx);
        state->trace(program != nullptr ? std::string_view(program->name) : std::string_view(), *message);
    }
    return message->size();
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
}

}  // namespace bpfrt::helpers
