// Error values shared by every bpfrt C++ API.
//
// Every fallible operation returns bpfrt::Result<T>: either the value or an
// Error carrying the errno the Linux bpf(2) syscall would give for the same
// failure, plus a message meant for a human.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace bpfrt {

struct Error {
    int code = 0;         // errno value (EINVAL, ENOENT, E2BIG, ...)
    std::string message;  // what went wrong, in words a user understands
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for `return fail(EINVAL, "...")` inside functions returning Result<T>.
inline std::unexpected<Error> fail(int code, std::string message) {
    return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace bpfrt
