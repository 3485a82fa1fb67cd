// The host side of helpers: helpers the host registers, the trace stream of
// bpf_trace_printk, and the ring buffer reader.
#include "runtime/map_bridge.hpp"
#include "runtime/state.hpp"

#include "maps/ringbuf.hpp"

#include <bpfrt/runtime.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace bpfrt {

namespace {

helpers::ArgType arg_type(HelperArg arg) {
    switch (arg) {
    case HelperArg::None: return helpers::ArgType::DontCare;
    case HelperArg::Scalar: return helpers::ArgType::Anything;
    case HelperArg::ReadableMem: return helpers::ArgType::PtrToMem;
    case HelperArg::WritableMem: return helpers::ArgType::PtrToUninitMem;
    case HelperArg::Size: return helpers::ArgType::ConstSize;
    case HelperArg::SizeOrZero: return helpers::ArgType::ConstSizeOrZero;
    case HelperArg::Context: return helpers::ArgType::PtrToCtx;
    }
    return helpers::ArgType::DontCare;
}

bool is_memory(HelperArg arg) { return arg == HelperArg::ReadableMem || arg == HelperArg::WritableMem; }
bool is_size(HelperArg arg) { return arg == HelperArg::Size || arg == HelperArg::SizeOrZero; }

// Memory arguments must be followed by their size, sizes preceded by memory,
// and nothing may follow the first None.
Result<void> check_prototype(const HelperPrototype& proto) {
    bool ended = false;
    for (size_t i = 0; i < proto.args.size(); ++i) {
        const HelperArg arg = proto.args[i];
        if (arg == HelperArg::None) {
            ended = true;
            continue;
        }
        if (ended) return fail(EINVAL, fmt::format("argument {} follows an unused argument", i + 1));
        if (is_memory(arg) && (i + 1 == proto.args.size() || !is_size(proto.args[i + 1])))
            return fail(EINVAL, fmt::format("memory argument {} must be followed by its size", i + 1));
        if (is_size(arg) && (i == 0 || !is_memory(proto.args[i - 1])))
            return fail(EINVAL, fmt::format("size argument {} must follow a memory argument", i + 1));
    }
    if (proto.name.empty()) return fail(EINVAL, "a host helper needs a name");
    return {};
}

}  // namespace

Result<void> Runtime::register_helper(uint32_t id, vm::HelperFn fn, const HelperPrototype& prototype) {
    if (id < kHostHelperFirst || id > kHostHelperLast)
        return fail(EINVAL, fmt::format("host helpers take ids {} to {}, not {}", kHostHelperFirst, kHostHelperLast, id));
    if (fn == nullptr) return fail(EINVAL, "a host helper needs a function");
    if (auto ok = check_prototype(prototype); !ok) return ok;

    runtime::State& st = *state_;
    std::lock_guard lock(st.helpers_mutex);
    if (std::any_of(st.host_protos.begin(), st.host_protos.end(), [id](const auto& p) { return p.id == id; }))
        return fail(EEXIST, fmt::format("helper {} is already registered", id));
    helpers::HelperProto proto;
    proto.id = id;
    proto.name = st.host_names.emplace_back(prototype.name);
    proto.ret = prototype.ret == HelperRet::Void ? helpers::RetType::Void : helpers::RetType::Integer;
    for (size_t i = 0; i < prototype.args.size(); ++i) proto.args[i] = arg_type(prototype.args[i]);
    proto.gpl_only = prototype.gpl_only;
    if (prototype.prog_types.empty()) {
        proto.prog_types = ~uint64_t{0};
    } else {
        for (uint32_t type : prototype.prog_types)
            if (type < 64) proto.prog_types |= uint64_t{1} << type;
    }
    // Copy on write: programs loaded before keep their table.
    auto table = std::make_shared<vm::HelperTable>(*st.helpers);
    table->set(id, vm::Helper{fn, prototype.name, false});
    st.helpers = std::move(table);
    st.host_protos.push_back(proto);
    return {};
}

void Runtime::set_trace_callback(TraceCallback callback) {
    std::lock_guard lock(state_->trace_mutex);
    state_->trace_callback = std::move(callback);
}

std::vector<std::string> Runtime::take_trace() {
    std::lock_guard lock(state_->trace_mutex);
    std::vector<std::string> lines(std::make_move_iterator(state_->trace_lines.begin()),
                                   std::make_move_iterator(state_->trace_lines.end()));
    state_->trace_lines.clear();
    state_->trace_bytes = 0;
    return lines;
}

namespace runtime {

void State::trace(std::string_view program, std::string_view message) {
    std::lock_guard lock(trace_mutex);
    if (trace_callback) {
        trace_callback(program, message);
        return;
    }
    std::string line = fmt::format("{}: {}", program.empty() ? "<unnamed>" : program, message);
    trace_bytes += line.size();
    trace_lines.push_back(std::move(line));
    while (trace_bytes > kMaxTraceBytes && !trace_lines.empty()) {
        trace_bytes -= trace_lines.front().size();
        trace_lines.pop_front();
        ++trace_dropped;
    }
}

}  // namespace runtime

// ---- RingBufferReader ----

struct RingBufferReader::Impl {
    maps::RingBufferConsumer consumer;
};

RingBufferReader::RingBufferReader(Runtime& runtime) : runtime_(runtime), impl_(std::make_unique<Impl>()) {}
RingBufferReader::~RingBufferReader() = default;

Result<void> RingBufferReader::add(int map_fd, Callback callback) {
    auto map = runtime_.state().map_at(map_fd);
    if (!map) return std::unexpected(map.error());
    if ((*map)->spec().type != BPF_MAP_TYPE_RINGBUF)
        return fail(EINVAL, fmt::format("handle {} is not a ring buffer (BPF_MAP_TYPE_RINGBUF)", map_fd));
    return impl_->consumer.add(std::move(*map), [cb = std::move(callback)](const void* data, size_t size) {
        return cb(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
    });
}

long RingBufferReader::consume() { return impl_->consumer.consume(); }
long RingBufferReader::poll(int timeout_ms) { return impl_->consumer.poll(timeout_ms); }

}  // namespace bpfrt
