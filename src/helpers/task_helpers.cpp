#include "helpers/task_helpers.hpp"

#include "helpers/helper_args.hpp"
#include "helpers/prototypes.hpp"
#include "maps/stack_trace.hpp"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>

namespace bpfrt::helpers {

namespace {

using args::error_code;

constexpr size_t kTaskCommLen = 16;  // TASK_COMM_LEN, with the NUL

thread_local const TaskInfo* current_task = nullptr;

uint32_t thread_id() { return static_cast<uint32_t>(::syscall(SYS_gettid)); }

// ---- identity ----

uint64_t get_current_pid_tgid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext&) {
    if (const TaskInfo* task = current_task) return uint64_t{task->tgid} << 32 | task->pid;
    return uint64_t{static_cast<uint32_t>(::getpid())} << 32 | thread_id();
}

uint64_t get_current_uid_gid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext&) {
    if (const TaskInfo* task = current_task) return uint64_t{task->gid} << 32 | task->uid;
    return uint64_t{::getgid()} << 32 | ::getuid();
}

// strscpy_pad: at most size - 1 bytes of the name, then NULs to `size`.
uint64_t get_current_comm(uint64_t buf, uint64_t size, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    if (size == 0 || !args::memory_ok(buf, size, true, ctx)) return error_code(-EFAULT);
    char name[kTaskCommLen] = {};
    if (const TaskInfo* task = current_task)
        std::memcpy(name, task->comm.data(), std::min(task->comm.size(), kTaskCommLen - 1));
    else
        ::prctl(PR_GET_NAME, name);  // the thread's name, NUL-terminated within 16 bytes
    auto* out = static_cast<char*>(args::as_pointer(buf));
    const size_t len = std::min(::strnlen(name, kTaskCommLen - 1), static_cast<size_t>(size - 1));
    std::memcpy(out, name, len);
    std::memset(out + len, 0, size - len);
    return 0;
}

// ---- stacks ----

constexpr uint64_t kStackidFlags = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP |
                                   BPF_F_REUSE_STACKID;

// The kernel's bpf_get_stackid: takes at most max_depth + skip frames of
// the chain (capped at perf_event_max_stack), drops `skip`, stores the rest.
uint64_t get_stackid(uint64_t, uint64_t map_reg, uint64_t flags, uint64_t, uint64_t, vm::ExecContext& ctx) {
    if ((flags & ~kStackidFlags) != 0) return error_code(-EINVAL);
    maps::Map* map = args::map_arg(map_reg, ctx);
    if (map == nullptr || map->spec().type != BPF_MAP_TYPE_STACK_TRACE) return error_code(-EINVAL);
    auto& stacks = static_cast<maps::StackTraceMap&>(*map);
    const TaskInfo* task = current_task;
    if (task == nullptr) return error_code(-EFAULT);  // no call chain in user space
    const std::vector<uint64_t>& chain = (flags & BPF_F_USER_STACK) ? task->user_stack : task->kernel_stack;
    const size_t skip = flags & BPF_F_SKIP_FIELD_MASK;
    const size_t depth = std::min<size_t>(stacks.max_depth() + skip, maps::StackTraceMap::kMaxDepth);
    const size_t taken = std::min(chain.size(), depth);
    if (taken <= skip) return error_code(-EFAULT);  // skipping more than the usable chain
    return error_code(stacks.store(std::span(chain).subspan(skip, taken - skip), flags));
}

void add(vm::HelperTable& table, uint32_t id, vm::HelperFn fn) {
    const HelperProto* proto = find_prototype(id);
    table.set(id, vm::Helper{fn, proto != nullptr ? std::string(proto->name) : std::to_string(id), false});
}

}  // namespace

TaskInfo this_thread_task() {
    TaskInfo task;
    task.tgid = static_cast<uint32_t>(::getpid());
    task.pid = thread_id();
    task.uid = ::getuid();
    task.gid = ::getgid();
    char name[kTaskCommLen] = {};
    ::prctl(PR_GET_NAME, name);
    task.comm = name;
    return task;
}

CurrentTask::CurrentTask(TaskInfo task) : task_(std::move(task)), previous_(current_task) { current_task = &task_; }

CurrentTask::~CurrentTask() { current_task = previous_; }

void register_task_helpers(vm::HelperTable& table) {
    add(table, BPF_FUNC_get_current_pid_tgid, get_current_pid_tgid);
    add(table, BPF_FUNC_get_current_uid_gid, get_current_uid_gid);
    add(table, BPF_FUNC_get_current_comm, get_current_comm);
    add(table, BPF_FUNC_get_stackid, get_stackid);
}

}  // namespace bpfrt::helpers
