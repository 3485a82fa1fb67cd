#include "verifier/reg_state.hpp"

#include "verifier/maps.hpp"

#include <fmt/format.h>

namespace bpfrt::verifier {

std::string_view type_name(RegType t) {
    switch (t) {
        case RegType::NotInit: return "?";
        case RegType::Scalar: return "scalar";
        case RegType::PtrToCtx: return "ctx";
        case RegType::PtrToStack: return "fp";
        case RegType::ConstPtrToMap: return "map_ptr";
        case RegType::PtrToMapValue: return "map_value";
        case RegType::PtrToMapValueOrNull: return "map_value_or_null";
        case RegType::PtrToPacket: return "pkt";
        case RegType::PtrToPacketMeta: return "pkt_meta";
        case RegType::PtrToPacketEnd: return "pkt_end";
        case RegType::PtrToMem: return "mem";
        case RegType::PtrToMemOrNull: return "mem_or_null";
        case RegType::PtrToSockCommonOrNull: return "sock_common_or_null";
        case RegType::PtrToSockCommon: return "sock_common";
        case RegType::PtrToFunc: return "func";
    }
    return "?";
}

bool is_pointer(RegType t) { return t != RegType::NotInit && t != RegType::Scalar; }
bool is_packet(RegType t) { return t == RegType::PtrToPacket || t == RegType::PtrToPacketMeta; }
bool maybe_null(RegType t) {
    return t == RegType::PtrToMapValueOrNull || t == RegType::PtrToMemOrNull || t == RegType::PtrToSockCommonOrNull;
}

RegType without_null(RegType t) {
    switch (t) {
        case RegType::PtrToMapValueOrNull: return RegType::PtrToMapValue;
        case RegType::PtrToMemOrNull: return RegType::PtrToMem;
        case RegType::PtrToSockCommonOrNull: return RegType::PtrToSockCommon;
        default: return t;
    }
}

std::string reg_str(const RegState& r, const MapTable* maps) {
    if (r.type == RegType::NotInit) return "?";
    if (r.type == RegType::Scalar) return r.var.str();
    if (r.type == RegType::PtrToStack && r.var.is_const()) {
        const auto off = static_cast<int64_t>(r.off) + static_cast<int64_t>(r.var.value());
        return r.frameno ? fmt::format("fp{}[{}]", off, r.frameno) : fmt::format("fp{}", off);
    }
    std::string parts;
    auto add = [&](std::string s) {
        if (!parts.empty()) parts += ',';
        parts += s;
    };
    if (r.id) add(fmt::format("id={}", r.id));
    if (r.ref_obj_id) add(fmt::format("ref_obj_id={}", r.ref_obj_id));
    if (r.off || is_packet(r.type) || r.type == RegType::PtrToMapValue || maybe_null(r.type))
        add(fmt::format("off={}", r.off));
    if (is_packet(r.type)) add(fmt::format("r={}", r.range));
    if ((r.type == RegType::ConstPtrToMap || r.type == RegType::PtrToMapValue ||
         r.type == RegType::PtrToMapValueOrNull) && maps && r.map < maps->size()) {
        const auto& m = (*maps)[r.map].info;
        add(fmt::format("ks={},vs={}", m.key_size, m.value_size));
    }
    if (r.type == RegType::PtrToMem || r.type == RegType::PtrToMemOrNull) add(fmt::format("sz={}", r.mem_size));
    if (!r.var.is_const()) add(r.var.bounds_str());
    else if (r.var.value() != 0) add(fmt::format("imm={}", static_cast<int64_t>(r.var.value())));
    return fmt::format("{}({})", type_name(r.type), parts);
}

}  // namespace bpfrt::verifier
