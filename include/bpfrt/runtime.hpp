// The typed C++ API of the bpf() command interface.
//
// A Runtime is what a process is to the kernel: it owns a table of handles
// (small integers behaving like file descriptors, the lowest free number
// >= 3) to reference-counted maps and programs. Each command has a named
// input struct; outputs are separate (a span the command fills, or a result
// struct); failures are bpfrt::Error values carrying the errno the kernel's
// bpf(2) would give plus a message. MapHandle and ProgramHandle close their
// handle when destroyed. The C entry point bpfrt_bpf() (bpf.h) is a thin
// layer over the same implementation of each command.
//
// Thread-safe: every member function may be called from several threads at
// once. Handles (and the objects behind them) must not outlive the Runtime.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>
#include <bpfrt/jit.hpp>
#include <bpfrt/perf_buffer.hpp>  // PerfBuffer: reads PERF_EVENT_ARRAY maps
#include <bpfrt/vm.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct bpfrt_runtime;  // the C API's view of a Runtime (bpf.h)

namespace bpfrt {

class Runtime;

// The C source line of an instruction (from .BTF.ext line info).
struct SourceLine {
    uint32_t insn_off = 0;  // slot index in the program (after linking)
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;
    std::string text;       // the source line itself, as clang recorded it
};

// ---- RAII handles ----

// An open handle of a Runtime; closes it when destroyed. Movable, not copyable.
class Handle {
public:
    Handle() = default;
    Handle(Runtime& runtime, int fd) noexcept : runtime_(&runtime), fd_(fd) {}
    Handle(Handle&& other) noexcept : runtime_(other.runtime_), fd_(other.release()) {}
    Handle& operator=(Handle&& other) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }

    int fd() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    // Gives up ownership: the handle stays open, the caller closes it.
    int release() noexcept;
    // Closes the handle now (if open).
    void reset() noexcept;

private:
    Runtime* runtime_ = nullptr;
    int fd_ = -1;
};

class MapHandle : public Handle {
public:
    using Handle::Handle;
};

class ProgramHandle : public Handle {
public:
    using Handle::Handle;
};

// ---- Command inputs ----

// BPF_MAP_CREATE
struct MapCreate {
    uint32_t map_type = 0;  // BPF_MAP_TYPE_*
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t map_flags = 0;     // BPF_F_* accepted by the map type
    int inner_map_fd = 0;       // template for ARRAY_OF_MAPS / HASH_OF_MAPS (0 = none)
    uint32_t numa_node = 0;     // accepted and ignored (with BPF_F_NUMA_NODE)
    std::string name{};           // at most 15 characters of [A-Za-z0-9_.]
    uint64_t map_extra = 0;     // per-type extra (bloom filter hashes)
    // What the kernel reads from the value's BTF type (btf_value_type_id).
    // bpfrt has no BPF_BTF_LOAD: the creator (the ELF loader) states the facts.
    // A value with a struct bpf_spin_lock (HASH and ARRAY only) lets programs
    // call bpf_spin_lock on it and the host use BPF_F_LOCK; host copies never
    // write the lock word and lookups return it as 0.
    struct ValueBtf {
        int32_t spin_lock_off = -1;  // offset of the struct bpf_spin_lock, -1: none
    };
    std::optional<ValueBtf> value_btf{};  // nullopt: the value's type is unknown
};

// BPF_MAP_LOOKUP_ELEM: the value is written to the output span given to
// map_lookup_elem (value_size bytes; per-CPU maps: round_up(value_size, 8)
// times the number of CPU slots). Queue/stack maps take an empty key and
// give the head without removing it.
struct MapLookupElem {
    int map_fd = -1;
    std::span<const std::byte> key{};
    uint64_t flags = 0;  // 0, or BPF_F_LOCK (copy holding the value's bpf_spin_lock)
};

// BPF_MAP_UPDATE_ELEM
struct MapUpdateElem {
    int map_fd = -1;
    std::span<const std::byte> key{};  // empty for queue/stack maps
    std::span<const std::byte> value{};
    uint64_t flags = 0;  // BPF_ANY, BPF_NOEXIST, BPF_EXIST; | BPF_F_LOCK (a value with a bpf_spin_lock)
};

// BPF_MAP_DELETE_ELEM
struct MapDeleteElem {
    int map_fd = -1;
    std::span<const std::byte> key{};
};

// BPF_MAP_GET_NEXT_KEY: the next key is written to the output span.
struct MapGetNextKey {
    int map_fd = -1;
    std::optional<std::span<const std::byte>> key{};  // nullopt: the first key
};

// BPF_MAP_LOOKUP_AND_DELETE_ELEM (queue/stack: pop; hash maps: take)
struct MapLookupAndDeleteElem {
    int map_fd = -1;
    std::span<const std::byte> key{};  // empty for queue/stack maps
    uint64_t flags = 0;
};

// BPF_PROG_LOAD
struct ProgLoad {
    uint32_t prog_type = 0;  // BPF_PROG_TYPE_*
    std::span<const bpf_insn> insns{};
    std::string license{};     // "GPL" or compatible enables GPL-only helpers
    uint32_t log_level = 0;  // 0 none; 1 failures and statistics; 2 every insn; 4 statistics (8: fixed)
    uint32_t prog_flags = 0;
    uint32_t expected_attach_type = 0;
    std::string name{};        // at most 15 characters of [A-Za-z0-9_.]
    uint32_t kern_version = 0;  // the object's `version` section; kept, as the kernel does
    // Source lines of the instructions (BTF line info), sorted by insn_off:
    // the verifier's messages then name the C line of the failing instruction.
    std::vector<SourceLine> line_info{};
    // The log limit of the C API (log_size): a log that does not fit makes
    // the load fail with ENOSPC. 0 = unlimited (the C++ API's default).
    size_t log_limit = 0;
    // The verifier's rules: privileged (root / CAP_BPF in the kernel) or
    // unprivileged (socket filters only, no bpf-to-bpf calls or loops, no
    // pointer leaks, no reads of uninitialised stack, 4096 instructions).
    // nullopt: the runtime's default (Runtime::set_privileged, privileged
    // unless changed).
    std::optional<bool> privileged{};
    // The engine of a verified program: Auto (the JIT where
    // jit::jit_supported(), the interpreter elsewhere), Interpreter or Jit
    // (ENOTSUP where unsupported). Programs the verifier does not prove safe
    // (tracing types) run in the checked interpreter whatever is chosen.
    // nullopt: the runtime's default (Runtime::set_engine, Auto unless changed).
    std::optional<jit::Engine> engine{};
    // JIT only: constant blinding (jit::JitOptions), for untrusted programs.
    // nullopt: the runtime's default (Runtime::set_engine, off unless changed).
    std::optional<bool> constant_blinding{};
};

// BPF_PROG_LOAD's outputs: the program (or why not) and the verifier log,
// which a failed load has too.
struct ProgLoadResult {
    Result<ProgramHandle> program;
    std::string log{};
};

// BPF_PROG_TEST_RUN
//
// The context of packet programs (ctx_in / ctx_out, as the kernel's
// net/bpf/test_run.c):
//  - SOCKET_FILTER, SCHED_CLS, SCHED_ACT: a struct __sk_buff (at most 4096
//    bytes; bytes beyond sizeof(struct __sk_buff) must be 0, else E2BIG).
//    Only mark, priority, ingress_ifindex, ifindex, cb[], tstamp, wire_len,
//    gso_segs, gso_size and hwtstamp may be non-zero (else EINVAL);
//    ifindex > 1 must name a network interface of the host (else ENODEV),
//    whose address decides pkt_type; wire_len 0 means skb->len, else it must
//    be >= skb->len and <= 65536; gso_segs <= 65535. The program sees these
//    values; ctx_out is the context after the run (mark, priority,
//    ingress_ifindex, ifindex, tstamp, cb[], wire_len, gso_segs, hwtstamp
//    updated, the rest as given).
//  - XDP: a struct xdp_md: data_meta 0, data_end == data_in's size, data
//    <= data_end is the length of metadata at the start of data_in (a
//    multiple of 4, at most 32), egress_ifindex 0 (else EINVAL);
//    ingress_ifindex 0 (then rx_queue_index 0) or a host interface (ENODEV)
//    with rx_queue_index below its number of receive queues (EINVAL).
//    ctx_out gives data / data_end as offsets from data_meta; data_out starts
//    at data_meta (the metadata, then the packet), as the kernel's.
// Without ctx_in nor ctx_out the context is what the kernel gives then
// (ifindex 1, the loopback device; ingress_ifindex 0 for skb programs).
struct TestRun {
    int prog_fd = -1;
    std::span<const std::byte> data{};  // packet (skb types, XDP) — see prog_test_run
    std::span<const std::byte> ctx{};   // ctx_in: __sk_buff / xdp_md (packet types), the context (SYSCALL, RAW_TRACEPOINT)
    // A ctx_out is asked for (attr.test.ctx_out != 0): with an empty ctx,
    // packet programs then get a zeroed context, as the kernel's
    // bpf_ctx_init (for XDP that fails: data_end must be data's size).
    bool want_ctx_out = false;
    uint32_t repeat = 1;              // 0 means 1
    uint32_t flags = 0;               // must be 0
    uint32_t cpu = 0;                 // must be 0
};

struct TestRunResult {
    uint32_t retval = 0;       // low 32 bits of r0 of the last run
    uint32_t duration_ns = 0;  // mean time of one run (saturates at UINT32_MAX)
    std::vector<std::byte> data_out{};  // the packet after the last run
    // The context after the last run: SYSCALL programs; packet programs
    // given a ctx (or asked for one, want_ctx_out): the whole __sk_buff / xdp_md.
    std::vector<std::byte> ctx_out{};
    // SYSCALL programs: the C API writes ctx_out back to ctx_in (as the kernel).
    bool ctx_to_input = false;
};

// Facts about a map (the key/value sizes a caller must use).
struct MapInfo {
    uint32_t map_type = 0;
    uint32_t key_size = 0;
    uint32_t value_size = 0;       // as created
    uint32_t host_value_size = 0;  // bytes a host lookup reads/writes (per-CPU: all slots)
    uint32_t max_entries = 0;
    uint32_t map_flags = 0;
};

// ---- Helpers the host provides ----

// Argument kinds of a host helper, checked by the verifier as the kernel
// checks its own helpers' prototypes.
enum class HelperArg : uint8_t {
    None,         // unused (and every later argument)
    Scalar,       // any initialised scalar
    ReadableMem,  // pointer to initialised memory; its size is the next argument
    WritableMem,  // pointer to memory the helper fills; its size is the next argument
    Size,         // size of the previous memory argument (> 0)
    SizeOrZero,   // size of the previous memory argument (>= 0)
    Context,      // the program's context (r1 at entry), unmodified
};
enum class HelperRet : uint8_t { Integer, Void };

struct HelperPrototype {
    std::string name;  // shown in verifier messages ("bpf_<name>")
    HelperRet ret = HelperRet::Integer;
    std::array<HelperArg, 5> args{};
    std::vector<uint32_t> prog_types{};  // BPF_PROG_TYPE_* allowed to call it; empty: every type
    bool gpl_only = false;
};

// Host helpers take numbers no kernel helper uses: 1000 to 1063. Programs
// call them as any helper: static long (*my_helper)(void *buf, __u32 n) = (void *)1000;
inline constexpr uint32_t kHostHelperFirst = 1000;
inline constexpr uint32_t kHostHelperLast = 1063;

// bpf_trace_printk / bpf_printk output line by line.
using TraceCallback = std::function<void(std::string_view program, std::string_view message)>;

namespace runtime {
class State;
}

// ---- The runtime ----

class Runtime {
public:
    Runtime();
    ~Runtime();  // closes every handle; programs and maps go with the last reference
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // BPF_MAP_CREATE. EINVAL (type, sizes, flags, name), E2BIG (sizes over
    // the type's limits), EBADF (inner_map_fd), EMFILE, ENOMEM.
    Result<MapHandle> map_create(const MapCreate& in);
    // BPF_MAP_LOOKUP_ELEM into `value`. EBADF, EINVAL (not a map; key or
    // value span of the wrong size; flags), ENOENT.
    Result<void> map_lookup_elem(const MapLookupElem& in, std::span<std::byte> value);
    // BPF_MAP_UPDATE_ELEM. EBADF, EINVAL, EEXIST, ENOENT, E2BIG, ENOMEM.
    Result<void> map_update_elem(const MapUpdateElem& in);
    // BPF_MAP_DELETE_ELEM. EBADF, EINVAL (not a map; arrays), ENOENT.
    Result<void> map_delete_elem(const MapDeleteElem& in);
    // BPF_MAP_GET_NEXT_KEY into `next_key`. EBADF, EINVAL, ENOENT (at the end).
    Result<void> map_get_next_key(const MapGetNextKey& in, std::span<std::byte> next_key);
    // BPF_MAP_LOOKUP_AND_DELETE_ELEM into `value`. EBADF, EINVAL, ENOENT, ENOTSUPP.
    Result<void> map_lookup_and_delete_elem(const MapLookupAndDeleteElem& in,
                                            std::span<std::byte> value);
    // BPF_PROG_LOAD. program's errors: EINVAL (type, flags, malformed
    // program, lddw naming a non-map), E2BIG (0 or > 1000000 insns; > 4096
    // unprivileged; the verifier's 1000000 processed instructions), EBADF
    // (lddw naming no open handle), EACCES (rejected by the verifier), EPERM
    // (unprivileged: a program type other than socket_filter, bpf-to-bpf
    // calls), ENOSPC (log over log_limit), EMFILE, ENOMEM.
    ProgLoadResult prog_load(const ProgLoad& in);
    // The privilege of loads that do not choose one (ProgLoad::privileged;
    // every load of the C API): true (the default) verifies with the
    // kernel's rules for root, false with those for unprivileged users.
    void set_privileged(bool privileged) noexcept;
    bool privileged() const noexcept;
    // The engine (and JIT constant blinding) of loads that do not choose
    // one (ProgLoad::engine, ProgLoad::constant_blinding; every load of the
    // C API). Auto and no blinding unless changed.
    void set_engine(jit::Engine engine, bool constant_blinding = false) noexcept;
    jit::Engine engine() const noexcept;
    // BPF_PROG_TEST_RUN. Context by program type (until issue 7's contexts):
    //   SOCKET_FILTER, SCHED_CLS, SCHED_ACT: r1 = pointer to a copy of
    //     `data` (read-only for socket filters), r2 = its length; LD_ABS /
    //     LD_IND read it too. data must be 14..65535 bytes; ctx must be empty.
    //   SYSCALL: r1 = pointer to a writable copy of `ctx` (<= 65535 bytes),
    //     ctx_out = the copy after the run; data must be empty, repeat <= 1.
    // EBADF, EINVAL (not a program, sizes, flags, unsupported type); run-time
    // faults of unverified programs: EFAULT (memory), EINVAL (other).
    Result<TestRunResult> prog_test_run(const TestRun& in);
    // Closes a handle (the objects live on while programs use them). EBADF.
    Result<void> close(int fd);

    // Sizes of a map, for callers preparing buffers. EBADF, EINVAL.
    Result<MapInfo> map_info(int map_fd) const;
    size_t open_handles() const;

    // Registers a helper for programs loaded afterwards (programs loaded
    // before keep the helpers they were prepared with). EINVAL: id outside
    // [kHostHelperFirst, kHostHelperLast], no function, a prototype whose
    // sizes do not follow memory arguments; EEXIST: id already registered.
    Result<void> register_helper(uint32_t id, vm::HelperFn fn, const HelperPrototype& prototype);

    // The trace stream of bpf_trace_printk (bpf_printk): with a callback set,
    // every message goes to it at once (from the thread running the
    // program); without, messages are kept (up to 1 MiB, the oldest dropped)
    // until take_trace() returns them as "program: message" lines.
    void set_trace_callback(TraceCallback callback);
    std::vector<std::string> take_trace();

    runtime::State& state() noexcept { return *state_; }
    // The C API's view of this runtime (valid as long as it lives).
    bpfrt_runtime* c_runtime() noexcept;
    static Runtime& from_c(bpfrt_runtime* rt) noexcept;

private:
    std::unique_ptr<runtime::State> state_;
};

// Reads records of BPF_MAP_TYPE_RINGBUF maps as libbpf's ring_buffer does:
// add() a map with a callback per ring, then poll() or consume(). One thread
// consumes; programs produce on any number of threads. The maps stay alive as
// long as the reader does.
class RingBufferReader {
public:
    // Return 0 to go on; non-zero stops the current poll/consume.
    using Callback = std::function<int(std::span<const std::byte> record)>;
    explicit RingBufferReader(Runtime& runtime);
    ~RingBufferReader();
    RingBufferReader(const RingBufferReader&) = delete;
    RingBufferReader& operator=(const RingBufferReader&) = delete;

    // EBADF: no such handle; EINVAL: not a ring buffer.
    Result<void> add(int map_fd, Callback callback);
    // Records consumed, or a negative callback return value.
    long consume();
    // As consume(), waiting up to timeout_ms (< 0: forever) when nothing is there.
    long poll(int timeout_ms);

private:
    struct Impl;
    Runtime& runtime_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace bpfrt
