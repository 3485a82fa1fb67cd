// BPF_MAP_TYPE_PROG_ARRAY: program references for tail calls.
#include "maps/prog_array.hpp"

#include "maps/factories.hpp"
#include "maps/fd_array_check.hpp"
#include "maps/fd_slots.hpp"

#include <atomic>

namespace bpfrt::maps {

namespace {
std::atomic<ProgramIdFunction> program_id_function{nullptr};
}

void set_program_id_function(ProgramIdFunction fn) noexcept { program_id_function.store(fn); }

namespace detail {

namespace {

class ProgArray final : public Map {
public:
    explicit ProgArray(const MapSpec& spec) : Map(spec), slots_(spec.max_entries) {}

    Result<void> lookup(const void* key, void* value_out) override {
        const uint32_t index = index_of(key);
        ObjectRef prog = index < slots_.count() ? slots_.get_ref(index) : nullptr;
        if (prog == nullptr) return fail(ENOENT, "lookup: no program at this index");
        ProgramIdFunction id_of = program_id_function.load();
        if (id_of == nullptr) return fail(kENOTSUPP, "lookup: program ids are not available");
        const uint32_t id = id_of(*prog);
        std::memcpy(value_out, &id, sizeof id);
        return {};
    }

    Result<void> update(const void*, const void*, uint64_t) override {
        return fail(EBADF, "update: a program array needs a handle resolver");
    }

    Result<void> update(const void* key, const void* value, uint64_t flags, const FdResolver& resolve) override {
        if (flags != BPF_ANY) return fail(EINVAL, "update: program arrays take only BPF_ANY");
        const uint32_t index = index_of(key);
        if (index >= slots_.count()) return fail(E2BIG, "update: index out of range");
        int fd = 0;
        std::memcpy(&fd, value, sizeof fd);
        auto object = resolve(fd);
        if (!object) return std::unexpected(object.error());
        if (*object == nullptr || (*object)->kind() != ObjectKind::Program)
            return fail(EINVAL, "update: the handle is not a program");
        slots_.set(index, std::move(*object));
        return {};
    }

    Result<void> erase(const void* key) override {
        const uint32_t index = index_of(key);
        if (index >= slots_.count()) return fail(E2BIG, "delete: index out of range");
        if (!slots_.clear(index)) return fail(ENOENT, "delete: no program at this index");
        return {};
    }

    Result<void> get_next_key(const void* key, void* next_out) override {
        return array_next_key(spec_.max_entries, key, next_out);
    }

    ObjectRef prog_array_get(uint32_t index) override {
        return index < slots_.count() ? slots_.get_ref(index) : nullptr;
    }

    // As the kernel: the last handle closed empties the array, breaking
    // program -> prog array -> program cycles.
    void on_last_handle_closed() noexcept override {
        for (uint32_t i = 0; i < slots_.count(); ++i) slots_.clear(i);
    }

private:
    FdSlots slots_;
};

}  // namespace

Result<std::shared_ptr<Map>> create_prog_array(const MapSpec& spec) {
    if (auto ok = check_fd_array_spec(spec); !ok) return std::unexpected(ok.error());
    return std::make_shared<ProgArray>(spec);
}

}  // namespace detail

}  // namespace bpfrt::maps
