// Small pieces shared by the map implementations (internal to src/maps).
#pragma once

#include <bpfrt/error.hpp>

#include "maps/map.hpp"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <thread>

namespace bpfrt::maps::detail {

constexpr size_t round_up8(size_t n) { return (n + 7) & ~size_t{7}; }

// A test-and-test-and-set lock for very short critical sections (a bucket,
// a queue); yields when contended so that oversubscribed threads progress.
class SpinLock {
public:
    void lock() noexcept {
        for (unsigned spins = 0;; ++spins) {
            if (!locked_.exchange(true, std::memory_order_acquire)) return;
            while (locked_.load(std::memory_order_relaxed)) {
                if (++spins > 64) std::this_thread::yield();
            }
        }
    }
    bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

// Copies between a map value (8-byte aligned, padded to a multiple of 8)
// and caller memory with 8-byte relaxed atomic accesses, so that programs'
// atomic instructions on the value never race with host copies.
inline void load_value(void* dst, const std::byte* value, size_t size) {
    auto* out = static_cast<std::byte*>(dst);
    size_t off = 0;
    for (; off + 8 <= size; off += 8) {
        const uint64_t word = __atomic_load_n(reinterpret_cast<const uint64_t*>(value + off), __ATOMIC_RELAXED);
        std::memcpy(out + off, &word, 8);
    }
    if (off < size) {
        const uint64_t word = __atomic_load_n(reinterpret_cast<const uint64_t*>(value + off), __ATOMIC_RELAXED);
        std::memcpy(out + off, &word, size - off);
    }
}

// Writes `size` bytes; the padding up to the next multiple of 8 is zeroed
// (as the kernel keeps it).
inline void store_value(std::byte* value, const void* src, size_t size) {
    const auto* in = static_cast<const std::byte*>(src);
    size_t off = 0;
    for (; off + 8 <= size; off += 8) {
        uint64_t word;
        std::memcpy(&word, in + off, 8);
        __atomic_store_n(reinterpret_cast<uint64_t*>(value + off), word, __ATOMIC_RELAXED);
    }
    if (off < size) {
        uint64_t word = 0;
        std::memcpy(&word, in + off, size - off);
        __atomic_store_n(reinterpret_cast<uint64_t*>(value + off), word, __ATOMIC_RELAXED);
    }
}

// store_value that leaves the 4-byte struct bpf_spin_lock at `lock_off`
// (4-aligned, inside the value) as it is: the kernel's copy_map_value never
// writes a held lock. lock_off < 0: a plain store_value.
inline void store_value_keep_lock(std::byte* value, const void* src, size_t size, int32_t lock_off) {
    if (lock_off < 0) return store_value(value, src, size);
    const size_t lock_word = static_cast<size_t>(lock_off) & ~size_t{7};
    const auto* in = static_cast<const std::byte*>(src);
    for (size_t off = 0; off < size; off += 8) {
        uint64_t word = 0;
        std::memcpy(&word, in + off, size - off < 8 ? size - off : 8);
        auto* slot = reinterpret_cast<uint64_t*>(value + off);
        if (off != lock_word) {
            __atomic_store_n(slot, word, __ATOMIC_RELAXED);
            continue;
        }
        // Little-endian: the lock's bytes are the low or the high half.
        const uint64_t lock_mask = (static_cast<size_t>(lock_off) & 4) != 0 ? 0xffffffff00000000ull : 0xffffffffull;
        uint64_t old = __atomic_load_n(slot, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(slot, &old, (old & lock_mask) | (word & ~lock_mask), true, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED)) {
        }
    }
}

// A fresh element's copy: the value with its lock word free (0).
inline void store_new_value(std::byte* value, const void* src, size_t size, int32_t lock_off) {
    store_value(value, src, size);
    if (lock_off >= 0) __atomic_store_n(reinterpret_cast<uint32_t*>(value + lock_off), 0u, __ATOMIC_RELAXED);
}

inline void zero_value(std::byte* value, size_t size) {
    for (size_t off = 0; off < size; off += 8) __atomic_store_n(reinterpret_cast<uint64_t*>(value + off), 0, __ATOMIC_RELAXED);
}

// A helper's -errno as a Result, with a message naming the operation.
Result<void> errno_result(long err, std::string_view what);

// Update flags of hash-like maps: BPF_ANY, BPF_NOEXIST or BPF_EXIST.
inline long check_update_flags(uint64_t flags) { return flags > BPF_EXIST ? -EINVAL : 0; }

// BPF_F_ACCESS_MASK and the checks map_create applies to every type.
inline constexpr uint32_t kAccessMask = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
inline bool access_flags_ok(uint32_t flags) {
    return (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) != (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}

bool is_percpu_type(uint32_t type);

}  // namespace bpfrt::maps::detail
