// BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO): key_size 0,
// values copied in and out under a spin lock (no pointers into the map).
// Push with BPF_EXIST on a full map drops the oldest element, as the
// kernel does for both types. The host side: update = push, lookup = peek,
// lookup_and_delete = pop; keys must be null (EINVAL otherwise).
#include "maps/factories.hpp"
#include "maps/util.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <mutex>

namespace bpfrt::maps::detail {

namespace {

constexpr uint32_t kQueueFlags = BPF_F_NUMA_NODE | kAccessMask;

class QueueStackMap final : public Map {
public:
    using Map::update;
    QueueStackMap(const MapSpec& spec, std::byte* storage)
        : Map(spec), stack_(spec.type == BPF_MAP_TYPE_STACK), stride_(round_up8(spec.value_size)), storage_(storage) {}
    ~QueueStackMap() override { std::free(storage_); }
    QueueStackMap(const QueueStackMap&) = delete;
    QueueStackMap& operator=(const QueueStackMap&) = delete;

    Result<void> lookup(const void* key, void* value_out) override {
        if (key != nullptr) return fail(EINVAL, "lookup: queue and stack maps take no key");
        return errno_result(prog_peek(value_out), "peek");
    }
    Result<void> update(const void* key, const void* value, uint64_t flags) override {
        if (key != nullptr) return fail(EINVAL, "update: queue and stack maps take no key");
        return errno_result(prog_push(value, flags), "push");
    }
    Result<void> lookup_and_delete(const void* key, void* value_out) override {
        if (key != nullptr) return fail(EINVAL, "pop: queue and stack maps take no key");
        return errno_result(prog_pop(value_out), "pop");
    }
    Result<void> erase(const void*) override { return fail(EINVAL, "delete: queue and stack maps have no keys"); }
    Result<void> get_next_key(const void*, void*) override {
        return fail(EINVAL, "get_next_key: queue and stack maps have no keys");
    }

    long prog_push(const void* value, uint64_t flags) override {
        if ((flags & BPF_NOEXIST) || flags > BPF_EXIST) return -EINVAL;
        std::lock_guard lock(lock_);
        if (count_ == spec_.max_entries) {
            if (flags != BPF_EXIST) return -E2BIG;
            oldest_ = next(oldest_);  // overwrite the oldest
            --count_;
        }
        std::memcpy(slot((oldest_ + count_) % spec_.max_entries), value, spec_.value_size);
        ++count_;
        return 0;
    }
    long prog_pop(void* value_out) override { return take(value_out, true); }
    long prog_peek(void* value_out) override { return take(value_out, false); }

private:
    uint32_t next(uint32_t i) const { return i + 1 == spec_.max_entries ? 0 : i + 1; }
    std::byte* slot(uint32_t i) const { return storage_ + size_t{i} * stride_; }

    long take(void* value_out, bool remove) {
        std::lock_guard lock(lock_);
        if (count_ == 0) return -ENOENT;
        const uint32_t index = stack_ ? (oldest_ + count_ - 1) % spec_.max_entries : oldest_;
        std::memcpy(value_out, slot(index), spec_.value_size);
        if (remove) {
            if (!stack_) oldest_ = next(oldest_);
            --count_;
        }
        return 0;
    }

    const bool stack_;
    const size_t stride_;
    std::byte* storage_;
    SpinLock lock_;
    uint32_t oldest_ = 0;  // index of the oldest element
    uint32_t count_ = 0;
};

}  // namespace

Result<std::shared_ptr<Map>> create_queue_stack(const MapSpec& spec) {
    if (spec.max_entries == 0 || spec.key_size != 0 || spec.value_size == 0 || (spec.map_flags & ~kQueueFlags) != 0 ||
        !access_flags_ok(spec.map_flags))
        return fail(EINVAL, "queue/stack maps need key_size 0, value_size > 0, max_entries > 0 and valid flags");
    if (spec.value_size > kKmallocMaxSize) return fail(E2BIG, "value_size is too large");
    const uint64_t bytes = uint64_t{spec.max_entries} * round_up8(spec.value_size);
    if (bytes > kMaxPreallocBytes)
        return fail(ENOMEM, fmt::format("queue of {} bytes exceeds bpfrt's limit of {} bytes", bytes, kMaxPreallocBytes));
    auto* storage = static_cast<std::byte*>(std::calloc(bytes, 1));
    if (storage == nullptr) return fail(ENOMEM, "out of memory for the queue");
    return std::make_shared<QueueStackMap>(spec, storage);
}

}  // namespace bpfrt::maps::detail
