// Every example loaded into the kernel with Debian's libbpf (where the host
// permits bpf()), and accepted both there and by bpfrt.
#include <bpfrt/object.hpp>

#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <string>

namespace {

const char* const kExamples[] = {"sockex1", "globals", "subprograms", "bounded_loop", "xdp_parser"};

std::string g_libbpf_log;

int capture_libbpf(enum libbpf_print_level, const char* fmt, va_list args) {
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, fmt, args);
    g_libbpf_log += buf;
    return 0;
}

}  // namespace

TEST(Kernel, EveryExampleLoadsWithLibbpfAndBpfrt) {
    libbpf_set_print(capture_libbpf);
    for (const char* name : kExamples) {
        SCOPED_TRACE(name);
        const std::string path = std::string(BPFRT_EXAMPLE_OBJECTS) + "/" + name + ".o";
        g_libbpf_log.clear();
        bpf_object* kobj = bpf_object__open_file(path.c_str(), nullptr);
        ASSERT_NE(kobj, nullptr) << "libbpf cannot open " << path << ": " << g_libbpf_log;
        const int err = bpf_object__load(kobj);
        bpf_object__close(kobj);
        if (err == -EPERM || (err == -EACCES && g_libbpf_log.find("Operation not permitted") != std::string::npos) ||
            err == -ENOSYS) {
            GTEST_SKIP() << "the kernel refuses bpf() here (" << err << "): " << g_libbpf_log.substr(0, 300);
        }
        EXPECT_EQ(err, 0) << "the kernel rejected " << name << ":\n" << g_libbpf_log;

        auto obj = bpfrt::ObjectFile::open(path);
        ASSERT_TRUE(obj) << obj.error().message;
        for (const auto& prog : obj->programs()) {
            if (!prog.autoload) continue;
            auto verdict = obj->verify(prog);
            ASSERT_TRUE(verdict) << verdict.error().message;
            EXPECT_TRUE(verdict->accepted) << prog.name << ": " << verdict->message << "\n" << verdict->log;
        }
    }
}
