// BPF_MAP_TYPE_PERF_EVENT_ARRAY and its perf event buffers: map creation and
// element operations as the kernel (and against it where bpf() and
// perf_event_open() are permitted), the helper's results, the record format,
// losses, wrap-around, and producers on several threads with a consumer.
#include "maps/perf_event_array.hpp"

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace bpfrt::maps::test {
namespace {

constexpr uint32_t kPerf = BPF_MAP_TYPE_PERF_EVENT_ARRAY;

std::span<const std::byte> bytes_of(const void* p, size_t n) { return {static_cast<const std::byte*>(p), n}; }

std::shared_ptr<PerfEventBuffer> make_buffer(uint32_t cpu, size_t size = kPageSize,
                                             std::shared_ptr<PerfWakeup> wakeup = nullptr) {
    auto buffer = PerfEventBuffer::create(cpu, size, std::move(wakeup));
    EXPECT_TRUE(buffer) << (buffer ? "" : buffer.error().message);
    return buffer ? *buffer : nullptr;
}

// Everything a consume() hands out.
struct Drained {
    std::vector<std::vector<std::byte>> samples;
    std::vector<uint64_t> lost;  // in stream order, between samples
    std::vector<size_t> lost_after;  // samples before each loss
};

Drained drain(PerfEventBuffer& buffer) {
    Drained d;
    buffer.consume([&](std::span<const std::byte> s) { d.samples.emplace_back(s.begin(), s.end()); },
                   [&](uint64_t n) {
                       d.lost.push_back(n);
                       d.lost_after.push_back(d.samples.size());
                   });
    return d;
}

std::vector<std::byte> to_bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
}

// The map with one buffer (for this thread's CPU slot) in slot `index`.
struct OneSlot {
    std::shared_ptr<Map> map;
    std::shared_ptr<PerfEventBuffer> buffer;
    PerfEventArray& array() { return static_cast<PerfEventArray&>(*map); }
};

OneSlot one_slot(uint32_t index, uint32_t max_entries, size_t size = kPageSize) {
    OneSlot s{make_map(kPerf, 4, 4, max_entries), make_buffer(current_cpu_slot(), size)};
    Handles handles;
    const int fd = handles.add(s.buffer);
    EXPECT_EQ(err(s.map->update(&index, &fd, BPF_ANY, handles.resolver())), 0);
    return s;
}

// ---- Creation and host element operations ----

TEST(PerfEventArray, CreateChecksAsTheKernel) {
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2), 0);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 100), 0);  // more slots than CPUs is fine
    EXPECT_EQ(create_errno(kPerf, 4, 4, 0), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 0, 4, 2), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 8, 4, 2), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 4, 0, 2), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 4, 8, 2), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2, BPF_F_NUMA_NODE), 0);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2, BPF_F_PRESERVE_ELEMS), 0);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2, BPF_F_RDONLY), 0);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2, BPF_F_RDONLY_PROG), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2, BPF_F_WRONLY_PROG), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2, BPF_F_MMAPABLE), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2, BPF_F_INNER_MAP), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2, BPF_F_NO_PREALLOC), EINVAL);
    EXPECT_EQ(create_errno(kPerf, 4, 4, 2, BPF_F_RDONLY | BPF_F_WRONLY), EINVAL);
    // Other arrays still refuse BPF_F_PRESERVE_ELEMS.
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY, 4, 4, 2, BPF_F_PRESERVE_ELEMS), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2, BPF_F_PRESERVE_ELEMS), EINVAL);
}

TEST(PerfEventArray, HostElementOperations) {
    auto map = make_map(kPerf, 4, 4, 2);
    ASSERT_TRUE(map);
    Handles handles;
    const int buffer_fd = handles.add(make_buffer(0));
    const int program_fd = handles.add(std::make_shared<FakeProgram>(1));
    const int map_fd = handles.add(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1));
    const auto resolve = handles.resolver();
    uint32_t key = 0, value = 0, next = 7;

    EXPECT_EQ(err(map->lookup(&key, &value)), kENOTSUPP);
    EXPECT_EQ(err(map->lookup_and_delete(&key, &value)), kENOTSUPP);
    EXPECT_EQ(err(map->erase(&key)), ENOENT);  // empty slot
    EXPECT_EQ(err(map->update(&key, &buffer_fd, BPF_NOEXIST, resolve)), EINVAL);
    EXPECT_EQ(err(map->update(&key, &buffer_fd, BPF_EXIST, resolve)), EINVAL);
    EXPECT_EQ(err(map->update(&key, &program_fd, BPF_ANY, resolve)), EBADF);  // not a perf event
    EXPECT_EQ(err(map->update(&key, &map_fd, BPF_ANY, resolve)), EBADF);
    const int closed = 99;
    EXPECT_EQ(err(map->update(&key, &closed, BPF_ANY, resolve)), EBADF);
    EXPECT_EQ(err(map->update(&key, &buffer_fd, BPF_ANY)), EBADF);  // no resolver
    EXPECT_EQ(err(map->update(&key, &buffer_fd, BPF_ANY, resolve)), 0);
    EXPECT_EQ(err(map->update(&key, &buffer_fd, BPF_ANY, resolve)), 0);  // replaces
    EXPECT_EQ(err(map->lookup(&key, &value)), kENOTSUPP);              // even when set
    key = 2;
    EXPECT_EQ(err(map->update(&key, &buffer_fd, BPF_ANY, resolve)), E2BIG);
    EXPECT_EQ(err(map->erase(&key)), E2BIG);
    EXPECT_EQ(err(map->get_next_key(nullptr, &next)), 0);
    EXPECT_EQ(next, 0u);
    key = 0;
    EXPECT_EQ(err(map->get_next_key(&key, &next)), 0);
    EXPECT_EQ(next, 1u);
    key = 1;
    EXPECT_EQ(err(map->get_next_key(&key, &next)), ENOENT);
    key = 0;
    EXPECT_EQ(err(map->erase(&key)), 0);
    EXPECT_EQ(err(map->erase(&key)), ENOENT);
}

TEST(PerfEventArray, LastHandleClosedEmptiesTheSlotsUnlessPreserveElems) {
    for (uint32_t flags : {0u, uint32_t{BPF_F_PRESERVE_ELEMS}}) {
        auto map = make_map(kPerf, 4, 4, 2, flags);
        ASSERT_TRUE(map);
        auto& array = static_cast<PerfEventArray&>(*map);
        Handles handles;
        const int fd = handles.add(make_buffer(0));
        const uint32_t key = 1;
        ASSERT_EQ(err(map->update(&key, &fd, BPF_ANY, handles.resolver())), 0);
        map->on_last_handle_closed();
        EXPECT_EQ(array.buffer(1) != nullptr, flags != 0) << flags;
    }
}

TEST(PerfEventArray, ClearIfRemovesOnlyTheExpectedBuffer) {
    OneSlot s = one_slot(0, 1);
    auto other = make_buffer(0);
    s.array().clear_if(0, other.get());
    EXPECT_EQ(s.array().buffer(0), s.buffer);
    s.array().clear_if(0, s.buffer.get());
    EXPECT_EQ(s.array().buffer(0), nullptr);
    s.array().clear_if(5, s.buffer.get());  // out of range: nothing
}

// ---- The helper's results and the record format ----

TEST(PerfEventArray, OutputIndexAndSlotErrors) {
    const unsigned cpu = current_cpu_slot();
    OneSlot s = one_slot(cpu, cpu + 2);
    const uint32_t word = 0x55667788;
    const auto data = bytes_of(&word, sizeof word);
    EXPECT_EQ(s.array().output(BPF_F_CURRENT_CPU, data), 0);
    EXPECT_EQ(s.array().output(cpu, data), 0);
    EXPECT_EQ(s.array().output(cpu + 1, data), -ENOENT);     // empty slot
    EXPECT_EQ(s.array().output(cpu + 2, data), -E2BIG);      // past max_entries
    EXPECT_EQ(s.array().output(0xfffffffeu, data), -E2BIG);
    EXPECT_EQ(drain(*s.buffer).samples.size(), 2u);
    // A buffer of another CPU slot: the kernel's -EOPNOTSUPP (event->oncpu != cpu).
    if (possible_cpus() < 2) GTEST_SKIP() << "one CPU slot: no other slot to test -EOPNOTSUPP with";
    auto foreign = make_buffer((cpu + 1) % possible_cpus());
    Handles handles;
    const int fd = handles.add(foreign);
    const uint32_t key = cpu + 1;
    ASSERT_EQ(err(s.map->update(&key, &fd, BPF_ANY, handles.resolver())), 0);
    EXPECT_EQ(s.array().output(cpu + 1, data), -EOPNOTSUPP);
    EXPECT_FALSE(foreign->has_data());
}

// Raw sizes and padding as a 6.18 kernel writes them (checked with
// BPF_PROG_TEST_RUN and a perf_event_open ring): 5 bytes -> 12, 16 -> 20, 0 -> 4.
TEST(PerfEventArray, SampleRawSizeIsPaddedAsTheKernels) {
    auto buffer = make_buffer(current_cpu_slot());
    const std::array<uint8_t, 16> v{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                                    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    EXPECT_EQ(buffer->output(bytes_of(v.data(), 5)), 0);
    EXPECT_EQ(buffer->output(bytes_of(v.data(), 16)), 0);
    EXPECT_EQ(buffer->output({}), 0);
    const uint8_t extra[3] = {0xa, 0xb, 0xc};
    EXPECT_EQ(buffer->output(bytes_of(v.data(), 4), bytes_of(extra, 3)), 0);
    const Drained d = drain(*buffer);
    ASSERT_EQ(d.samples.size(), 4u);
    EXPECT_EQ(d.samples[0], to_bytes({0x88, 0x77, 0x66, 0x55, 0x44, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(d.samples[1].size(), 20u);
    EXPECT_EQ(std::memcmp(d.samples[1].data(), v.data(), 16), 0);
    EXPECT_EQ(d.samples[2], to_bytes({0, 0, 0, 0}));
    EXPECT_EQ(d.samples[3], to_bytes({0x88, 0x77, 0x66, 0x55, 0xa, 0xb, 0xc, 0, 0, 0, 0, 0}));
    EXPECT_TRUE(d.lost.empty());
    EXPECT_FALSE(buffer->has_data());
}

// One page holds 255 records of 16 bytes (one byte always stays free, as the
// kernel's CIRC_SPACE); the 45 beyond are lost, and the next sample that fits
// is preceded by a PERF_RECORD_LOST of 45, as a 6.18 kernel does.
TEST(PerfEventArray, FullBufferCountsLostRecordsAsTheKernel) {
    auto buffer = make_buffer(current_cpu_slot());
    const uint32_t word = 7;
    int ok = 0, nospc = 0;
    for (int i = 0; i < 300; ++i) {
        const long r = buffer->output(bytes_of(&word, 4));
        if (r == 0) ++ok;
        if (r == -ENOSPC) ++nospc;
    }
    EXPECT_EQ(ok, 255);
    EXPECT_EQ(nospc, 45);
    EXPECT_EQ(buffer->lost_total(), 45u);
    // Drained while the losses are still pending: they follow every sample.
    Drained d = drain(*buffer);
    EXPECT_EQ(d.samples.size(), 255u);
    ASSERT_EQ(d.lost, std::vector<uint64_t>{45});
    EXPECT_EQ(d.lost_after, std::vector<size_t>{255});
    // Losses then a sample: the PERF_RECORD_LOST comes first in the ring.
    for (int i = 0; i < 255; ++i) ASSERT_EQ(buffer->output(bytes_of(&word, 4)), 0);
    EXPECT_EQ(buffer->output(bytes_of(&word, 4)), -ENOSPC);
    d = drain(*buffer);
    EXPECT_EQ(d.samples.size(), 255u);
    ASSERT_EQ(d.lost, std::vector<uint64_t>{1});
    EXPECT_EQ(buffer->output(bytes_of(&word, 4)), 0);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(buffer->output(std::span<const std::byte>(), {}), 0);
    d = drain(*buffer);
    EXPECT_EQ(d.samples.size(), 4u);
    EXPECT_TRUE(d.lost.empty());
    EXPECT_EQ(buffer->lost_total(), 46u);
}

// While the consumer is at the second of four 1016-byte records (the
// first one's room free again) a producer writes after two losses: the ring
// gets a PERF_RECORD_LOST of 2, then the sample.
TEST(PerfEventArray, LostRecordPrecedesTheNextSampleInTheStream) {
    auto buffer = make_buffer(current_cpu_slot());
    const std::vector<uint8_t> big(1000, 0xab);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(buffer->output(bytes_of(big.data(), big.size())), 0);
    EXPECT_EQ(buffer->output(bytes_of(big.data(), big.size())), -ENOSPC);
    EXPECT_EQ(buffer->output(bytes_of(big.data(), big.size())), -ENOSPC);
    const uint32_t word = 42;
    int seen = 0;
    long during = 1;
    std::vector<uint64_t> lost;
    buffer->consume(
        [&](std::span<const std::byte>) {
            if (++seen == 2) during = buffer->output(bytes_of(&word, sizeof word));
        },
        [&](uint64_t n) { lost.push_back(n); });
    EXPECT_EQ(during, 0);
    EXPECT_EQ(seen, 4);
    EXPECT_TRUE(lost.empty());  // not reported at the end: the new record carries them
    const Drained d = drain(*buffer);
    EXPECT_EQ(d.lost, std::vector<uint64_t>{2});
    EXPECT_EQ(d.lost_after, std::vector<size_t>{0});
    ASSERT_EQ(d.samples.size(), 1u);
    EXPECT_EQ(d.samples[0], to_bytes({42, 0, 0, 0}));
    EXPECT_EQ(buffer->lost_total(), 2u);
}

TEST(PerfEventArray, RecordsTooLargeAreLost) {
    auto buffer = make_buffer(current_cpu_slot(), 32 * kPageSize);
    std::vector<std::byte> data(PerfEventBuffer::kMaxSampleData + 1);
    EXPECT_EQ(buffer->output(data), -ENOSPC);  // over the perf header's 16-bit size
    data.resize(PerfEventBuffer::kMaxSampleData);
    EXPECT_EQ(buffer->output(data), 0);
    auto small = make_buffer(current_cpu_slot());
    data.resize(kPageSize);
    EXPECT_EQ(small->output(data), -ENOSPC);  // larger than the whole ring
    const Drained d = drain(*buffer);
    ASSERT_EQ(d.samples.size(), 1u);
    EXPECT_EQ(d.samples[0].size(), PerfEventBuffer::kMaxSampleData);  // a record of 8 + 4 + 65516 = 65528 bytes
    EXPECT_EQ(d.lost, std::vector<uint64_t>{1});
    EXPECT_EQ(drain(*small).lost, std::vector<uint64_t>{1});
}

TEST(PerfEventArray, RecordsWrappingAroundTheEndArriveWhole) {
    auto buffer = make_buffer(current_cpu_slot());
    // 100-byte payloads: 112-byte records, so positions drift across the end.
    for (uint32_t i = 0; i < 200; ++i) {
        std::array<uint32_t, 25> payload;
        payload.fill(i);
        ASSERT_EQ(buffer->output(bytes_of(payload.data(), sizeof payload)), 0) << i;
        const Drained d = drain(*buffer);
        ASSERT_EQ(d.samples.size(), 1u);
        ASSERT_EQ(d.samples[0].size(), 100u);  // 100 + 4 is 8-aligned: no padding
        ASSERT_EQ(std::memcmp(d.samples[0].data(), payload.data(), sizeof payload), 0) << i;
    }
}

TEST(PerfEventArray, BufferSizesAreChecked) {
    EXPECT_EQ(PerfEventBuffer::create(0, 0, nullptr).error().code, EINVAL);
    EXPECT_EQ(PerfEventBuffer::create(0, 3 * kPageSize, nullptr).error().code, EINVAL);
    EXPECT_EQ(PerfEventBuffer::create(0, 2048, nullptr).error().code, EINVAL);
    EXPECT_EQ(PerfEventBuffer::create(0, PerfEventBuffer::kMaxDataSize * 2, nullptr).error().code, EINVAL);
    EXPECT_TRUE(PerfEventBuffer::create(0, 2 * kPageSize, nullptr));
}

// ---- Producers on several threads, one consumer ----

// Each producer thread writes records {thread, sequence} through the map with
// BPF_F_CURRENT_CPU, into the buffer of its CPU slot; one consumer thread
// waits on the shared wakeup and drains every buffer. Every record arrives
// once, in order per thread, or is counted lost.
TEST(PerfEventArray, ProducersOnSeveralThreadsAndAConsumer) {
    const uint32_t slots = possible_cpus();
    auto map = make_map(kPerf, 4, 4, slots);
    ASSERT_TRUE(map);
    auto& array = static_cast<PerfEventArray&>(*map);
    auto wakeup = std::make_shared<PerfWakeup>();
    std::vector<std::shared_ptr<PerfEventBuffer>> buffers;
    Handles handles;
    for (uint32_t cpu = 0; cpu < slots; ++cpu) {
        buffers.push_back(make_buffer(cpu, 2 * kPageSize, wakeup));
        const int fd = handles.add(buffers.back());
        ASSERT_EQ(err(map->update(&cpu, &fd, BPF_ANY, handles.resolver())), 0);
    }
    constexpr int kThreads = 4;
    constexpr uint32_t kRecords = 5000;
    std::atomic<int> running{kThreads};
    std::atomic<uint64_t> refused{0};
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t) {
        producers.emplace_back([&, t] {
            for (uint32_t seq = 0; seq < kRecords; ++seq) {
                const uint32_t record[2] = {static_cast<uint32_t>(t), seq};
                const long r = array.output(BPF_F_CURRENT_CPU, bytes_of(record, sizeof record));
                if (r == -ENOSPC) refused.fetch_add(1, std::memory_order_relaxed);
                else EXPECT_EQ(r, 0);
                if (seq % 64 == 0) std::this_thread::yield();
            }
            running.fetch_sub(1);
        });
    }
    std::vector<int64_t> last(kThreads, -1);
    uint64_t received = 0, lost = 0;
    bool in_order = true;
    auto consume_all = [&] {
        for (auto& b : buffers) {
            b->consume(
                [&](std::span<const std::byte> s) {
                    uint32_t record[2];
                    std::memcpy(record, s.data(), sizeof record);
                    if (static_cast<int64_t>(record[1]) <= last[record[0]]) in_order = false;
                    last[record[0]] = record[1];
                    ++received;
                },
                [&](uint64_t n) { lost += n; });
        }
    };
    auto any_data = [&] {
        for (auto& b : buffers)
            if (b->has_data()) return true;
        return false;
    };
    while (running.load() > 0) {
        consume_all();
        wakeup->waiters.fetch_add(1, std::memory_order_seq_cst);
        {
            std::unique_lock lock(wakeup->mutex);
            wakeup->cv.wait_for(lock, std::chrono::milliseconds(10), [&] { return any_data(); });
        }
        wakeup->waiters.fetch_sub(1, std::memory_order_seq_cst);
    }
    for (auto& t : producers) t.join();
    consume_all();
    EXPECT_TRUE(in_order);
    EXPECT_EQ(received + lost, uint64_t{kThreads} * kRecords);
    EXPECT_EQ(lost, refused.load());
    uint64_t lost_total = 0;
    for (auto& b : buffers) lost_total += b->lost_total();
    EXPECT_EQ(lost_total, lost);
}

// ---- Against the kernel ----

long sys_bpf(int cmd, bpf_attr& attr) {
    const long r = ::syscall(SYS_bpf, cmd, &attr, sizeof attr);
    return r < 0 ? -errno : r;
}

class Fd {
public:
    explicit Fd(long fd = -1) : fd_(static_cast<int>(fd)) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        std::swap(fd_, o.fd_);
        return *this;
    }
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

// The kernel's errno for BPF_MAP_CREATE (0: created).
int kernel_create(uint32_t key, uint32_t value, uint32_t max, uint32_t flags, Fd* out = nullptr) {
    bpf_attr a{};
    a.map_type = kPerf;
    a.key_size = key;
    a.value_size = value;
    a.max_entries = max;
    a.map_flags = flags;
    const long r = sys_bpf(BPF_MAP_CREATE, a);
    if (r < 0) return static_cast<int>(-r);
    if (out != nullptr) *out = Fd(r);
    else ::close(static_cast<int>(r));
    return 0;
}

int kernel_elem(int cmd, int map_fd, const void* key, const void* value, uint64_t flags = 0) {
    bpf_attr a{};
    a.map_fd = static_cast<uint32_t>(map_fd);
    a.key = reinterpret_cast<uintptr_t>(key);
    a.value = reinterpret_cast<uintptr_t>(value);
    a.flags = flags;
    const long r = sys_bpf(cmd, a);
    return r < 0 ? static_cast<int>(-r) : 0;
}

TEST(PerfEventArrayKernelDiff, CreateParameters) {
    if (const int e = kernel_create(4, 4, 2, 0); e != 0)
        GTEST_SKIP() << "the kernel refuses bpf(BPF_MAP_CREATE): " << std::strerror(e);
    struct Case {
        uint32_t key, value, max, flags;
    };
    const Case cases[] = {{4, 4, 2, 0}, {4, 4, 100, 0}, {4, 4, 0, 0}, {0, 4, 2, 0}, {8, 4, 2, 0}, {4, 0, 2, 0},
                          {4, 8, 2, 0}, {4, 4, 2, BPF_F_NUMA_NODE}, {4, 4, 2, BPF_F_PRESERVE_ELEMS},
                          {4, 4, 2, BPF_F_RDONLY}, {4, 4, 2, BPF_F_WRONLY}, {4, 4, 2, BPF_F_RDONLY_PROG},
                          {4, 4, 2, BPF_F_WRONLY_PROG}, {4, 4, 2, BPF_F_MMAPABLE}, {4, 4, 2, BPF_F_INNER_MAP},
                          {4, 4, 2, BPF_F_NO_PREALLOC}, {4, 4, 2, BPF_F_ZERO_SEED},
                          {4, 4, 2, BPF_F_RDONLY | BPF_F_WRONLY}};
    for (const Case& c : cases) {
        EXPECT_EQ(create_errno(kPerf, c.key, c.value, c.max, c.flags), kernel_create(c.key, c.value, c.max, c.flags))
            << "key " << c.key << " value " << c.value << " max " << c.max << " flags " << c.flags;
    }
}

// Element operations with a real bpf-output perf event in the kernel and a
// buffer here: the same errno for each step.
TEST(PerfEventArrayKernelDiff, ElementOperations) {
    Fd kmap;
    if (const int e = kernel_create(4, 4, 2, 0, &kmap); e != 0)
        GTEST_SKIP() << "the kernel refuses bpf(BPF_MAP_CREATE): " << std::strerror(e);
    perf_event_attr pa{};
    pa.type = PERF_TYPE_SOFTWARE;
    pa.size = sizeof pa;
    pa.config = PERF_COUNT_SW_BPF_OUTPUT;
    pa.sample_type = PERF_SAMPLE_RAW;
    pa.sample_period = 1;
    Fd kevent(::syscall(SYS_perf_event_open, &pa, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
    if (kevent.get() < 0) GTEST_SKIP() << "the kernel refuses perf_event_open: " << std::strerror(errno);

    auto map = make_map(kPerf, 4, 4, 2);
    ASSERT_TRUE(map);
    Handles handles;
    const int buffer_fd = handles.add(make_buffer(0));
    const int map_fd = handles.add(map);
    const auto resolve = handles.resolver();
    // Each step: (ours, kernel's). Values name the same kind of object on each side.
    struct Step {
        const char* what;
        int ours;
        int kernel;
    };
    uint32_t k0 = 0, k5 = 5, value = 0;
    const uint32_t kevent_fd = static_cast<uint32_t>(kevent.get()), kmap_fd = static_cast<uint32_t>(kmap.get());
    const uint32_t bad_fd = 9999;
    const Step steps[] = {
        {"lookup empty", err(map->lookup(&k0, &value)), kernel_elem(BPF_MAP_LOOKUP_ELEM, kmap.get(), &k0, &value)},
        {"delete empty", err(map->erase(&k0)), kernel_elem(BPF_MAP_DELETE_ELEM, kmap.get(), &k0, nullptr)},
        {"delete out of range", err(map->erase(&k5)), kernel_elem(BPF_MAP_DELETE_ELEM, kmap.get(), &k5, nullptr)},
        {"update closed fd", err(map->update(&k0, &bad_fd, BPF_ANY, resolve)),
         kernel_elem(BPF_MAP_UPDATE_ELEM, kmap.get(), &k0, &bad_fd)},
        {"update map fd", err(map->update(&k0, &map_fd, BPF_ANY, resolve)),
         kernel_elem(BPF_MAP_UPDATE_ELEM, kmap.get(), &k0, &kmap_fd)},
        {"update NOEXIST", err(map->update(&k0, &buffer_fd, BPF_NOEXIST, resolve)),
         kernel_elem(BPF_MAP_UPDATE_ELEM, kmap.get(), &k0, &kevent_fd, BPF_NOEXIST)},
        {"update out of range", err(map->update(&k5, &buffer_fd, BPF_ANY, resolve)),
         kernel_elem(BPF_MAP_UPDATE_ELEM, kmap.get(), &k5, &kevent_fd)},
        {"update", err(map->update(&k0, &buffer_fd, BPF_ANY, resolve)),
         kernel_elem(BPF_MAP_UPDATE_ELEM, kmap.get(), &k0, &kevent_fd)},
        {"lookup set", err(map->lookup(&k0, &value)), kernel_elem(BPF_MAP_LOOKUP_ELEM, kmap.get(), &k0, &value)},
        {"update EXIST", err(map->update(&k0, &buffer_fd, BPF_EXIST, resolve)),
         kernel_elem(BPF_MAP_UPDATE_ELEM, kmap.get(), &k0, &kevent_fd, BPF_EXIST)},
        {"lookup_and_delete", err(map->lookup_and_delete(&k0, &value)),
         kernel_elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, kmap.get(), &k0, &value)},
        {"delete", err(map->erase(&k0)), kernel_elem(BPF_MAP_DELETE_ELEM, kmap.get(), &k0, nullptr)},
        {"delete again", err(map->erase(&k0)), kernel_elem(BPF_MAP_DELETE_ELEM, kmap.get(), &k0, nullptr)},
    };
    for (const Step& s : steps) EXPECT_EQ(s.ours, s.kernel) << s.what;
}

}  // namespace
}  // namespace bpfrt::maps::test
