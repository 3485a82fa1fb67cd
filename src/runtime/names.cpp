#include "runtime/names.hpp"

#include <cerrno>
#include <cstring>

namespace bpfrt::runtime {

namespace {
bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}
}  // namespace

Result<void> check_object_name(std::string_view name) {
    if (name.size() >= kObjNameLen)
        return fail(EINVAL, "name '" + std::string(name) + "' is longer than 15 characters");
    for (char c : name)
        if (!name_char(c))
            return fail(EINVAL, "name '" + std::string(name) + "' may only have letters, digits, '_' and '.'");
    return {};
}

Result<std::string> object_name(const char* raw, size_t size) {
    const size_t len = strnlen(raw, size);
    if (len == size) return fail(EINVAL, "name is not NUL-terminated within 16 bytes");
    std::string name(raw, len);
    if (auto ok = check_object_name(name); !ok) return std::unexpected(ok.error());
    return name;
}

}  // namespace bpfrt::runtime
