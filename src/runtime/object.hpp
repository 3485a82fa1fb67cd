// Base of every object a Runtime handle can refer to (maps, programs).
//
// Objects are shared: the handle table holds one reference per open handle,
// and a loaded program holds a reference to every map it uses, so an object
// lives until its last user lets go.
#pragma once

#include <memory>

namespace bpfrt {

enum class ObjectKind { Map, Program };

class Object : public std::enable_shared_from_this<Object> {
public:
    virtual ~Object() = default;
    virtual ObjectKind kind() const noexcept = 0;
};

using ObjectRef = std::shared_ptr<Object>;

}  // namespace bpfrt
