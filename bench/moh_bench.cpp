// Music-on-hold benchmark, in-process against the real engine and the real
// moh module: N callers (a do-nothing channel driver that counts frames,
// PCMU legs, one worker) hear the shipped "default" class for a window of
// wall-clock time; the worker thread's CPU clock and the class's feeder
// thread (tandem-moh, from /proc schedstat) are read before and after.
// The same N callers hearing the same file through call:play (a player and
// a decoded-prompt cursor per caller) are the comparison, in the same run.
// Usage: tandem_moh_bench [SECONDS]   (runs N = 10, 100, 1000)
#include "bench_support.hpp"
#include "config/config.hpp"
#include "log.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/worker.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

using namespace tandem;

namespace {

std::atomic<uint64_t> g_frames{0};

// Counts the frames the engine writes to the callers, and sends nothing.
int count_write(void *, tandem_leg *, const tandem_frame *f) {
    if (f->kind == TANDEM_FRAME_AUDIO)
        g_frames.fetch_add(1, std::memory_order_relaxed);
    return TANDEM_OK;
}
const tandem_channel_driver kBenchDriver = bench::sink_driver(count_write);

// CPU µs of every thread of this process named `name` (schedstat: ns on CPU).
double named_threads_cpu_us(const char *name) {
    double total = 0;
    for (auto &task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string n;
        std::getline(comm, n);
        if (n != name)
            continue;
        std::ifstream sched(task.path() / "schedstat");
        double ns = 0;
        sched >> ns;
        total += ns / 1e3;
    }
    return total;
}

const char *kDialplan = R"(
return { contexts = { bench = {
  ["moh"] = function(call) call:answer() assert(call:moh_start("default")) call:sleep(3600000) end,
  ["play"] = function(call) call:answer() call:play("moh/default/tandem-theme") call:sleep(3600000) end,
} } }
)";

struct Run {
    double worker_us_per_s, feeder_us_per_s, frames_per_caller_s, ticks_per_s;
};

Run measure(const std::string &exten, int callers, double seconds) {
    char tmpl[] = "/tmp/tandem-moh-bench-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    auto engine = std::make_unique<Engine>(bench::load_instance(
        dir, "return { workers = 1, modules = { 'moh' }, shutdown_grace = 0, log = { level = 'warning' } }",
        kDialplan));
    std::vector<std::string> errors;
    engine->registry().add_channel(nullptr, &kBenchDriver);
    if (!engine->start(errors)) {
        std::fprintf(stderr, "%s\n", errors.front().c_str());
        std::exit(1);
    }
    std::thread runner([&] { engine->run(); });
    auto on_worker = [&](auto fn) {
        std::promise<decltype(fn())> p;
        auto f = p.get_future();
        engine->worker(0).post([&] { p.set_value(fn()); });
        return f.get();
    };
    for (int i = 0; i < callers; ++i) {
        tandem_inbound in{};
        in.struct_size = sizeof in;
        in.context = "bench";
        in.exten = exten.c_str();
        in.format = "PCMU";
        in.worker = 0;
        std::string error;
        if (!engine->new_inbound_leg(nullptr, "bench", in, error)) {
            std::fprintf(stderr, "refused: %s\n", error.c_str());
            std::exit(1);
        }
    }
    while (engine->stats().calls < static_cast<size_t>(callers))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(500)); // prompts loaded, everybody playing

    double w0 = on_worker([] { return bench::thread_cpu_us(); });
    double f0 = named_threads_cpu_us("tandem-moh");
    uint64_t frames0 = g_frames.load(), ticks0 = engine->worker(0).ticks();
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    double w1 = on_worker([] { return bench::thread_cpu_us(); });
    double f1 = named_threads_cpu_us("tandem-moh");
    uint64_t frames1 = g_frames.load(), ticks1 = engine->worker(0).ticks();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    engine->request_shutdown();
    runner.join();
    engine.reset();
    std::filesystem::remove_all(dir);
    return {(w1 - w0) / elapsed, (f1 - f0) / elapsed, (frames1 - frames0) / elapsed / callers,
            (ticks1 - ticks0) / elapsed};
}

} // namespace

int main(int argc, char **argv) {
    double seconds = argc > 1 ? std::atof(argv[1]) : 10;
    log::Options lo;
    lo.level = log::Level::warning;
    log::configure(lo);
    std::printf("music on hold, one class (16 s, 8 kHz WAV), PCMU callers, one worker, %.0f s per run\n", seconds);
    std::printf("%-22s %7s %14s %14s %14s %12s %10s\n", "mode", "callers", "worker us/s", "feeder us/s",
                "us/caller-s", "frames/c/s", "ticks/s");
    for (int callers : {10, 100, 1000}) {
        for (const char *mode : {"moh", "play"}) {
            Run r = measure(mode, callers, seconds);
            std::printf("%-22s %7d %14.0f %14.0f %14.2f %12.1f %10.1f\n",
                        std::strcmp(mode, "moh") == 0 ? "moh_start (shared)" : "play (player each)", callers,
                        r.worker_us_per_s, r.feeder_us_per_s, (r.worker_us_per_s + r.feeder_us_per_s) / callers,
                        r.frames_per_caller_s, r.ticks_per_s);
        }
    }
    return 0;
}
