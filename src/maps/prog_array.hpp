// BPF_MAP_TYPE_PROG_ARRAY specifics visible outside src/maps.
//
// Values are program handles: host updates resolve them with the
// FdResolver (a non-program object gives EINVAL); programs read slots with
// Map::prog_array_get(index) for tail calls. Host lookups return the
// program's id, as the kernel does, when the runtime has registered how to
// get it (set_program_id_function); otherwise kENOTSUPP. Closing the last
// handle of a PROG_ARRAY empties it (Object::on_last_handle_closed).
#pragma once

#include "runtime/object.hpp"

#include <cstdint>

namespace bpfrt::maps {

using ProgramIdFunction = uint32_t (*)(const Object& program);
void set_program_id_function(ProgramIdFunction fn) noexcept;

}  // namespace bpfrt::maps
