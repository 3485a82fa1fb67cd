// BPF_MAP_TYPE_LPM_TRIE: keys are {u32 prefixlen; u8 data[key_size - 4]}
// (data in network order, most significant bit first); lookups return the
// value of the longest stored prefix matching the key's first prefixlen
// bits. BPF_F_NO_PREALLOC is required; a full trie gives ENOSPC.
//
// Entries live in an ordered map keyed by (prefixlen, data masked to
// prefixlen), with a count per prefix length so that a lookup probes only
// lengths in use, longest first. Readers share a lock, writers take it
// exclusively; replaced or deleted entries are retired, so program value
// pointers stay valid. An entry keeps the key bytes of its last update
// (get_next_key returns them, as the kernel does).
#include "maps/factories.hpp"
#include "maps/reclaim.hpp"
#include "maps/util.hpp"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bpfrt::maps::detail {

namespace {

constexpr uint32_t kLpmFlags = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | kAccessMask;
constexpr uint32_t kLpmDataMax = 256;
constexpr uint32_t kLpmValueMax = kKmallocMaxSize - kLpmDataMax - 24;  // - sizeof(struct lpm_trie_node)

struct LpmEntry {
    std::string key;  // as last written: prefixlen + data
    std::unique_ptr<uint64_t[]> words;  // the value, 8-byte aligned
    std::byte* value() { return reinterpret_cast<std::byte*>(words.get()); }
};

class LpmTrie final : public Map {
public:
    using Map::update;
    explicit LpmTrie(const MapSpec& spec)
        : Map(spec), data_size_(spec.key_size - 4), max_prefixlen_(8 * data_size_), per_length_(max_prefixlen_ + 1, 0) {}
    ~LpmTrie() override {
        for (auto& [key, entry] : entries_) delete entry;
    }
    LpmTrie(const LpmTrie&) = delete;
    LpmTrie& operator=(const LpmTrie&) = delete;

    Result<void> lookup(const void* key, void* value_out) override {
        std::shared_lock lock(mutex_);
        LpmEntry* entry = longest_match(key);
        if (entry == nullptr) return fail(ENOENT, "lookup: no matching prefix");
        load_value(value_out, entry->value(), spec_.value_size);
        return {};
    }

    Result<void> update(const void* key, const void* value, uint64_t flags) override {
        return errno_result(prog_update(key, value, flags), "update");
    }

    Result<void> erase(const void* key) override { return errno_result(prog_delete(key), "delete"); }

    Result<void> get_next_key(const void* key, void* next_out) override {
        std::shared_lock lock(mutex_);
        auto it = entries_.begin();
        if (key != nullptr && prefixlen(key) <= max_prefixlen_) {
            auto at = entries_.find(normalized(key, prefixlen(key)));
            if (at != entries_.end()) it = std::next(at);
        }
        if (it == entries_.end()) return fail(ENOENT, "get_next_key: last element");
        std::memcpy(next_out, it->second->key.data(), spec_.key_size);
        return {};
    }

    void* prog_lookup(const void* key) override {
        std::shared_lock lock(mutex_);
        LpmEntry* entry = longest_match(key);
        return entry == nullptr ? nullptr : entry->value();
    }

    long prog_update(const void* key, const void* value, uint64_t flags) override {
        if (flags > BPF_EXIST) return -EINVAL;
        const uint32_t len = prefixlen(key);
        if (len > max_prefixlen_) return -EINVAL;
        auto* fresh = new LpmEntry{std::string(static_cast<const char*>(key), spec_.key_size),
                                   std::make_unique<uint64_t[]>(round_up8(spec_.value_size) / 8)};
        store_value(fresh->value(), value, spec_.value_size);
        std::unique_lock lock(mutex_);
        auto it = entries_.find(normalized(key, len));
        long err = 0;
        if (it != entries_.end() && flags == BPF_NOEXIST) err = -EEXIST;
        if (it == entries_.end() && flags == BPF_EXIST) err = -ENOENT;
        if (it == entries_.end() && err == 0 && entries_.size() >= spec_.max_entries) err = -ENOSPC;
        if (err != 0) {
            lock.unlock();
            delete fresh;
            return err;
        }
        if (it != entries_.end()) {
            retire_delete(it->second);
            it->second = fresh;
        } else {
            entries_.emplace(normalized(key, len), fresh);
            ++per_length_[len];
        }
        return 0;
    }

    long prog_delete(const void* key) override {
        const uint32_t len = prefixlen(key);
        if (len > max_prefixlen_) return -EINVAL;
        std::unique_lock lock(mutex_);
        auto it = entries_.find(normalized(key, len));
        if (it == entries_.end()) return -ENOENT;
        retire_delete(it->second);
        entries_.erase(it);
        --per_length_[len];
        return 0;
    }

private:
    static uint32_t prefixlen(const void* key) {
        uint32_t len = 0;
        std::memcpy(&len, key, sizeof len);
        return len;
    }

    // prefixlen + data with the bits after `len` cleared.
    std::string normalized(const void* key, uint32_t len) const {
        std::string out(static_cast<const char*>(key), spec_.key_size);
        std::memcpy(out.data(), &len, sizeof len);
        mask_data(out.data() + 4, len);
        return out;
    }

    void mask_data(char* data, uint32_t len) const {
        for (uint32_t i = 0; i < data_size_; ++i) {
            const uint32_t bits = len > 8 * i ? std::min(len - 8 * i, 8u) : 0;
            const auto mask = static_cast<unsigned char>(bits == 0 ? 0 : 0xffu << (8 - bits));
            data[i] = static_cast<char>(static_cast<unsigned char>(data[i]) & mask);
        }
    }

    // Under the lock (shared or exclusive).
    LpmEntry* longest_match(const void* key) const {
        const uint32_t len = prefixlen(key);
        if (len > max_prefixlen_) return nullptr;
        char probe[4 + kLpmDataMax];
        for (uint32_t l = len + 1; l-- > 0;) {
            if (per_length_[l] == 0) continue;
            std::memcpy(probe, key, spec_.key_size);
            std::memcpy(probe, &l, sizeof l);
            mask_data(probe + 4, l);
            auto it = entries_.find(std::string_view(probe, spec_.key_size));
            if (it != entries_.end()) return it->second;
        }
        return nullptr;
    }

    const uint32_t data_size_;
    const uint32_t max_prefixlen_;
    mutable std::shared_mutex mutex_;
    std::map<std::string, LpmEntry*, std::less<>> entries_;
    std::vector<uint32_t> per_length_;  // entries per prefix length
};

}  // namespace

Result<std::shared_ptr<Map>> create_lpm_trie(const MapSpec& spec) {
    if (spec.max_entries == 0 || !(spec.map_flags & BPF_F_NO_PREALLOC) || (spec.map_flags & ~kLpmFlags) != 0 ||
        !access_flags_ok(spec.map_flags) || spec.key_size < 4 + 1 || spec.key_size > 4 + kLpmDataMax ||
        spec.value_size < 1 || spec.value_size > kLpmValueMax)
        return fail(EINVAL, fmt::format("LPM tries need BPF_F_NO_PREALLOC, key_size 5..{}, value_size 1..{} and "
                                        "max_entries > 0",
                                        4 + kLpmDataMax, kLpmValueMax));
    return std::make_shared<LpmTrie>(spec);
}

}  // namespace bpfrt::maps::detail
