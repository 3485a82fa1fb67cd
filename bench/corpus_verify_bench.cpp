// bpfrt's verifier on every program of the corpus (tests/corpus): verdict,
// processed instructions, median verification time against the host
// kernel's recorded BPF_PROG_LOAD time of the same program
// (tests/corpus/verdicts.json, load_time_ns), and the verifier's peak heap.
//
// Time: wall time of ObjectFile::verify() (map references patched, line info
// copied, the verifier at log_level 0, privileged, as the kernel's recorded
// load), median of --runs runs; also the thread's CPU time of the same runs
// (robust when other work shares the cores). The kernel's figure is the wall
// time of the whole bpf() call (verification, fixups, JIT, fd), measured by
// record_verdicts on this host.
//
// Peak heap: this executable replaces the global operator new/delete with a
// counting allocator (bytes as malloc_usable_size reports them); the peak of
// live bytes during one ObjectFile::verify() above the live bytes before it,
// at log_level 0 (as timed) and at log_level 1 (the failing path is kept for
// the log). Heap only: the verifier's own stack frames are not counted.
//
// Usage:
//   corpus_verify_bench [--runs N] [--markdown]   table of every program
//   corpus_verify_bench --log PROGRAM [--level L]  one program's log (default level 1)
#include "corpus.hpp"

#include <bpfrt/object.hpp>

#include <fmt/format.h>

#include <malloc.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// ---- counting allocator ----

namespace {

std::atomic<size_t> g_live_bytes{0};
std::atomic<size_t> g_peak_bytes{0};

void note_alloc(void* p) {
    if (!p) return;
    const size_t now = g_live_bytes.fetch_add(malloc_usable_size(p), std::memory_order_relaxed) + malloc_usable_size(p);
    size_t peak = g_peak_bytes.load(std::memory_order_relaxed);
    while (now > peak && !g_peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
}

void note_free(void* p) {
    if (p) g_live_bytes.fetch_sub(malloc_usable_size(p), std::memory_order_relaxed);
}

void* counted_alloc(size_t n, size_t align) {
    void* p = align <= alignof(std::max_align_t) ? std::malloc(n ? n : 1)
                                                 : std::aligned_alloc(align, (std::max<size_t>(n, 1) + align - 1) / align * align);
    if (!p) throw std::bad_alloc();
    note_alloc(p);
    return p;
}

void counted_free(void* p) {
    note_free(p);
    std::free(p);
}

}  // namespace

void* operator new(size_t n) { return counted_alloc(n, 0); }
void* operator new[](size_t n) { return counted_alloc(n, 0); }
void* operator new(size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<size_t>(a)); }
void* operator new[](size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<size_t>(a)); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { counted_free(p); }

namespace {

using namespace bpfrt;
using corpus::CorpusEntry;

struct Options {
    int runs = 11;
    bool markdown = false;
    std::string log_program;
    uint32_t log_level = 1;
};

struct Row {
    const CorpusEntry* entry = nullptr;
    bool ok = false;          // the object opened and the program was found
    std::string error;        // why not
    ObjectVerdict verdict;
    double median_us = 0;     // wall
    double median_cpu_us = 0; // this thread's CPU time
    size_t peak_heap = 0;     // bytes, log_level 0
    size_t peak_heap_log = 0; // bytes, log_level 1
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

std::optional<Options> parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (a == "--runs") {
            const char* v = value();
            if (!v) return std::nullopt;
            o.runs = std::max(1, std::atoi(v));
        } else if (a == "--markdown") {
            o.markdown = true;
        } else if (a == "--log") {
            const char* v = value();
            if (!v) return std::nullopt;
            o.log_program = v;
        } else if (a == "--level") {
            const char* v = value();
            if (!v) return std::nullopt;
            o.log_level = static_cast<uint32_t>(std::atoi(v));
        } else {
            return std::nullopt;
        }
    }
    return o;
}

// Objects are opened once; programs are looked up by name.
class Objects {
public:
    Result<const ObjectFile*> get(const CorpusEntry& e) {
        auto it = open_.find(e.object);
        if (it == open_.end()) {
            auto obj = ObjectFile::open(corpus::corpus_object_path(e).string());
            if (!obj) return std::unexpected(obj.error());
            it = open_.emplace(e.object, std::move(*obj)).first;
        }
        return &it->second;
    }

private:
    std::map<std::string, ObjectFile> open_;
};

Result<ObjectVerdict> verify_once(const ObjectFile& obj, const CorpusEntry& e, uint32_t log_level) {
    const ObjectProgram* prog = obj.find_program(e.program);
    if (!prog) return fail(ENOENT, fmt::format("no program {} in {}", e.program, e.object));
    ObjectVerifyOptions opt;
    opt.prog_type = e.prog_type_id;
    opt.log_level = log_level;
    return obj.verify(*prog, opt);
}

double thread_cpu_us() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Peak heap of one verification at `log_level`, in bytes above what was live before.
size_t peak_heap_of(const ObjectFile& obj, const CorpusEntry& e, uint32_t log_level, Result<ObjectVerdict>* out) {
    const size_t before = g_live_bytes.load();
    g_peak_bytes.store(before);
    {
        auto r = verify_once(obj, e, log_level);
        if (out) *out = std::move(r);
    }
    return g_peak_bytes.load() - before;
}

Row measure(Objects& objects, const CorpusEntry& e, int runs) {
    Row row;
    row.entry = &e;
    auto obj = objects.get(e);
    if (!obj) {
        row.error = obj.error().message;
        return row;
    }
    // The first run also warms the caches.
    Result<ObjectVerdict> first = fail(0, "");
    row.peak_heap = peak_heap_of(**obj, e, 0, &first);
    if (!first) {
        row.error = first.error().message;
        return row;
    }
    row.ok = true;
    row.verdict = std::move(*first);
    row.peak_heap_log = peak_heap_of(**obj, e, 1, nullptr);
    std::vector<double> wall, cpu;
    for (int i = 0; i < runs; ++i) {
        const double c0 = thread_cpu_us();
        const auto t0 = std::chrono::steady_clock::now();
        auto r = verify_once(**obj, e, 0);
        wall.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
        cpu.push_back(thread_cpu_us() - c0);
    }
    row.median_us = median(wall);
    row.median_cpu_us = median(cpu);
    return row;
}

std::string kernel_us(const CorpusEntry& e) {
    return e.load_time_ns ? fmt::format("{:.1f}", static_cast<double>(e.load_time_ns) / 1000) : "-";
}

std::optional<double> ratio(const Row& r, bool cpu = false) {
    if (!r.ok || r.entry->load_time_ns == 0) return std::nullopt;
    return (cpu ? r.median_cpu_us : r.median_us) * 1000 / static_cast<double>(r.entry->load_time_ns);
}

void print_table(const std::vector<Row>& rows, bool markdown) {
    if (markdown) {
        fmt::print("| program | insns | kernel | bpfrt | processed (bpfrt / kernel) | bpfrt wall (us) | bpfrt cpu (us) "
                   "| kernel PROG_LOAD (us) | ratio (wall) | peak heap KiB (log 0 / 1) |\n");
        fmt::print("|---|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
    }
    for (const Row& r : rows) {
        const CorpusEntry& e = *r.entry;
        const std::string name = e.object.substr(0, e.object.size() - 2) + ":" + e.program;
        if (!r.ok) {
            fmt::print(fmt::runtime(markdown ? "| {} | {} | {} | error: {} | | | | | | |\n" : "{} {} {} error: {}\n"), name,
                       e.insn_count, corpus::verdict_name(e.verdict), r.error);
            continue;
        }
        const auto q = ratio(r);
        const std::string ours = r.verdict.accepted ? "ACCEPT" : "REJECT";
        fmt::print(fmt::runtime(markdown ? "| {} | {} | {} | {} | {} / {} | {:.1f} | {:.1f} | {} | {} | {:.0f} / {:.0f} |\n"
                                         : "{:<48} {:>5} {:<6} {:<6} {:>7} / {:<7} {:>10.1f} {:>10.1f} {:>10} {:>6} "
                                           "{:>8.0f} / {:<8.0f}\n"),
                   name, e.insn_count, corpus::verdict_name(e.verdict), ours, r.verdict.processed_insns,
                   e.verified_insns, r.median_us, r.median_cpu_us, kernel_us(e), q ? fmt::format("{:.2f}", *q) : "-",
                   static_cast<double>(r.peak_heap) / 1024, static_cast<double>(r.peak_heap_log) / 1024);
    }
}

void print_summary(const std::vector<Row>& rows, int runs) {
    std::vector<double> ratios, cpu_ratios;
    size_t within = 0, cpu_within = 0, timed = 0, same = 0, ok = 0;
    size_t peak = 0, peak_log = 0;
    const Row* peak_row = nullptr;
    const Row* peak_log_row = nullptr;
    std::vector<std::string> differ;
    for (const Row& r : rows) {
        if (!r.ok) continue;
        ++ok;
        const bool kernel_accepts = r.entry->verdict == corpus::Verdict::Accept;
        if (r.verdict.accepted == kernel_accepts) ++same;
        else differ.push_back(fmt::format("{}:{} (kernel {}, bpfrt {}{}{})", r.entry->object, r.entry->program,
                                          corpus::verdict_name(r.entry->verdict),
                                          r.verdict.accepted ? "ACCEPT" : "REJECT", r.verdict.accepted ? "" : ": ",
                                          r.verdict.message));
        if (r.peak_heap >= peak) {
            peak = r.peak_heap;
            peak_row = &r;
        }
        if (r.peak_heap_log >= peak_log) {
            peak_log = r.peak_heap_log;
            peak_log_row = &r;
        }
        if (!r.verdict.accepted) continue;  // timed against the kernel: programs both verifiers accept
        if (auto q = ratio(r)) {
            ratios.push_back(*q);
            ++timed;
            if (*q <= 1.0) ++within;
        }
        if (auto q = ratio(r, true)) {
            cpu_ratios.push_back(*q);
            if (*q <= 1.0) ++cpu_within;
        }
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    fmt::print("\nprograms: {} ({} verified, median of {} runs each)\n", rows.size(), ok, runs);
    fmt::print("verdict equal to the kernel's: {} of {}\n", same, ok);
    for (const std::string& d : differ) fmt::print("  differs: {}\n", d);
    if (!ratios.empty()) {
        fmt::print("wall time vs kernel PROG_LOAD (programs both accept): median ratio {:.3f}; at most the "
                   "kernel's time: {} of {}; worst ratio {:.3f}\n",
                   median(ratios), within, timed, *std::max_element(ratios.begin(), ratios.end()));
        fmt::print("cpu time vs kernel PROG_LOAD: median ratio {:.3f}; at most the kernel's time: {} of {}; worst ratio "
                   "{:.3f}\n",
                   median(cpu_ratios), cpu_within, timed, *std::max_element(cpu_ratios.begin(), cpu_ratios.end()));
    }
    auto print_peak = [](const char* what, size_t bytes, const Row* row) {
        if (!row) return;
        fmt::print("peak heap of one verification at {}: at most {:.1f} KiB ({}:{}); under 100 MB: {}\n", what,
                   static_cast<double>(bytes) / 1024, row->entry->object, row->entry->program,
                   bytes < 100u * 1024 * 1024 ? "yes" : "NO");
    };
    print_peak("log_level 0", peak, peak_row);
    print_peak("log_level 1", peak_log, peak_log_row);
    fmt::print("whole process max RSS (getrusage): {} KiB\n", ru.ru_maxrss);
}

int show_log(Objects& objects, const std::vector<CorpusEntry>& entries, const Options& o) {
    for (const CorpusEntry& e : entries) {
        if (e.program != o.log_program) continue;
        auto obj = objects.get(e);
        if (!obj) {
            fmt::print(stderr, "{}\n", obj.error().message);
            return 2;
        }
        auto v = verify_once(**obj, e, o.log_level);
        if (!v) {
            fmt::print(stderr, "{}\n", v.error().message);
            return 2;
        }
        fmt::print("{}", v->log);
        fmt::print("{}: {}{}{}\n", e.program, v->accepted ? "accepted" : "rejected", v->accepted ? "" : ": ",
                   v->message);
        return 0;
    }
    fmt::print(stderr, "no corpus program named {}\n", o.log_program);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const auto opts = parse_args(argc, argv);
    if (!opts) {
        fmt::print(stderr, "usage: corpus_verify_bench [--runs N] [--markdown] | --log PROGRAM [--level L]\n");
        return 2;
    }
    std::vector<CorpusEntry> entries;
    try {
        entries = corpus::load_corpus_manifest();
    } catch (const std::exception& ex) {
        fmt::print(stderr, "{}\n", ex.what());
        return 2;
    }
    Objects objects;
    if (!opts->log_program.empty()) return show_log(objects, entries, *opts);
    std::vector<Row> rows;
    for (const CorpusEntry& e : entries) rows.push_back(measure(objects, e, opts->runs));
    print_table(rows, opts->markdown);
    print_summary(rows, opts->runs);
    return 0;
}
