// The struct bpf_spin_lock inside a map value: one 4-byte word, 0 when free
// and 1 when held. Programs take it with bpf_spin_lock (helpers/lock_helpers)
// and the host with BPF_F_LOCK lookups and updates (maps); both use these
// functions so that they exclude each other.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>

namespace bpfrt::maps {

inline void acquire_value_lock(uint32_t* word) noexcept {
    std::atomic_ref<uint32_t> lock(*word);
    for (unsigned spins = 0; lock.exchange(1, std::memory_order_acquire) != 0;) {
        while (lock.load(std::memory_order_relaxed) != 0)
            if (++spins > 64) std::this_thread::yield();  // oversubscribed threads must progress
    }
}

inline void release_value_lock(uint32_t* word) noexcept {
    std::atomic_ref<uint32_t>(*word).store(0, std::memory_order_release);
}

// The lock word of a map value (8-byte aligned) whose lock is at `lock_off`.
inline uint32_t* value_lock_word(std::byte* value, int32_t lock_off) noexcept {
    return reinterpret_cast<uint32_t*>(value + lock_off);
}

// Holds a value's lock for a scope (the host's BPF_F_LOCK copies).
class ValueLockGuard {
public:
    ValueLockGuard(std::byte* value, int32_t lock_off) noexcept : word_(value_lock_word(value, lock_off)) {
        acquire_value_lock(word_);
    }
    ~ValueLockGuard() { release_value_lock(word_); }
    ValueLockGuard(const ValueLockGuard&) = delete;
    ValueLockGuard& operator=(const ValueLockGuard&) = delete;

private:
    uint32_t* word_;
};

}  // namespace bpfrt::maps
