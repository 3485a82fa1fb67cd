// Raw bpf(2) wrappers for kernel-differential tests (see kernel_oracle.hpp).
#include "kernel_oracle.hpp"

#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <utility>
#include <vector>

namespace bpfrt::kernel {

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

int Fd::release() noexcept { return std::exchange(fd_, -1); }

namespace {

// bpf(2) returning the result or -errno.
long sys_bpf(int cmd, bpf_attr& attr) {
    long r = ::syscall(SYS_bpf, cmd, &attr, sizeof(attr));
    return r < 0 ? -errno : r;
}

uint64_t ptr_to_u64(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// The effective capability set of this thread, dropped and restored around
// one unprivileged load.
class CapabilityDrop {
public:
    CapabilityDrop() {
        header_.version = _LINUX_CAPABILITY_VERSION_3;
        header_.pid = 0;
        if (::syscall(SYS_capget, &header_, saved_) != 0) return;
        __user_cap_data_struct reduced[2];
        std::memcpy(reduced, saved_, sizeof(reduced));
        for (int cap : {CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN}) {
            reduced[cap / 32].effective &= ~(1u << (cap % 32));
        }
        ok_ = ::syscall(SYS_capset, &header_, reduced) == 0;
    }
    ~CapabilityDrop() {
        if (ok_) ::syscall(SYS_capset, &header_, saved_);
    }
    CapabilityDrop(const CapabilityDrop&) = delete;
    CapabilityDrop& operator=(const CapabilityDrop&) = delete;
    bool ok() const noexcept { return ok_; }

private:
    __user_cap_header_struct header_{};
    __user_cap_data_struct saved_[2]{};
    bool ok_ = false;
};

}  // namespace

bool kernel_bpf_available(std::string* why) {
    // The cheapest real operation: an array map of one element.
    MapResult map = create_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
    if (map.fd.valid()) return true;
    if (why) {
        *why = "the kernel refuses bpf(BPF_MAP_CREATE): " + errno_name(map.error) + " (" +
               std::strerror(map.error) + ")";
    }
    return false;
}

bool kernel_unprivileged_bpf_enabled(std::string* why) {
    std::ifstream in("/proc/sys/kernel/unprivileged_bpf_disabled");
    int value = -1;
    if (!(in >> value)) {
        if (why) *why = "cannot read /proc/sys/kernel/unprivileged_bpf_disabled";
        return false;
    }
    if (value != 0) {
        if (why) {
            *why = "kernel.unprivileged_bpf_disabled=" + std::to_string(value) +
                   ": the kernel refuses bpf() without CAP_BPF, so its unprivileged "
                   "verifier mode cannot be exercised here";
        }
        return false;
    }
    return true;
}

MapResult create_map(uint32_t map_type, uint32_t key_size, uint32_t value_size,
                     uint32_t max_entries, uint32_t map_flags, int inner_map_fd) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.map_type = map_type;
    attr.key_size = key_size;
    attr.value_size = value_size;
    attr.max_entries = max_entries;
    attr.map_flags = map_flags;
    attr.inner_map_fd = static_cast<uint32_t>(inner_map_fd);
    long r = sys_bpf(BPF_MAP_CREATE, attr);
    MapResult result;
    if (r < 0) {
        result.error = static_cast<int>(-r);
    } else {
        result.fd = Fd(static_cast<int>(r));
    }
    return result;
}

namespace {

// The kernel accepts function pointers (lddw BPF_PSEUDO_FUNC, for bpf_loop
// callbacks) only with BTF func_info: a static FUNC of a void() prototype for
// every function (the program's start, bpf-to-bpf call targets, function
// pointer targets).
struct FuncInfo {
    Fd btf;
    std::vector<bpf_func_info> funcs;
};

bool has_function_pointers(std::span<const bpf_insn> insns) {
    return std::any_of(insns.begin(), insns.end(), [](const bpf_insn& i) {
        return i.code == (BPF_LD | BPF_DW | BPF_IMM) && i.src_reg == BPF_PSEUDO_FUNC;
    });
}

FuncInfo synthesize_func_info(std::span<const bpf_insn> insns) {
    std::set<uint32_t> starts{0};
    for (size_t pc = 0; pc < insns.size(); ++pc) {
        const bpf_insn& i = insns[pc];
        const bool call = i.code == (BPF_JMP | BPF_CALL) && i.src_reg == BPF_PSEUDO_CALL;
        const bool func = i.code == (BPF_LD | BPF_DW | BPF_IMM) && i.src_reg == BPF_PSEUDO_FUNC;
        const int64_t target = static_cast<int64_t>(pc) + i.imm + 1;
        if ((call || func) && target >= 0 && target < static_cast<int64_t>(insns.size()))
            starts.insert(static_cast<uint32_t>(target));
    }
    std::vector<uint32_t> types;  // FUNC_PROTO void(), then one static FUNC per function
    std::string strings(1, '\0');
    auto info = [](uint32_t kind, uint32_t vlen) { return (kind << 24) | vlen; };
    types.insert(types.end(), {0u, info(BTF_KIND_FUNC_PROTO, 0), 0u});
    FuncInfo out;
    uint32_t type_id = 2;
    for (uint32_t start : starts) {
        const auto name_off = static_cast<uint32_t>(strings.size());
        strings += "f" + std::to_string(start);
        strings.push_back('\0');
        types.insert(types.end(), {name_off, info(BTF_KIND_FUNC, 0 /* static linkage */), 1u});
        out.funcs.push_back(bpf_func_info{start, type_id++});
    }
    btf_header hdr{};
    hdr.magic = BTF_MAGIC;
    hdr.version = BTF_VERSION;
    hdr.hdr_len = sizeof hdr;
    hdr.type_off = 0;
    hdr.type_len = static_cast<uint32_t>(types.size() * sizeof(uint32_t));
    hdr.str_off = hdr.type_len;
    hdr.str_len = static_cast<uint32_t>(strings.size());
    std::vector<uint8_t> blob(sizeof hdr + hdr.type_len + hdr.str_len);
    std::memcpy(blob.data(), &hdr, sizeof hdr);
    std::memcpy(blob.data() + sizeof hdr, types.data(), hdr.type_len);
    std::memcpy(blob.data() + sizeof hdr + hdr.type_len, strings.data(), hdr.str_len);
    bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.btf = ptr_to_u64(blob.data());
    attr.btf_size = static_cast<uint32_t>(blob.size());
    const long r = sys_bpf(BPF_BTF_LOAD, attr);
    if (r >= 0) out.btf = Fd(static_cast<int>(r));
    return out;
}

}  // namespace

LoadResult prog_load(uint32_t prog_type, std::span<const bpf_insn> insns,
                     const std::string& license, const LoadOptions& options) {
    LoadResult result;
    const FuncInfo func_info = has_function_pointers(insns) ? synthesize_func_info(insns) : FuncInfo{};
    std::string log_buf(options.log_level ? (1u << 20) : 0u, '\0');
    for (;;) {
        bpf_attr attr;
        std::memset(&attr, 0, sizeof(attr));
        attr.prog_type = prog_type;
        attr.insns = ptr_to_u64(insns.data());
        attr.insn_cnt = static_cast<uint32_t>(insns.size());
        attr.license = ptr_to_u64(license.c_str());
        attr.expected_attach_type = options.expected_attach_type;
        attr.prog_flags = options.prog_flags;
        if (func_info.btf.valid()) {
            attr.prog_btf_fd = static_cast<uint32_t>(func_info.btf.get());
            attr.func_info_rec_size = sizeof(bpf_func_info);
            attr.func_info = ptr_to_u64(func_info.funcs.data());
            attr.func_info_cnt = static_cast<uint32_t>(func_info.funcs.size());
        }
        if (options.log_level) {
            attr.log_level = options.log_level;
            attr.log_buf = ptr_to_u64(log_buf.data());
            attr.log_size = static_cast<uint32_t>(log_buf.size());
        }
        long r;
        if (options.unprivileged) {
            CapabilityDrop drop;
            r = drop.ok() ? sys_bpf(BPF_PROG_LOAD, attr) : -EPERM;
        } else {
            r = sys_bpf(BPF_PROG_LOAD, attr);
        }
        // A log that did not fit fails the load with ENOSPC: retry with more room.
        if (r == -ENOSPC && options.log_level && log_buf.size() < (256u << 20)) {
            log_buf.assign(log_buf.size() * 4, '\0');
            continue;
        }
        if (r < 0) {
            result.error = static_cast<int>(-r);
        } else {
            result.fd = Fd(static_cast<int>(r));
        }
        break;
    }
    result.log = log_buf.c_str();  // up to the terminating NUL
    return result;
}

TestRunResult test_run(int prog_fd, std::span<const uint8_t> data_in,
                       std::span<const uint8_t> ctx_in, uint32_t repeat) {
    TestRunResult result;
    result.data_out.assign(data_in.size() + 256, 0);
    bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.test.prog_fd = static_cast<uint32_t>(prog_fd);
    attr.test.data_in = ptr_to_u64(data_in.data());
    attr.test.data_size_in = static_cast<uint32_t>(data_in.size());
    attr.test.data_out = ptr_to_u64(result.data_out.data());
    attr.test.data_size_out = static_cast<uint32_t>(result.data_out.size());
    if (!ctx_in.empty()) {
        attr.test.ctx_in = ptr_to_u64(ctx_in.data());
        attr.test.ctx_size_in = static_cast<uint32_t>(ctx_in.size());
    }
    attr.test.repeat = repeat;
    long r = sys_bpf(BPF_PROG_TEST_RUN, attr);
    if (r < 0) {
        result.error = static_cast<int>(-r);
        result.data_out.clear();
        return result;
    }
    result.retval = attr.test.retval;
    result.duration_ns = attr.test.duration;
    result.data_out.resize(std::min<size_t>(attr.test.data_size_out, result.data_out.size()));
    return result;
}

int map_update(int map_fd, const void* key, const void* value, uint64_t flags) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.map_fd = static_cast<uint32_t>(map_fd);
    attr.key = ptr_to_u64(key);
    attr.value = ptr_to_u64(value);
    attr.flags = flags;
    long r = sys_bpf(BPF_MAP_UPDATE_ELEM, attr);
    return r < 0 ? static_cast<int>(-r) : 0;
}

int map_lookup(int map_fd, const void* key, void* value) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.map_fd = static_cast<uint32_t>(map_fd);
    attr.key = ptr_to_u64(key);
    attr.value = ptr_to_u64(value);
    long r = sys_bpf(BPF_MAP_LOOKUP_ELEM, attr);
    return r < 0 ? static_cast<int>(-r) : 0;
}

namespace {
struct ErrnoName {
    int value;
    const char* name;
};
constexpr ErrnoName kErrnoNames[] = {
    {EPERM, "EPERM"},   {ENOENT, "ENOENT"}, {E2BIG, "E2BIG"},   {EBADF, "EBADF"},
    {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EFAULT, "EFAULT"},
    {EBUSY, "EBUSY"},   {EEXIST, "EEXIST"}, {EINVAL, "EINVAL"}, {ENOSPC, "ENOSPC"},
    {ERANGE, "ERANGE"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {524, "ENOTSUPP"},
};
}  // namespace

std::string errno_name(int error) {
    for (const auto& e : kErrnoNames) {
        if (e.value == error) return e.name;
    }
    return "errno " + std::to_string(error);
}

int errno_from_name(const std::string& name) {
    for (const auto& e : kErrnoNames) {
        if (name == e.name) return e.value;
    }
    return 0;
}

}  // namespace bpfrt::kernel
