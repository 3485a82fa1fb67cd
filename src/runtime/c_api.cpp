// The C API (bpf.h): bpfrt_bpf() decodes a union bpf_attr with the kernel's
// size rules, calls the one implementation of each command (Runtime, typed
// API) and writes the outputs back as the kernel does. The bpfrt_* wrappers
// fill an attr and call bpfrt_bpf(), as the bpf(2) man page's wrappers call
// the syscall.
#include <bpfrt/bpf.h>
#include <bpfrt/runtime.hpp>

#include "runtime/names.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>
#include <string>

namespace {

using bpfrt::Error;
using bpfrt::Runtime;

thread_local std::string t_last_error;

constexpr unsigned kPageSize = 4096;  // the kernel refuses larger attrs outright (E2BIG)

int fail_with(const Error& error) {
    t_last_error = error.message;
    errno = error.code;
    return -1;
}

int fail_with(int code, std::string message) { return fail_with(Error{code, std::move(message)}); }

int succeed(int value = 0) {
    t_last_error.clear();
    return value;
}

template <class T>
T* user_ptr(uint64_t address) {
    return reinterpret_cast<T*>(static_cast<uintptr_t>(address));
}

std::span<const std::byte> user_bytes(uint64_t address, size_t size) {
    return {user_ptr<const std::byte>(address), size};
}

// The end of the last attr field each command uses (the kernel's
// CHECK_ATTR): every byte after it must be zero.
size_t last_field_end(int cmd) {
    switch (cmd) {
    case BPF_MAP_CREATE: return offsetof(union bpf_attr, map_extra) + sizeof(uint64_t);
    case BPF_MAP_LOOKUP_ELEM:
    case BPF_MAP_UPDATE_ELEM:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM: return offsetof(union bpf_attr, flags) + sizeof(uint64_t);
    case BPF_MAP_DELETE_ELEM: return offsetof(union bpf_attr, key) + sizeof(uint64_t);
    case BPF_MAP_GET_NEXT_KEY: return offsetof(union bpf_attr, next_key) + sizeof(uint64_t);
    case BPF_PROG_LOAD: return offsetof(union bpf_attr, core_relo_rec_size) + sizeof(uint32_t);
    case BPF_PROG_TEST_RUN: return offsetof(union bpf_attr, test.batch_size) + sizeof(uint32_t);
    case BPFRT_CMD_CLOSE: return offsetof(union bpf_attr, map_fd) + sizeof(uint32_t);
    default: return 0;
    }
}

bool all_zero(const void* start, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(start);
    return std::all_of(bytes, bytes + size, [](unsigned char b) { return b == 0; });
}

// ---- Map commands ----

// The key of a map command: key_size bytes at `address`; NULL where the map
// has no keys (queue, stack). As the kernel's __bpf_copy_key.
bpfrt::Result<std::span<const std::byte>> map_key(uint64_t address, uint32_t key_size) {
    if (key_size == 0 && address != 0)
        return bpfrt::fail(EINVAL, "this map type has no keys: key must be NULL");
    if (key_size != 0 && address == 0) return bpfrt::fail(EFAULT, "key is NULL");
    return user_bytes(address, key_size);
}

int map_create(Runtime& rt, const union bpf_attr& attr) {
    if (attr.map_ifindex != 0) return fail_with(EINVAL, "map_ifindex: device offload is not supported");
    if (attr.btf_fd != 0 || attr.btf_key_type_id != 0 || attr.btf_value_type_id != 0 ||
        attr.btf_vmlinux_value_type_id != 0)
        return fail_with(EINVAL, "BTF (btf_fd, btf_*_type_id) is not supported");
    auto name = bpfrt::runtime::object_name(attr.map_name, sizeof attr.map_name);
    if (!name) return fail_with(name.error());
    bpfrt::MapCreate in;
    in.map_type = attr.map_type;
    in.key_size = attr.key_size;
    in.value_size = attr.value_size;
    in.max_entries = attr.max_entries;
    in.map_flags = attr.map_flags;
    in.inner_map_fd = static_cast<int>(attr.inner_map_fd);
    in.numa_node = attr.numa_node;
    in.name = std::move(*name);
    in.map_extra = attr.map_extra;
    auto map = rt.map_create(in);
    if (!map) return fail_with(map.error());
    return succeed(map->release());
}

int map_lookup(Runtime& rt, const union bpf_attr& attr) {
    if (attr.flags & ~uint64_t{BPF_F_LOCK}) return fail_with(EINVAL, "flags: only BPF_F_LOCK is known");
    const auto info = rt.map_info(static_cast<int>(attr.map_fd));
    if (!info) return fail_with(info.error());
    auto key = map_key(attr.key, info->key_size);
    if (!key) return fail_with(key.error());
    if (attr.value == 0) return fail_with(EFAULT, "value is NULL");
    auto done = rt.map_lookup_elem({static_cast<int>(attr.map_fd), *key, attr.flags},
                                   {user_ptr<std::byte>(attr.value), info->host_value_size});
    return done ? succeed() : fail_with(done.error());
}

int map_update(Runtime& rt, const union bpf_attr& attr) {
    const auto info = rt.map_info(static_cast<int>(attr.map_fd));
    if (!info) return fail_with(info.error());
    auto key = map_key(attr.key, info->key_size);
    if (!key) return fail_with(key.error());
    if (attr.value == 0) return fail_with(EFAULT, "value is NULL");
    auto done = rt.map_update_elem({static_cast<int>(attr.map_fd), *key,
                                    user_bytes(attr.value, info->host_value_size), attr.flags});
    return done ? succeed() : fail_with(done.error());
}

int map_delete(Runtime& rt, const union bpf_attr& attr) {
    const auto info = rt.map_info(static_cast<int>(attr.map_fd));
    if (!info) return fail_with(info.error());
    auto key = map_key(attr.key, info->key_size);
    if (!key) return fail_with(key.error());
    auto done = rt.map_delete_elem({static_cast<int>(attr.map_fd), *key});
    return done ? succeed() : fail_with(done.error());
}

int map_get_next_key(Runtime& rt, const union bpf_attr& attr) {
    const auto info = rt.map_info(static_cast<int>(attr.map_fd));
    if (!info) return fail_with(info.error());
    bpfrt::MapGetNextKey in{static_cast<int>(attr.map_fd), std::nullopt};
    if (attr.key != 0) {  // NULL: the first key
        auto key = map_key(attr.key, info->key_size);
        if (!key) return fail_with(key.error());
        in.key = *key;
    }
    if (attr.next_key == 0 && info->key_size != 0) return fail_with(EFAULT, "next_key is NULL");
    auto done = rt.map_get_next_key(in, {user_ptr<std::byte>(attr.next_key), info->key_size});
    return done ? succeed() : fail_with(done.error());
}

int map_lookup_and_delete(Runtime& rt, const union bpf_attr& attr) {
    const auto info = rt.map_info(static_cast<int>(attr.map_fd));
    if (!info) return fail_with(info.error());
    auto key = map_key(attr.key, info->key_size);
    if (!key) return fail_with(key.error());
    if (attr.value == 0) return fail_with(EFAULT, "value is NULL");
    auto done = rt.map_lookup_and_delete_elem({static_cast<int>(attr.map_fd), *key, attr.flags},
                                              {user_ptr<std::byte>(attr.value), info->host_value_size});
    return done ? succeed() : fail_with(done.error());
}

// ---- Program commands ----

// The kernel's rules for log_level, log_size and log_buf (Linux >= 6.4
// bpf_verifier_log_attr_valid; checked against 6.18).
bpfrt::Result<void> check_log_attrs(const union bpf_attr& attr) {
    if ((attr.log_buf != 0) != (attr.log_size != 0))
        return bpfrt::fail(EINVAL, "log_buf and log_size must be given together");
    if (attr.log_buf != 0 && attr.log_level == 0) return bpfrt::fail(EINVAL, "log_buf given without log_level");
    if (attr.log_level & ~BPFRT_LOG_MASK)
        return bpfrt::fail(EINVAL, "log_level has unknown bits (valid: 1, 2, 4, 8)");
    if (attr.log_size > (UINT32_MAX >> 2)) return bpfrt::fail(EINVAL, "log_size is larger than 2^30 - 1");
    return {};
}

// The part of the log that fits in log_size - 1 bytes: its end (the
// kernel's rotating log) or, with BPFRT_LOG_FIXED, its beginning.
std::string_view visible_log(std::string_view log, const union bpf_attr& attr) {
    const size_t room = attr.log_size - 1;
    if (log.size() <= room) return log;
    return (attr.log_level & BPFRT_LOG_FIXED) ? log.substr(0, room) : log.substr(log.size() - room);
}

bpfrt::Result<void> check_unsupported_load_attrs(const union bpf_attr& attr) {
    if (attr.prog_ifindex != 0) return bpfrt::fail(EINVAL, "prog_ifindex: device offload is not supported");
    if (attr.prog_btf_fd != 0 || attr.func_info_rec_size != 0 || attr.func_info != 0 ||
        attr.func_info_cnt != 0 || attr.line_info_rec_size != 0 || attr.line_info != 0 ||
        attr.line_info_cnt != 0 || attr.attach_btf_id != 0 || attr.attach_prog_fd != 0 ||
        attr.core_relo_cnt != 0 || attr.core_relos != 0 || attr.core_relo_rec_size != 0)
        return bpfrt::fail(EINVAL, "BTF, func/line info, attach targets and CO-RE relocations are not supported");
    if (attr.fd_array != 0) return bpfrt::fail(EINVAL, "fd_array is not supported");
    return {};
}

// Copies the NUL-terminated license string, at most 127 bytes as the kernel.
bpfrt::Result<std::string> license_string(uint64_t address) {
    if (address == 0) return bpfrt::fail(EFAULT, "license is NULL");
    const char* text = user_ptr<const char>(address);
    return std::string(text, strnlen(text, 127));
}

int prog_load(Runtime& rt, const union bpf_attr& attr) {
    if (auto ok = check_log_attrs(attr); !ok) return fail_with(ok.error());
    if (auto ok = check_unsupported_load_attrs(attr); !ok) return fail_with(ok.error());
    if (attr.insn_cnt == 0 || attr.insn_cnt > 1'000'000)
        return fail_with(E2BIG, "insn_cnt must be between 1 and 1000000, is " + std::to_string(attr.insn_cnt));
    if (attr.insns == 0) return fail_with(EFAULT, "insns is NULL");
    auto license = license_string(attr.license);
    if (!license) return fail_with(license.error());
    auto name = bpfrt::runtime::object_name(attr.prog_name, sizeof attr.prog_name);
    if (!name) return fail_with(name.error());

    bpfrt::ProgLoad in;
    in.prog_type = attr.prog_type;
    in.insns = {user_ptr<const bpf_insn>(attr.insns), attr.insn_cnt};
    in.license = std::move(*license);
    in.kern_version = attr.kern_version;
    in.log_level = attr.log_buf != 0 ? attr.log_level : 0;
    in.prog_flags = attr.prog_flags;
    in.expected_attach_type = attr.expected_attach_type;
    in.name = std::move(*name);
    // One byte of log_buf is the terminating NUL: a log of log_size - 1
    // bytes or more is "full" (the kernel's bpf_verifier_log_full).
    in.log_limit = attr.log_buf != 0 ? attr.log_size - 1 : 0;

    auto loaded = rt.prog_load(in);
    if (attr.log_buf != 0) {
        const std::string_view shown = visible_log(loaded.log, attr);
        char* out = user_ptr<char>(attr.log_buf);
        std::memcpy(out, shown.data(), shown.size());
        out[shown.size()] = '\0';
    }
    if (!loaded.program) return fail_with(loaded.program.error());
    return succeed(loaded.program->release());
}

// Copies `bytes` to a user buffer of `capacity` bytes (0: unknown, copy all,
// as the kernel's bpf_test_finish); false when it did not fit (ENOSPC).
bool copy_out(uint64_t address, uint32_t capacity, std::span<const std::byte> bytes) {
    size_t n = bytes.size();
    const bool fits = capacity == 0 || n <= capacity;
    if (!fits) n = capacity;
    if (address != 0 && n != 0) std::memcpy(user_ptr<void>(address), bytes.data(), n);
    return fits;
}

int prog_test_run(Runtime& rt, union bpf_attr& attr) {
    if (attr.test.data_in == 0 && attr.test.data_size_in != 0) return fail_with(EFAULT, "data_in is NULL");
    // As the kernel's bpf_prog_test_run: a context pointer and its size go together.
    if ((attr.test.ctx_in == 0) != (attr.test.ctx_size_in == 0))
        return fail_with(EINVAL, "ctx_in and ctx_size_in must both be set or both be 0");
    if ((attr.test.ctx_out == 0) != (attr.test.ctx_size_out == 0))
        return fail_with(EINVAL, "ctx_out and ctx_size_out must both be set or both be 0");
    if (attr.test.batch_size != 0) return fail_with(EINVAL, "batch_size must be 0");
    bpfrt::TestRun in;
    in.prog_fd = static_cast<int>(attr.test.prog_fd);
    in.data = user_bytes(attr.test.data_in, attr.test.data_size_in);
    in.ctx = user_bytes(attr.test.ctx_in, attr.test.ctx_size_in);
    in.want_ctx_out = attr.test.ctx_out != 0;
    in.repeat = attr.test.repeat;
    in.flags = attr.test.flags;
    in.cpu = attr.test.cpu;
    auto out = rt.prog_test_run(in);
    if (!out) return fail_with(out.error());

    bool fits = true;
    if (!out->data_out.empty()) {
        fits = copy_out(attr.test.data_out, attr.test.data_size_out, out->data_out);
        attr.test.data_size_out = static_cast<uint32_t>(out->data_out.size());
    }
    if (out->ctx_to_input) {  // SYSCALL programs: the context goes back to ctx_in
        copy_out(attr.test.ctx_in, attr.test.ctx_size_in, out->ctx_out);
    } else if (fits && attr.test.ctx_out != 0 && !out->ctx_out.empty()) {
        // As bpf_ctx_finish, once the data fitted.
        const size_t n = std::min<size_t>(out->ctx_out.size(), attr.test.ctx_size_out);
        if (n != 0) std::memcpy(user_ptr<void>(attr.test.ctx_out), out->ctx_out.data(), n);
        attr.test.ctx_size_out = static_cast<uint32_t>(out->ctx_out.size());
        fits = n == out->ctx_out.size();
    }
    attr.test.retval = out->retval;
    attr.test.duration = out->duration_ns;
    if (!fits) return fail_with(ENOSPC, "data_out or ctx_out is smaller than the output (the part that fits was copied)");
    return succeed();
}

int close_handle(Runtime& rt, const union bpf_attr& attr) {
    auto done = rt.close(static_cast<int>(attr.map_fd));
    return done ? succeed() : fail_with(done.error());
}

int dispatch(Runtime& rt, int cmd, union bpf_attr& attr) {
    switch (cmd) {
    case BPF_MAP_CREATE: return map_create(rt, attr);
    case BPF_MAP_LOOKUP_ELEM: return map_lookup(rt, attr);
    case BPF_MAP_UPDATE_ELEM: return map_update(rt, attr);
    case BPF_MAP_DELETE_ELEM: return map_delete(rt, attr);
    case BPF_MAP_GET_NEXT_KEY: return map_get_next_key(rt, attr);
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM: return map_lookup_and_delete(rt, attr);
    case BPF_PROG_LOAD: return prog_load(rt, attr);
    case BPF_PROG_TEST_RUN: return prog_test_run(rt, attr);
    case BPFRT_CMD_CLOSE: return close_handle(rt, attr);
    default: return fail_with(EINVAL, "unknown or unsupported command " + std::to_string(cmd));
    }
}

// Which attr bytes a command writes back (so that a caller's smaller attr
// is never written past `size`).
void write_back(const union bpf_attr& local, union bpf_attr* user, unsigned size) {
    std::memcpy(user, &local, std::min<size_t>(size, sizeof local));
}

}  // namespace

extern "C" {

bpfrt_runtime* bpfrt_runtime_new(void) {
    auto* rt = new (std::nothrow) Runtime();
    if (rt == nullptr) {
        errno = ENOMEM;
        return nullptr;
    }
    return rt->c_runtime();
}

void bpfrt_runtime_free(bpfrt_runtime* rt) {
    if (rt != nullptr) delete &Runtime::from_c(rt);
}

int bpfrt_runtime_set_privileged(bpfrt_runtime* rt, int privileged) {
    if (rt == nullptr) return fail_with(EINVAL, "runtime is NULL");
    Runtime::from_c(rt).set_privileged(privileged != 0);
    return 0;
}

int bpfrt_runtime_set_engine(bpfrt_runtime* rt, int engine, int constant_blinding) {
    if (rt == nullptr) return fail_with(EINVAL, "runtime is NULL");
    bpfrt::jit::Engine chosen = bpfrt::jit::Engine::Auto;
    switch (engine) {
        case BPFRT_ENGINE_AUTO: chosen = bpfrt::jit::Engine::Auto; break;
        case BPFRT_ENGINE_INTERP: chosen = bpfrt::jit::Engine::Interpreter; break;
        case BPFRT_ENGINE_JIT: chosen = bpfrt::jit::Engine::Jit; break;
        default: return fail_with(EINVAL, "engine is not a BPFRT_ENGINE_*");
    }
    Runtime::from_c(rt).set_engine(chosen, constant_blinding != 0);
    return 0;
}

int bpfrt_bpf(bpfrt_runtime* rt, int cmd, union bpf_attr* attr, unsigned size) {
    if (rt == nullptr) return fail_with(EINVAL, "runtime is NULL");
    if (attr == nullptr) return fail_with(EFAULT, "attr is NULL");
    // The kernel's size rules: a larger attr must be zero past what we know
    // (E2BIG), a smaller one is zero-extended.
    if (size > kPageSize) return fail_with(E2BIG, "attr size is larger than a page (4096)");
    if (size > sizeof(union bpf_attr) &&
        !all_zero(reinterpret_cast<const unsigned char*>(attr) + sizeof(union bpf_attr),
                  size - sizeof(union bpf_attr)))
        return fail_with(E2BIG, "attr is larger than union bpf_attr and not zero past its end");
    union bpf_attr local;
    std::memset(&local, 0, sizeof local);
    std::memcpy(&local, attr, std::min<size_t>(size, sizeof local));

    const size_t end = last_field_end(cmd);
    if (end == 0) return fail_with(EINVAL, "unknown or unsupported command " + std::to_string(cmd));
    if (!all_zero(reinterpret_cast<const unsigned char*>(&local) + end, sizeof local - end))
        return fail_with(EINVAL, "attr has non-zero bytes past the fields of command " + std::to_string(cmd));

    try {
        const int result = dispatch(Runtime::from_c(rt), cmd, local);
        if (cmd == BPF_PROG_TEST_RUN) write_back(local, attr, size);
        return result;
    } catch (const std::bad_alloc&) {
        return fail_with(ENOMEM, "out of memory");
    }
}

int bpfrt_create_map(bpfrt_runtime* rt, enum bpf_map_type type, int key_size, int value_size,
                     int max_entries) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.map_type = static_cast<uint32_t>(type);
    attr.key_size = static_cast<uint32_t>(key_size);
    attr.value_size = static_cast<uint32_t>(value_size);
    attr.max_entries = static_cast<uint32_t>(max_entries);
    return bpfrt_bpf(rt, BPF_MAP_CREATE, &attr, sizeof attr);
}

namespace {
int elem_command(bpfrt_runtime* rt, int cmd, int fd, const void* key, const void* value,
                 unsigned long long flags) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.map_fd = static_cast<uint32_t>(fd);
    attr.key = reinterpret_cast<uintptr_t>(key);
    attr.value = reinterpret_cast<uintptr_t>(value);
    attr.flags = flags;
    return bpfrt_bpf(rt, cmd, &attr, sizeof attr);
}
}  // namespace

int bpfrt_update_elem(bpfrt_runtime* rt, int fd, const void* key, const void* value,
                      unsigned long long flags) {
    return elem_command(rt, BPF_MAP_UPDATE_ELEM, fd, key, value, flags);
}

int bpfrt_lookup_elem(bpfrt_runtime* rt, int fd, const void* key, void* value) {
    return elem_command(rt, BPF_MAP_LOOKUP_ELEM, fd, key, value, 0);
}

int bpfrt_delete_elem(bpfrt_runtime* rt, int fd, const void* key) {
    return elem_command(rt, BPF_MAP_DELETE_ELEM, fd, key, nullptr, 0);
}

int bpfrt_get_next_key(bpfrt_runtime* rt, int fd, const void* key, void* next_key) {
    return elem_command(rt, BPF_MAP_GET_NEXT_KEY, fd, key, next_key, 0);
}

int bpfrt_prog_load(bpfrt_runtime* rt, enum bpf_prog_type type, const struct bpf_insn* insns,
                    int insn_cnt, const char* license, char* log_buf, unsigned log_size,
                    unsigned log_level) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.prog_type = static_cast<uint32_t>(type);
    attr.insns = reinterpret_cast<uintptr_t>(insns);
    attr.insn_cnt = static_cast<uint32_t>(insn_cnt);
    attr.license = reinterpret_cast<uintptr_t>(license);
    attr.log_buf = reinterpret_cast<uintptr_t>(log_buf);
    attr.log_size = log_size;
    attr.log_level = log_level;
    return bpfrt_bpf(rt, BPF_PROG_LOAD, &attr, sizeof attr);
}

int bpfrt_prog_test_run(bpfrt_runtime* rt, int prog_fd, int repeat, const void* data, unsigned size,
                        void* data_out, unsigned* size_out, unsigned* retval, unsigned* duration) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.test.prog_fd = static_cast<uint32_t>(prog_fd);
    attr.test.repeat = static_cast<uint32_t>(repeat);
    attr.test.data_in = reinterpret_cast<uintptr_t>(data);
    attr.test.data_size_in = size;
    attr.test.data_out = reinterpret_cast<uintptr_t>(data_out);
    attr.test.data_size_out = size_out != nullptr ? *size_out : 0;
    const int result = bpfrt_bpf(rt, BPF_PROG_TEST_RUN, &attr, sizeof attr);
    if (result != 0 && errno != ENOSPC) return result;
    if (size_out != nullptr) *size_out = attr.test.data_size_out;
    if (retval != nullptr) *retval = attr.test.retval;
    if (duration != nullptr) *duration = attr.test.duration;
    return result;
}

int bpfrt_close(bpfrt_runtime* rt, int fd) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.map_fd = static_cast<uint32_t>(fd);
    return bpfrt_bpf(rt, BPFRT_CMD_CLOSE, &attr, sizeof attr);
}

const char* bpfrt_last_error(void) { return t_last_error.c_str(); }

}  // extern "C"
