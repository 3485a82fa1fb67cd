// Helpers shared by the map tests.
#pragma once

#include "maps/map.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace bpfrt::maps::test {

inline std::shared_ptr<Map> make_map(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                                     uint32_t flags = 0, std::shared_ptr<Map> inner = nullptr) {
    MapSpec spec{type, key_size, value_size, max_entries, flags, std::move(inner), ""};
    auto map = create_map(spec);
    EXPECT_TRUE(map.has_value()) << (map ? "" : map.error().message);
    return map ? *map : nullptr;
}

// The errno of a create_map (0 on success).
inline int create_errno(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                        uint32_t flags = 0, std::shared_ptr<Map> inner = nullptr) {
    MapSpec spec{type, key_size, value_size, max_entries, flags, std::move(inner), ""};
    auto map = create_map(spec);
    return map ? 0 : map.error().code;
}

inline int err(const Result<void>& r) { return r ? 0 : r.error().code; }

// A stand-in program object for PROG_ARRAY tests.
class FakeProgram final : public Object {
public:
    explicit FakeProgram(uint32_t id) : id_(id) {}
    ObjectKind kind() const noexcept override { return ObjectKind::Program; }
    uint32_t id() const { return id_; }

private:
    uint32_t id_;
};

// A table of objects by handle, as the runtime's would be.
struct Handles {
    std::vector<ObjectRef> objects;
    int add(ObjectRef o) {
        objects.push_back(std::move(o));
        return static_cast<int>(objects.size() - 1);
    }
    FdResolver resolver() {
        return [this](int fd) -> Result<ObjectRef> {
            if (fd < 0 || fd >= static_cast<int>(objects.size())) return fail(EBADF, "bad handle");
            return objects[static_cast<size_t>(fd)];
        };
    }
};

}  // namespace bpfrt::maps::test
