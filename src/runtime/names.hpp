// Object names (map_name, prog_name): the kernel's bpf_obj_name_cpy rules.
#pragma once

#include <bpfrt/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace bpfrt::runtime {

inline constexpr size_t kObjNameLen = 16;  // BPF_OBJ_NAME_LEN, with the NUL

// A name from a fixed char array of `size` bytes: NUL-terminated within
// it, only [A-Za-z0-9_.]. EINVAL otherwise.
Result<std::string> object_name(const char* raw, size_t size);
// The same rules for a name given as a string (at most 15 characters).
Result<void> check_object_name(std::string_view name);

}  // namespace bpfrt::runtime
