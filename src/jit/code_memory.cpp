#include "jit/code_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace bpfrt::jit {

Result<CodeMemory> CodeMemory::create(std::span<const uint8_t> code) {
    const long page = sysconf(_SC_PAGESIZE);
    const size_t page_size = page > 0 ? static_cast<size_t>(page) : 4096;
    const size_t mapped = (code.size() + page_size - 1) / page_size * page_size;
    if (mapped == 0) return fail(EINVAL, "no code to map");
    void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return fail(ENOMEM, std::string("cannot map JIT code memory: ") + std::strerror(errno));
    CodeMemory mem;
    mem.base_ = base;
    mem.size_ = code.size();
    mem.mapped_ = mapped;
    std::memcpy(base, code.data(), code.size());
    if (mprotect(base, mapped, PROT_READ | PROT_EXEC) != 0)
        return fail(ENOMEM, std::string("cannot make JIT code executable: ") + std::strerror(errno));
    return mem;
}

CodeMemory::CodeMemory(CodeMemory&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

CodeMemory& CodeMemory::operator=(CodeMemory&& other) noexcept {
    if (this != &other) {
        release();
        base_ = std::exchange(other.base_, nullptr);
        size_ = std::exchange(other.size_, 0);
        mapped_ = std::exchange(other.mapped_, 0);
    }
    return *this;
}

CodeMemory::~CodeMemory() { release(); }

void CodeMemory::release() noexcept {
    if (base_ != nullptr) munmap(base_, mapped_);
    base_ = nullptr;
}

}  // namespace bpfrt::jit
