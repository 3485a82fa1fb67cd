// The state behind bpfrt::ObjectFile (shared by the parser and the loader).
#pragma once

#include "loader/btf_info.hpp"

#include <bpfrt/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bpfrt {

struct ObjectFile::State {
    std::string name;
    std::string license;
    std::optional<uint32_t> kernel_version;
    std::vector<ObjectProgram> programs;
    std::vector<ObjectMap> maps;
    std::vector<GlobalVariable> globals;
    std::optional<loader::Btf> btf;  // the .BTF section, when there is one
    // Handles opened by create_maps() / load(); closed with the ObjectFile.
    std::vector<MapHandle> map_handles;
    std::vector<ProgramHandle> program_handles;
    bool maps_created = false;
    bool loaded = false;
};

namespace loader {
// Parses and links an object (object_parse.cpp).
Result<std::unique_ptr<ObjectFile::State>> parse_object(std::span<const std::byte> bytes, std::string name);
}  // namespace loader

}  // namespace bpfrt
