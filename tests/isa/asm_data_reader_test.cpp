// The reader of the conformance suite's .data files (tests/support).
#include "support/conformance_data.hpp"

#include <bpfrt/asm.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;

class DataReader : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::path(::testing::TempDir()) /
               ("bpfrt_data_reader_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(const std::string& name, const std::string& text) {
        const fs::path file = dir_ / name;
        std::ofstream(file) << text;
        return file;
    }

    fs::path dir_;
};

TEST_F(DataReader, ReadsEverySection) {
    const fs::path file = write("sample.data",
                                "# Copyright line\n"
                                "# SPDX-License-Identifier: MIT\n"
                                "-- asm\n"
                                "# a comment kept for the assembler\n"
                                "mov %r0, 1 # trailing\n"
                                "exit\n"
                                "-- mem\n"
                                "00 01 ff\n"
                                "aa  BB # comment\n"
                                "-- result\n"
                                "0xFFFFFFFFFFFFFFFF\n"
                                "-- raw\n"
                                "0x00000001000000b7\n"
                                "0x0000000000000095\n"
                                "-- no register offset\n"
                                "call instruction\n"
                                "-- c\n"
                                "int main() { return 0; }\n");
    auto c = read_conformance_file(file);
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->name, "sample");
    EXPECT_EQ(c->asm_text, "# a comment kept for the assembler\nmov %r0, 1 # trailing\nexit\n");
    EXPECT_EQ(c->mem, (std::vector<uint8_t>{0x00, 0x01, 0xff, 0xaa, 0xbb}));
    EXPECT_EQ(c->result, UINT64_MAX);
    EXPECT_FALSE(c->error.has_value());
    ASSERT_TRUE(c->raw.has_value());
    EXPECT_EQ(*c->raw, (std::vector<uint64_t>{0x00000001000000b7ULL, 0x95}));

    auto assembled = bpfrt::isa::assemble(c->asm_text);
    ASSERT_TRUE(assembled.has_value());
    const auto raw = insns_from_raw(*c->raw);
    ASSERT_EQ(raw.size(), 2u);
    EXPECT_EQ(raw[0].code, assembled->at(0).code);
    EXPECT_EQ(raw[0].imm, 1);
    EXPECT_EQ(raw[1].code, BPF_JMP | BPF_EXIT);
}

TEST_F(DataReader, DecimalResultErrorSectionAndMissingParts) {
    const fs::path file = write("err.data",
                                "-- asm\n"
                                "ja +5\n"
                                "-- result\n"
                                "42\n"
                                "-- error\n"
                                "# expected message\n"
                                "Bad jump\n"
                                "  out of bounds  \n");
    auto c = read_conformance_file(file);
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->result, 42u);
    EXPECT_EQ(c->error, "Bad jump\nout of bounds");
    EXPECT_TRUE(c->mem.empty());
    EXPECT_FALSE(c->raw.has_value());

    auto no_result = read_conformance_file(write("nores.data", "-- asm\nexit\n"));
    ASSERT_TRUE(no_result.has_value());
    EXPECT_FALSE(no_result->result.has_value());
}

TEST_F(DataReader, MalformedFilesAreErrorsWithTheLine) {
    auto bad_mem = read_conformance_file(write("m.data", "-- asm\nexit\n-- mem\n00 zz\n"));
    ASSERT_FALSE(bad_mem.has_value());
    EXPECT_EQ(bad_mem.error().code, EINVAL);
    EXPECT_NE(bad_mem.error().message.find("m.data:4: bad byte 'zz'"), std::string::npos)
        << bad_mem.error().message;

    auto bad_result = read_conformance_file(write("r.data", "-- result\n0xgg\n"));
    ASSERT_FALSE(bad_result.has_value());
    EXPECT_NE(bad_result.error().message.find("r.data:2: bad value '0xgg'"), std::string::npos);

    auto two_results = read_conformance_file(write("t.data", "-- result\n1\n2\n"));
    ASSERT_FALSE(two_results.has_value());

    auto missing = read_conformance_file(dir_ / "absent.data");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ENOENT);
}

TEST_F(DataReader, ListsDataFilesSorted) {
    write("b.data", "-- asm\nexit\n");
    write("a.data", "-- asm\nexit\n");
    write("notes.txt", "not a test");
    const auto files = conformance_files(dir_);
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].filename(), "a.data");
    EXPECT_EQ(files[1].filename(), "b.data");
    EXPECT_TRUE(conformance_files(dir_ / "nonexistent").empty());
}

TEST(DataReaderSuite, ReadsTheSharedSuite) {
    const fs::path dir = fs::path(BPFRT_SHARED_DIR) / "conformance";
    const auto files = conformance_files(dir);
    if (files.empty()) GTEST_SKIP() << "no conformance data in " << dir;
    size_t with_mem = 0;
    for (const fs::path& file : files) {
        auto c = read_conformance_file(file);
        ASSERT_TRUE(c.has_value()) << c.error().message;
        EXPECT_FALSE(c->asm_text.empty()) << file;
        EXPECT_TRUE(c->result.has_value() || c->error.has_value()) << file;
        EXPECT_EQ(c->asm_text.find("#include"), std::string::npos) << file << ": -- c leaked into the asm";
        if (!c->mem.empty()) ++with_mem;
        if (c->name == "lddw") {
            EXPECT_EQ(c->result, 0x1122334455667788ULL);
            ASSERT_TRUE(c->raw.has_value());
            EXPECT_EQ(c->raw->size(), 3u);
        }
        if (c->name == "be16") {
            EXPECT_EQ(c->mem, (std::vector<uint8_t>{0x11, 0x22}));
        }
    }
    EXPECT_GT(with_mem, 0u);
}

}  // namespace
