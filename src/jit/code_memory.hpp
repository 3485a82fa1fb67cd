// Executable memory for generated code, W^X: mapped read-write, filled,
// then switched to read-execute; never writable and executable at once.
#pragma once

#include <bpfrt/error.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace bpfrt::jit {

class CodeMemory {
public:
    CodeMemory() = default;
    // Maps fresh pages, copies `code` into them and makes them read-execute.
    static Result<CodeMemory> create(std::span<const uint8_t> code);

    CodeMemory(CodeMemory&& other) noexcept;
    CodeMemory& operator=(CodeMemory&& other) noexcept;
    CodeMemory(const CodeMemory&) = delete;
    CodeMemory& operator=(const CodeMemory&) = delete;
    ~CodeMemory();

    const uint8_t* data() const noexcept { return static_cast<const uint8_t*>(base_); }
    size_t size() const noexcept { return size_; }  // bytes of code (the mapping is rounded up to pages)

private:
    void release() noexcept;
    void* base_ = nullptr;
    size_t size_ = 0;
    size_t mapped_ = 0;
};

}  // namespace bpfrt::jit
