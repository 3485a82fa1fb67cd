#include "helpers/lock_helpers.hpp"

#include "helpers/helper_args.hpp"
#include "helpers/prototypes.hpp"
#include "maps/value_lock.hpp"

#include <atomic>
#include <string>

namespace bpfrt::helpers {

namespace {

// The lock this thread took last (verified programs hold one at a time;
// checked runs are refused a second one).
thread_local uint32_t* held_lock = nullptr;

// The lock word at `reg`, or nullptr when a checked run passes memory it
// may not write or a misaligned address.
uint32_t* lock_word(uint64_t reg, const vm::ExecContext& ctx) {
    if (!args::memory_ok(reg, sizeof(uint32_t), true, ctx)) return nullptr;
    if (reg % std::atomic_ref<uint32_t>::required_alignment != 0) return nullptr;
    return static_cast<uint32_t*>(args::as_pointer(reg));
}

uint64_t spin_lock(uint64_t lock_reg, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    uint32_t* word = lock_word(lock_reg, ctx);
    if (word == nullptr) return 0;
    if (ctx.checked && held_lock != nullptr) return 0;  // a second lock, or this one again: would deadlock
    maps::acquire_value_lock(word);
    held_lock = word;
    return 0;
}

uint64_t spin_unlock(uint64_t lock_reg, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    uint32_t* word = lock_word(lock_reg, ctx);
    if (word == nullptr || (ctx.checked && word != held_lock)) return 0;  // not this thread's lock
    if (word == held_lock) held_lock = nullptr;
    maps::release_value_lock(word);
    return 0;
}

void add(vm::HelperTable& table, uint32_t id, vm::HelperFn fn) {
    const HelperProto* proto = find_prototype(id);
    table.set(id, vm::Helper{fn, proto != nullptr ? std::string(proto->name) : std::to_string(id), false});
}

}  // namespace

void register_lock_helpers(vm::HelperTable& table) {
    add(table, BPF_FUNC_spin_lock, spin_lock);
    add(table, BPF_FUNC_spin_unlock, spin_unlock);
}

}  // namespace bpfrt::helpers
