// bpfrt::Runtime: the typed API over State, one implementation per command.
#include <bpfrt/runtime.hpp>

#include "helpers/kernel_helpers.hpp"
#include "helpers/lock_helpers.hpp"
#include "helpers/loop_helpers.hpp"
#include "helpers/map_helpers.hpp"
#include "helpers/redirect_helpers.hpp"
#include "helpers/skb_helpers.hpp"
#include "helpers/task_helpers.hpp"
#include "runtime/map_bridge.hpp"
#include "runtime/names.hpp"
#include "runtime/state.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <new>

namespace bpfrt {

// ---- Handles ----

Handle& Handle::operator=(Handle&& other) noexcept {
    if (this != &other) {
        reset();
        runtime_ = other.runtime_;
        fd_ = other.release();
    }
    return *this;
}

int Handle::release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

void Handle::reset() noexcept {
    if (fd_ >= 0 && runtime_ != nullptr) (void)runtime_->close(fd_);
    fd_ = -1;
}

namespace runtime {

State::State() : helpers(std::make_shared<vm::HelperTable>()) {
    helpers::register_map_helpers(*helpers);
    helpers::register_kernel_helpers(*helpers);
    helpers::register_redirect_helpers(*helpers);
    helpers::register_skb_helpers(*helpers);
    helpers::register_task_helpers(*helpers);
    helpers::register_lock_helpers(*helpers);
    helpers::register_loop_helpers(*helpers);
}

Result<bridge::MapRef> State::map_at(int fd) const {
    ObjectRef object = handles.get(fd);
    if (!object) return fail(EBADF, fmt::format("handle {} is not open", fd));
    if (object->kind() != ObjectKind::Map) return fail(EINVAL, fmt::format("handle {} is not a map", fd));
    return std::static_pointer_cast<bridge::MapObject>(std::move(object));
}

Result<std::shared_ptr<ProgramObject>> State::program_at(int fd) const {
    ObjectRef object = handles.get(fd);
    if (!object) return fail(EBADF, fmt::format("handle {} is not open", fd));
    if (object->kind() != ObjectKind::Program) return fail(EINVAL, fmt::format("handle {} is not a program", fd));
    return std::static_pointer_cast<ProgramObject>(std::move(object));
}

}  // namespace runtime

// ---- Runtime ----

Runtime::Runtime() : state_(std::make_unique<runtime::State>()) {}

Runtime::~Runtime() {
    state_->handles.close_all();
    // Elements the maps retired (values, program references of a program
    // array) are freed now rather than at some later reclamation, so that
    // destroying the runtime releases everything it owned.
    if (!maps::in_read_section()) maps::synchronize();
}

namespace {

// Runs `body` turning allocation failure into ENOMEM, so that no exception
// crosses the API.
template <class F>
auto guarded(F&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return fail(ENOMEM, "out of memory");
    }
}

Result<void> check_size(const char* what, size_t given, size_t wanted) {
    if (given == wanted) return {};
    return fail(EINVAL, fmt::format("{} is {} bytes, the map needs {}", what, given, wanted));
}

// The key a map command is given must have the map's key size.
Result<void> check_key(std::span<const std::byte> key, const MapInfo& info) {
    return check_size("key", key.size(), info.key_size);
}

}  // namespace

Result<MapHandle> Runtime::map_create(const MapCreate& in) {
    return guarded([&]() -> Result<MapHandle> {
        if (auto ok = runtime::check_object_name(in.name); !ok) return std::unexpected(ok.error());
        auto map = runtime::bridge::create(in, [this](int fd) { return state_->map_at(fd); });
        if (!map) return std::unexpected(map.error());
        auto fd = state_->handles.open(std::move(*map));
        if (!fd) return std::unexpected(fd.error());
        return MapHandle(*this, *fd);
    });
}

Result<void> Runtime::map_lookup_elem(const MapLookupElem& in, std::span<std::byte> value) {
    return guarded([&]() -> Result<void> {
        auto map = state_->map_at(in.map_fd);
        if (!map) return std::unexpected(map.error());
        const MapInfo info = runtime::bridge::info(**map);
        if (auto ok = check_key(in.key, info); !ok) return ok;
        if (auto ok = check_size("value buffer", value.size(), info.host_value_size); !ok) return ok;
        return runtime::bridge::lookup(**map, in.key, value, in.flags);
    });
}

Result<void> Runtime::map_update_elem(const MapUpdateElem& in) {
    return guarded([&]() -> Result<void> {
        auto map = state_->map_at(in.map_fd);
        if (!map) return std::unexpected(map.error());
        const MapInfo info = runtime::bridge::info(**map);
        if (auto ok = check_key(in.key, info); !ok) return ok;
        if (auto ok = check_size("value", in.value.size(), info.host_value_size); !ok) return ok;
        auto resolve = [this](int fd) -> Result<ObjectRef> {
            ObjectRef object = state_->handles.get(fd);
            if (!object) return fail(EBADF, fmt::format("handle {} is not open", fd));
            return object;
        };
        return runtime::bridge::update(**map, in.key, in.value, in.flags, resolve);
    });
}

Result<void> Runtime::map_delete_elem(const MapDeleteElem& in) {
    return guarded([&]() -> Result<void> {
        auto map = state_->map_at(in.map_fd);
        if (!map) return std::unexpected(map.error());
        if (auto ok = check_key(in.key, runtime::bridge::info(**map)); !ok) return ok;
        return runtime::bridge::remove(**map, in.key);
    });
}

Result<void> Runtime::map_get_next_key(const MapGetNextKey& in, std::span<std::byte> next_key) {
    return guarded([&]() -> Result<void> {
        auto map = state_->map_at(in.map_fd);
        if (!map) return std::unexpected(map.error());
        const MapInfo info = runtime::bridge::info(**map);
        if (in.key)
            if (auto ok = check_key(*in.key, info); !ok) return ok;
        if (auto ok = check_size("next_key buffer", next_key.size(), info.key_size); !ok) return ok;
        return runtime::bridge::next_key(**map, in.key, next_key);
    });
}

Result<void> Runtime::map_lookup_and_delete_elem(const MapLookupAndDeleteElem& in, std::span<std::byte> value) {
    return guarded([&]() -> Result<void> {
        auto map = state_->map_at(in.map_fd);
        if (!map) return std::unexpected(map.error());
        const MapInfo info = runtime::bridge::info(**map);
        if (auto ok = check_key(in.key, info); !ok) return ok;
        if (auto ok = check_size("value buffer", value.size(), info.host_value_size); !ok) return ok;
        return runtime::bridge::lookup_and_delete(**map, in.key, value, in.flags);
    });
}

ProgLoadResult Runtime::prog_load(const ProgLoad& in) {
    ProgLoadResult out;
    out.program = guarded([&]() -> Result<ProgramHandle> {
        auto program = state_->load(in, out.log);
        if (!program) return std::unexpected(program.error());
        auto fd = state_->handles.open(std::move(*program));
        if (!fd) return std::unexpected(fd.error());
        return ProgramHandle(*this, *fd);
    });
    return out;
}

void Runtime::set_privileged(bool privileged) noexcept { state_->privileged.store(privileged); }

bool Runtime::privileged() const noexcept { return state_->privileged.load(); }

void Runtime::set_engine(jit::Engine engine, bool constant_blinding) noexcept {
    state_->engine.store(engine);
    state_->constant_blinding.store(constant_blinding);
}

jit::Engine Runtime::engine() const noexcept { return state_->engine.load(); }

Result<TestRunResult> Runtime::prog_test_run(const TestRun& in) {
    return guarded([&]() -> Result<TestRunResult> { return state_->test_run(in); });
}

Result<void> Runtime::close(int fd) { return state_->handles.close(fd); }

Result<MapInfo> Runtime::map_info(int map_fd) const {
    auto map = state_->map_at(map_fd);
    if (!map) return std::unexpected(map.error());
    return runtime::bridge::info(**map);
}

size_t Runtime::open_handles() const { return state_->handles.open_count(); }

bpfrt_runtime* Runtime::c_runtime() noexcept { return reinterpret_cast<bpfrt_runtime*>(this); }

Runtime& Runtime::from_c(bpfrt_runtime* rt) noexcept { return *reinterpret_cast<Runtime*>(rt); }

}  // namespace bpfrt
