// Keys, values and globals decoded with the BTF of real clang objects
// (tests/loader/bpf/typed_maps.c, the examples): type ids per map, type
// names, every kind of value, and the fallbacks without types.
#include "elf_patch.hpp"

#include <bpfrt/object.hpp>

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <cstring>

using bpfrt::ObjectFile;
using bpfrt::TypedValue;
using loader_test::example_path;
using loader_test::test_object_path;
using Kind = TypedValue::Kind;

namespace {

ObjectFile open_or_die(const std::string& path) {
    auto obj = ObjectFile::open(path);
    if (!obj) ADD_FAILURE() << obj.error().message;
    return std::move(*obj);
}

// Little-endian bytes built field by field (not through a C++ struct, whose
// bitfield layout would be the compiler's guess at clang's).
class Bytes {
public:
    explicit Bytes(size_t n) : bytes_(n) {}
    template <class T>
    Bytes& put(size_t off, T v) {
        std::memcpy(bytes_.data() + off, &v, sizeof v);
        return *this;
    }
    Bytes& text(size_t off, const char* s) {
        std::memcpy(bytes_.data() + off, s, std::strlen(s));
        return *this;
    }
    std::span<const std::byte> span() const { return bytes_; }

private:
    std::vector<std::byte> bytes_;
};

// The type of member `member` of struct `name`, by libbpf's BTF API.
uint32_t member_type(const ObjectFile& obj, const char* name, const char* member) {
    const struct btf* b = obj.btf();
    const int id = btf__find_by_name_kind(b, name, BTF_KIND_STRUCT);
    if (id <= 0) return 0;
    const btf_type* t = btf__type_by_id(b, static_cast<uint32_t>(id));
    for (uint16_t i = 0; i < btf_vlen(t); ++i)
        if (std::strcmp(btf__name_by_offset(b, btf_members(t)[i].name_off), member) == 0) return btf_members(t)[i].type;
    return 0;
}

const TypedValue* member(const TypedValue& v, const std::string& name) {
    for (const auto& m : v.members)
        if (m.name == name) return &m;
    return nullptr;
}

// flow_key: protocol u8 @0, version:4 and ihl:4 in byte 1, ethertype u16 @2, cls enum @4.
Bytes flow_key(uint8_t protocol, uint32_t cls) {
    Bytes b(8);
    b.put<uint8_t>(0, protocol).put<uint8_t>(1, 0x54).put<uint16_t>(2, 0x0800).put<uint32_t>(4, cls);
    return b;
}

// flow_stats: total {packets, bytes} @0, label char[8] @16, bitfields u32 @24
// (low_bits:3, seen:1, :4, ttl:8), last_delta s32 @28, sizes u16[4] @32,
// any_large _Bool @40, cookie void * @48.
Bytes flow_stats(const char* label) {
    Bytes b(56);
    b.put<uint64_t>(0, 3).put<uint64_t>(8, 180).text(16, label);
    b.put<uint32_t>(24, 6U | (1U << 3) | (0xfU << 4) | (64U << 8));  // the padding bits are set: not shown
    b.put<int32_t>(28, -4);
    b.put<uint16_t>(32, 3).put<uint16_t>(38, 1);
    b.put<uint8_t>(40, 1).put<uint64_t>(48, 0xffff888000001000ULL);
    return b;
}

}  // namespace

TEST(BtfDecode, ObjectKeepsItsBtf) {
    auto obj = open_or_die(test_object_path("typed_maps"));
    ASSERT_NE(obj.btf(), nullptr);
    EXPECT_GT(btf__type_cnt(obj.btf()), 1u);
}

TEST(BtfDecode, TypeIdsAndNamesOfEveryMapStyle) {
    auto obj = open_or_die(test_object_path("typed_maps"));
    auto names = [&](const char* map) {
        const auto* m = obj.find_map(map);
        EXPECT_NE(m, nullptr) << map;
        if (!m) return std::pair<std::string, std::string>{};
        return std::pair{obj.btf_type_name(m->btf_key_type_id), obj.btf_type_name(m->btf_value_type_id)};
    };
    using P = std::pair<std::string, std::string>;
    EXPECT_EQ(names("flows"), (P{"struct flow_key", "struct flow_stats"}));
    EXPECT_EQ(names("by_class"), (P{"enum proto_class", "__u64"}));
    EXPECT_EQ(names("per_cpu"), (P{"__u32", "struct counters"}));
    EXPECT_EQ(names("lengths"), (P{"__u16", "__s64"}));  // legacy, from ____btf_map_lengths
    EXPECT_EQ(names(".bss"), (P{"", ".bss"}));          // global data: the DATASEC, as libbpf
    const auto* config = obj.find_global("config");
    ASSERT_NE(config, nullptr);
    EXPECT_TRUE(obj.btf_type_name(config->btf_type_id).ends_with("struct config")) << obj.btf_type_name(config->btf_type_id);
    EXPECT_NE(obj.btf_type_name(config->btf_type_id).find("const"), std::string::npos);

    EXPECT_EQ(obj.btf_type_name(member_type(obj, "flow_stats", "label")), "char[8]");
    EXPECT_EQ(obj.btf_type_name(member_type(obj, "flow_stats", "sizes")), "__u16[4]");
    EXPECT_EQ(obj.btf_type_name(member_type(obj, "flow_stats", "cookie")), "void *");
    EXPECT_EQ(obj.btf_type_name(0), "");
    EXPECT_EQ(obj.btf_type_name(1u << 30), "");

    // __uint(key_size/value_size, N) gives no type.
    auto sized = open_or_die(test_object_path("btf_maps"));
    const auto* m = sized.find_map("sized");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->btf_key_type_id, 0u);
    EXPECT_EQ(m->btf_value_type_id, 0u);
    const auto* mixed = sized.find_map("mixed");
    ASSERT_NE(mixed, nullptr);
    EXPECT_EQ(sized.btf_type_name(mixed->btf_key_type_id), "__u32");
    EXPECT_EQ(mixed->btf_value_type_id, 0u);
}

TEST(BtfDecode, StructKeyWithBitfieldsAndEnum) {
    auto obj = open_or_die(test_object_path("typed_maps"));
    const auto* flows = obj.find_map("flows");
    ASSERT_NE(flows, nullptr);
    const TypedValue key = obj.decode_key(*flows, flow_key(6, 6).span());
    ASSERT_EQ(key.kind, Kind::Struct);
    ASSERT_EQ(key.members.size(), 5u);
    EXPECT_EQ(key.members[1].name, "version");
    EXPECT_EQ(key.members[1].integer, 4u);
    EXPECT_EQ(key.members[2].integer, 5u);
    EXPECT_EQ(key.members[4].kind, Kind::Enum);
    EXPECT_EQ(key.members[4].text, "CLASS_TCP");
    EXPECT_EQ(to_string(key), "{protocol=6, version=4, ihl=5, ethertype=2048, cls=CLASS_TCP}");
    // A value no enumerator has: the number.
    EXPECT_EQ(to_string(obj.decode_key(*flows, flow_key(99, 99).span())),
              "{protocol=99, version=4, ihl=5, ethertype=2048, cls=99}");
}

TEST(BtfDecode, StructValueOfEveryKind) {
    auto obj = open_or_die(test_object_path("typed_maps"));
    const auto* flows = obj.find_map("flows");
    ASSERT_NE(flows, nullptr);
    const TypedValue v = obj.decode_value(*flows, flow_stats("tcp").span());
    EXPECT_EQ(to_string(v),
              "{total={packets=3, bytes=180}, label=\"tcp\", low_bits=6, seen=1, ttl=64, last_delta=-4, "
              "sizes=[3, 0, 0, 1], any_large=true, cookie=0xffff888000001000}");
    ASSERT_NE(member(v, "total"), nullptr);
    EXPECT_EQ(member(v, "total")->kind, Kind::Struct);
    EXPECT_EQ(member(v, "label")->kind, Kind::String);
    EXPECT_EQ(member(v, "last_delta")->kind, Kind::Integer);
    EXPECT_TRUE(member(v, "last_delta")->is_signed);
    EXPECT_EQ(member(v, "last_delta")->as_signed(), -4);
    EXPECT_EQ(member(v, "sizes")->kind, Kind::Array);
    EXPECT_EQ(member(v, "any_large")->kind, Kind::Bool);
    EXPECT_EQ(member(v, "cookie")->kind, Kind::Pointer);
    EXPECT_EQ(member(v, ""), nullptr);  // the unnamed padding bitfield is not a member
}

TEST(BtfDecode, CharArraysAreStringsOnlyWhenTheyHoldText) {
    auto obj = open_or_die(test_object_path("typed_maps"));
    const uint32_t label = member_type(obj, "flow_stats", "label");
    ASSERT_NE(label, 0u);
    auto decode = [&](const std::array<char, 8>& chars) {
        return obj.decode(label, std::as_bytes(std::span<const char>(chars)));
    };
    EXPECT_EQ(to_string(decode({'a', 'b', '"', '\\', 0, 0, 0, 0})), R"("ab\"\\")");
    EXPECT_EQ(to_string(decode({'f', 'u', 'l', 'l', 't', 'e', 'x', 't'})), "\"fulltext\"");  // no NUL: all 8
    EXPECT_EQ(to_string(decode({0, 0, 0, 0, 0, 0, 0, 0})), "\"\"");
    // Not text: a control character, or bytes after the NUL.
    const TypedValue control = decode({'a', 1, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(control.kind, Kind::Array);
    EXPECT_EQ(to_string(control), "[97, 1, 0, 0, 0, 0, 0, 0]");
    EXPECT_EQ(decode({'a', 0, 'b', 0, 0, 0, 0, 0}).kind, Kind::Array);
    // __u8 arrays are numbers even when printable.
    const uint32_t sizes = member_type(obj, "flow_stats", "sizes");
    EXPECT_EQ(obj.decode(sizes, Bytes(8).text(0, "ab").span()).kind, Kind::Array);
}

TEST(BtfDecode, EnumKeyedArrayAndLegacyMap) {
    auto obj = open_or_die(test_object_path("typed_maps"));
    const auto* by_class = obj.find_map("by_class");
    ASSERT_NE(by_class, nullptr);
    EXPECT_EQ(to_string(obj.decode_key(*by_class, Bytes(4).put<uint32_t>(0, 17).span())), "CLASS_UDP");
    EXPECT_EQ(to_string(obj.decode_value(*by_class, Bytes(8).put<uint64_t>(0, 943).span())), "943");
    const auto* lengths = obj.find_map("lengths");
    ASSERT_NE(lengths, nullptr);
    EXPECT_EQ(to_string(obj.decode_key(*lengths, Bytes(2).put<uint16_t>(0, 3).span())), "3");
    const TypedValue v = obj.decode_value(*lengths, Bytes(8).put<int64_t>(0, -1).span());
    EXPECT_TRUE(v.is_signed);
    EXPECT_EQ(to_string(v), "-1");
}

TEST(BtfDecode, PerCpuValueIsOneSlot) {
    auto obj = open_or_die(test_object_path("typed_maps"));
    const auto* per_cpu = obj.find_map("per_cpu");
    ASSERT_NE(per_cpu, nullptr);
    // Two CPUs' slots: decode_value reads the first value_size bytes.
    Bytes two(32);
    two.put<uint64_t>(0, 5).put<uint64_t>(8, 300).put<uint64_t>(16, 7);
    EXPECT_EQ(to_string(obj.decode_value(*per_cpu, two.span())), "{packets=5, bytes=300}");
    EXPECT_EQ(to_string(obj.decode_value(*per_cpu, two.span().subspan(16))), "{packets=7, bytes=0}");
}

TEST(BtfDecode, GlobalDataByVariableName) {
    auto obj = open_or_die(test_object_path("typed_maps"));
    auto initial = [&](const char* sec) {
        const auto* m = obj.find_map(sec);
        EXPECT_NE(m, nullptr) << sec;
        return m ? to_string(obj.decode_value(*m, m->initial)) : std::string();
    };
    EXPECT_EQ(initial(".rodata"), "{config={min_len=64, tag=\"typed\", focus=CLASS_UDP}}");
    EXPECT_EQ(initial(".data"), "{last_label=\"none\", bias=-5, ratio=0.25, magic=18364758544493064720}");
    EXPECT_EQ(initial(".bss"), "{packets_seen=0, ipv4={packets=0, bytes=0}}");

    // The example: configuration and counters by name.
    auto globals = open_or_die(example_path("globals"));
    const auto* rodata = globals.find_map(".rodata");
    ASSERT_NE(rodata, nullptr);
    // (bpf_printk's format is a static variable of the function.)
    EXPECT_EQ(to_string(globals.decode_value(*rodata, rodata->initial)),
              "{match_protocol=17, verbose=0, count_matching.____fmt=\"matched %llu of %llu packets\"}");
    // String literals have no variables: bytes.
    const auto* strings = globals.find_map(".rodata.str1.1");
    ASSERT_NE(strings, nullptr);
    EXPECT_EQ(globals.decode_value(*strings, strings->initial).kind, Kind::Bytes);
}

TEST(BtfDecode, WithoutTypesIntegersOrHex) {
    auto obj = open_or_die(test_object_path("btf_maps"));
    const auto* sized = obj.find_map("sized");
    ASSERT_NE(sized, nullptr);
    const TypedValue key = obj.decode_key(*sized, Bytes(8).put<uint64_t>(0, 42).span());
    EXPECT_EQ(key.kind, Kind::Integer);
    EXPECT_EQ(to_string(key), "42");
    Bytes value(24);
    value.put<uint8_t>(0, 0xab).put<uint8_t>(23, 0x01);
    EXPECT_EQ(to_string(obj.decode_value(*sized, value.span())), "ab0000000000000000000000000000000000000000000001");

    // A typed map given bytes of another size, or an unknown type id: untyped.
    auto typed = open_or_die(test_object_path("typed_maps"));
    const auto* flows = typed.find_map("flows");
    ASSERT_NE(flows, nullptr);
    EXPECT_EQ(typed.decode_key(*flows, Bytes(4).put<uint32_t>(0, 7).span()).kind, Kind::Integer);
    EXPECT_EQ(to_string(typed.decode(1u << 30, Bytes(3).span())), "000000");
    EXPECT_EQ(to_string(typed.decode(0, Bytes(2).put<uint16_t>(0, 513).span())), "513");
}

TEST(BtfDecode, ExamplesDecodeTheirMaps) {
    auto obj = open_or_die(example_path("count_by_protocol"));
    const auto* m = obj.find_map("packets_by_protocol");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(obj.btf_type_name(m->btf_key_type_id), "__u32");
    EXPECT_EQ(obj.btf_type_name(m->btf_value_type_id), "__u64");
    EXPECT_EQ(to_string(obj.decode_value(*m, Bytes(8).put<uint64_t>(0, 1347).span())), "1347");
    // Every example: every map's type ids name types of the map's sizes.
    for (const char* name : {"sockex1", "globals", "subprograms", "bounded_loop", "xdp_parser", "latency_hist"}) {
        auto ex = open_or_die(example_path(name));
        for (const auto& map : ex.maps()) {
            SCOPED_TRACE(std::string(name) + " " + map.name);
            const std::vector<std::byte> key(map.key_size), value(map.value_size);
            if (map.btf_key_type_id != 0) {
                EXPECT_EQ(btf__resolve_size(ex.btf(), map.btf_key_type_id), map.key_size);
            }
            if (map.btf_value_type_id != 0 && map.origin != bpfrt::MapOrigin::GlobalData) {
                EXPECT_EQ(btf__resolve_size(ex.btf(), map.btf_value_type_id), map.value_size);
            }
            EXPECT_FALSE(to_string(ex.decode_key(map, key)).empty());
            EXPECT_FALSE(to_string(ex.decode_value(map, value)).empty());
        }
    }
}

// BTF is the object's, maybe hostile: whatever libbpf accepts, decoding any
// bytes by it must stay in bounds (run under ASan/UBSan) and terminate.
TEST(BtfDecode, CorruptedBtfDecodesSafely) {
    const auto base = loader_test::read_bytes(test_object_path("typed_maps"));
    ASSERT_FALSE(base.empty());
    const loader_test::ElfPatch layout(base);
    const auto btf = layout.section(".BTF");
    ASSERT_TRUE(btf);
    const Elf64_Shdr sh = layout.shdr(*btf);
    constexpr size_t kHeader = 24;  // struct btf_header: mutate the types and strings
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    auto next = [&] {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return seed;
    };
    int opened = 0;
    for (int round = 0; round < 1500; ++round) {
        auto bytes = base;
        for (int flips = 1 + static_cast<int>(next() % 4); flips > 0; --flips) {
            const size_t at = sh.sh_offset + kHeader + next() % (sh.sh_size - kHeader);
            bytes[at] = static_cast<std::byte>(next());
        }
        auto obj = ObjectFile::open_bytes(bytes, "mutated");
        if (!obj) continue;
        ++opened;
        for (const auto& m : obj->maps()) {
            // Sizes from mutated __type()s can be anything; maps that large are never created.
            if (m.key_size > (1U << 16) || m.value_size > (1U << 16)) continue;
            for (std::byte fill : {std::byte{0}, std::byte{0xff}, std::byte{0x41}}) {
                const std::vector<std::byte> key(m.key_size, fill), value(m.value_size, fill);
                (void)to_string(obj->decode_key(m, key));
                (void)to_string(obj->decode_value(m, value));
                (void)obj->btf_type_name(m.btf_key_type_id);
                (void)obj->btf_type_name(m.btf_value_type_id);
            }
        }
        for (const auto& g : obj->globals()) {
            const std::vector<std::byte> value(g.size, std::byte{0x7f});
            (void)to_string(obj->decode(g.btf_type_id, value));
        }
    }
    RecordProperty("opened", opened);
    EXPECT_GT(opened, 0);  // some mutations keep the object valid: the decoder saw them
}
