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
