// The helpers about the task a program runs for, with the kernel's numbers
// and semantics: bpf_get_current_pid_tgid (14), bpf_get_current_uid_gid
// (15), bpf_get_current_comm (16) and bpf_get_stackid (27, into a
// BPF_MAP_TYPE_STACK_TRACE map). Their prototypes are in prototypes.cpp.
//
// In the kernel "current" is the task that hit the probe. In bpfrt it is the
// host thread running the program (getpid, gettid, getuid/getgid, the
// thread's name), unless the host describes another task for the runs it
// makes on the thread with a CurrentTask (a tracing host raising an event on
// behalf of the process it watches).
//
// The stack bpf_get_stackid stores is the call chain the CurrentTask gives
// (kernel_stack, or user_stack with BPF_F_USER_STACK), innermost frame
// first; user space has no kernel stack to walk, so without a CurrentTask
// (or with an empty chain) there is no stack and bpf_get_stackid returns
// -EFAULT, as the kernel when it cannot take one.
#pragma once

#include <bpfrt/vm.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bpfrt::helpers {

struct TaskInfo {
    uint32_t tgid = 0;  // the process id (upper half of bpf_get_current_pid_tgid)
    uint32_t pid = 0;   // the thread id (lower half)
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string comm;   // the task's name; programs see at most 15 bytes and a NUL
    std::vector<uint64_t> kernel_stack;  // instruction pointers, innermost first
    std::vector<uint64_t> user_stack;
};

// The calling thread as a task: its ids, real uid/gid and name, no stacks.
TaskInfo this_thread_task();

// While it lives, programs run on this thread see `task` as current.
// Nests: the previous one is current again when it is destroyed.
class CurrentTask {
public:
    explicit CurrentTask(TaskInfo task);
    ~CurrentTask();
    CurrentTask(const CurrentTask&) = delete;
    CurrentTask& operator=(const CurrentTask&) = delete;

private:
    TaskInfo task_;
    const TaskInfo* previous_;
};

void register_task_helpers(vm::HelperTable& table);

}  // namespace bpfrt::helpers
