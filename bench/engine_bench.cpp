// Engine benchmarks, in-process against the real engine:
//   calls   per-call dialplan cost: CPU µs per call on the worker thread and
//           Lua heap per concurrent call, for a dialplan that answers, sets
//           variables and hangs up, against an empty dialplan run the same way
//   bridge  cost of one 20 ms frame through a two-party bridge (same format,
//           and with G.711 translation), against a plain 320-byte copy
//   transcode  an Opus leg bridged to a PCMU leg (modules/codec_opus loaded
//           with the given complexity, 8 kHz): worker CPU µs per call-second
//           for a PCM file's frames both ways; bench/opus_floor.c is libopus
//           alone on the same frames (bench/codec_bench.sh runs both)
//   mix     cost of one 20 ms tick of a conference of PCMU legs, per member,
//           mixing at 8 and at 16 kHz
// Usage: tandem_bench calls [N] | bridge [FRAMES] | mix [MEMBERS] | transcode PCM_FILE COMPLEXITY
#include "bench_support.hpp"
#include "config/config.hpp"
#include "media/g711.hpp"
#include "lua/lua_worker.hpp"
#include "runtime/bridge.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/mixer.hpp"
#include "runtime/translation.hpp"
#include "runtime/worker.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <future>
#include <thread>
#include <time.h>
#include <unistd.h>

using namespace tandem;

namespace {

// A channel that does nothing: isolates the core's and Lua's cost.
int b_write(void *, tandem_leg *, const tandem_frame *) { return TANDEM_OK; }
const tandem_channel_driver kBenchDriver = bench::sink_driver(b_write);
using bench::thread_cpu_us;

long rss_kb() {
    std::ifstream in("/proc/self/statm");
    long pages = 0, resident = 0;
    in >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct Bench {
    std::string dir;
    std::unique_ptr<Engine> engine;
    std::thread runner;

    // `modules`: tandem.lua's modules and module_config entries
    explicit Bench(const std::string &dialplan, const std::string &modules = "modules = {}") {
        char tmpl[] = "/tmp/tandem-bench-XXXXXX";
        dir = mkdtemp(tmpl);
        Config config = bench::load_instance(
            dir, "return { workers = 1, " + modules + ", shutdown_grace = 0, log = { level = 'warning' } }",
            dialplan);
        std::vector<std::string> errors;
        log::Options lo;
        lo.level = log::Level::warning;
        log::configure(lo);
        engine = std::make_unique<Engine>(std::move(config));
        engine->registry().add_channel(nullptr, &kBenchDriver);
        if (!engine->start(errors)) {
            std::fprintf(stderr, "%s\n", errors.front().c_str());
            std::exit(1);
        }
        runner = std::thread([this] { engine->run(); });
    }
    ~Bench() {
        engine->request_shutdown();
        runner.join();
        engine.reset();
        std::filesystem::remove_all(dir);
    }
    template <typename F> auto on_worker(F fn) {
        std::promise<decltype(fn())> p;
        auto f = p.get_future();
        engine->worker(0).post([&] { p.set_value(fn()); });
        return f.get();
    }
    void new_call(const char *exten) {
        tandem_inbound in{};
        in.struct_size = sizeof in;
        in.context = "bench";
        in.exten = exten;
        in.worker = 0;
        std::string error;
        auto leg = engine->new_inbound_leg(nullptr, "bench", in, error);
        if (!leg) {
            std::fprintf(stderr, "refused: %s\n", error.c_str());
            std::exit(1);
        }
    }
    void wait_idle() {
        while (engine->stats().calls != 0 || on_worker([] { return 0; }) != 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
};

const char *kDialplan = R"(
return { contexts = { bench = {
  ["work"] = function(call)
    call:answer()
    call:set("account", "4711")
    call:set("queue", "sales")
    call:set("priority", 5)
    call:hangup()
  end,
  ["empty"] = function(call) end,
  ["hold"] = function(call)
    call:answer()
    call:set("account", "4711")
    call:set("queue", "sales")
    call:set("priority", 5)
    call:sleep(600000)
  end,
} } }
)";

// CPU per call on the worker thread, for calls created in batches.
double cpu_per_call(Bench &b, const char *exten, int n) {
    double before = b.on_worker([] { return thread_cpu_us(); });
    const int batch = 1000;
    for (int done = 0; done < n; done += batch) {
        for (int i = 0; i < batch; ++i)
            b.new_call(exten);
        b.wait_idle();
    }
    double after = b.on_worker([] { return thread_cpu_us(); });
    return (after - before) / n;
}

int bench_calls(int n) {
    Bench b(kDialplan);
    cpu_per_call(b, "work", 2000); // warm up allocators and the Lua state
    cpu_per_call(b, "empty", 2000);
    // Alternate the two and keep the best of three: the machine's noise
    // only ever adds time.
    double empty_us = 1e9, work_us = 1e9;
    for (int round = 0; round < 3; ++round) {
        empty_us = std::min(empty_us, cpu_per_call(b, "empty", n / 3));
        work_us = std::min(work_us, cpu_per_call(b, "work", n / 3));
    }

    // Memory: hold many calls at once, parked in a sleep after their work.
    const int held = 10000;
    b.on_worker([&] {
        lua_gc(b.engine->worker(0).lua().state(), LUA_GCCOLLECT);
        return 0;
    });
    uint64_t lua_before = b.on_worker([&] { return b.engine->worker(0).lua().total_memory(); });
    long rss_before = rss_kb();
    for (int i = 0; i < held; ++i)
        b.new_call("hold");
    while (b.engine->stats().calls < static_cast<size_t>(held))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    b.on_worker([&] { return 0; });
    uint64_t lua_after = b.on_worker([&] {
        lua_gc(b.engine->worker(0).lua().state(), LUA_GCCOLLECT);
        return b.engine->worker(0).lua().total_memory();
    });
    long rss_after = rss_kb();
    std::printf("calls: %d per run\n", n);
    std::printf("  worker CPU per call, empty handler      : %7.2f us\n", empty_us);
    std::printf("  worker CPU per call, answer+3 vars+hangup: %7.2f us\n", work_us);
    std::printf("  Lua overhead of the work itself          : %7.2f us\n", work_us - empty_us);
    std::printf("  Lua heap per live call (%d held)      : %7.2f KB\n", held,
                (lua_after - lua_before) / 1024.0 / held);
    std::printf("  process RSS per live call (all objects)  : %7.2f KB\n",
                static_cast<double>(rss_after - rss_before) / held);
    return 0;
}

int bench_bridge(int frames) {
    Bench b(kDialplan);
    auto run = [&](media::FormatId fa, media::FormatId fb) {
        return b.on_worker([&] {
            Worker &w = b.engine->worker(0);
            Registered<tandem_channel_driver> drv{&kBenchDriver, nullptr};
            Ref<Leg> a(new Leg(w, "A", "C", "C", Direction::inbound, drv, ModuleUse::acquire(nullptr)));
            Ref<Leg> c(new Leg(w, "B", "C", "C", Direction::outbound, drv, ModuleUse::acquire(nullptr)));
            a->set_format(fa);
            c->set_format(fb);
            a->set_state(LegState::up);
            c->set_state(LegState::up);
            Bridge bridge(w, *a, *c);
            std::vector<int16_t> pcm(160);
            for (size_t i = 0; i < pcm.size(); ++i)
                pcm[i] = static_cast<int16_t>(8000 * ((i % 16) < 8 ? 1 : -1));
            tandem_frame f{};
            f.struct_size = sizeof f;
            f.kind = TANDEM_FRAME_AUDIO;
            f.format = media::format_cname(fa);
            f.samples = 160;
            f.data = pcm.data();
            f.len = 320;
            auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < frames; ++i) {
                a->push_frame(f);
                bridge.forward_from(*a);
            }
            auto t1 = std::chrono::steady_clock::now();
            bridge.dissolve();
            return std::chrono::duration<double, std::nano>(t1 - t0).count() / frames;
        });
    };
    media::FormatId pcmu = media::intern_format("PCMU");
    double same = run(media::kSlin8, media::kSlin8);
    double translated = run(media::kSlin8, pcmu);
    double resampled = run(media::kSlin8, media::kSlin16);
    // Baseline: the copy every frame needs anyway.
    std::vector<uint8_t> src(320, 1), dst(320);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < frames; ++i) {
        std::memcpy(dst.data(), src.data(), src.size());
        asm volatile("" : : "r"(dst.data()) : "memory");
    }
    auto t1 = std::chrono::steady_clock::now();
    double copy = std::chrono::duration<double, std::nano>(t1 - t0).count() / frames;
    std::printf("bridge: %d frames of 20 ms\n", frames);
    std::printf("  push + relay, same format (slin8)      : %7.1f ns/frame\n", same);
    std::printf("  push + relay, slin8 -> PCMU            : %7.1f ns/frame\n", translated);
    std::printf("  push + relay, slin8 -> slin16 resample : %7.1f ns/frame\n", resampled);
    std::printf("  baseline: 320-byte memcpy               : %7.1f ns/frame\n", copy);
    return 0;
}

// The file's 20 ms frames of 8 kHz PCM, encoded by the engine's own codec
// path (outside the timing) into `format`.
std::vector<std::vector<uint8_t>> encode_all(Bench &b, const std::vector<int16_t> &pcm, const char *format) {
    return b.on_worker([&] {
        std::string error;
        auto t = HeldTranslator::create(*b.engine->registry().snapshot(), media::kSlin8,
                                        media::intern_format(format), error);
        std::vector<std::vector<uint8_t>> out;
        if (!t) {
            std::fprintf(stderr, "transcode: %s\n", error.c_str());
            std::exit(1);
        }
        media::Frame in, enc;
        for (size_t at = 0; at + 160 <= pcm.size(); at += 160) {
            in.kind = media::FrameKind::audio;
            in.format = media::kSlin8;
            in.samples = 160;
            in.len = 320;
            std::memcpy(in.data, &pcm[at], 320);
            if (!t->get().translate(in, enc))
                std::exit(1);
            out.emplace_back(enc.data, enc.data + enc.len);
        }
        return out;
    });
}

int bench_transcode(const char *pcm_file, int complexity) {
    std::ifstream in(pcm_file, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<int16_t> pcm(bytes.size() / 2);
    std::memcpy(pcm.data(), bytes.data(), pcm.size() * 2);
    Bench b(kDialplan, "modules = { 'codec_opus' }, module_config = { codec_opus = { sample_rate = 8000, complexity = " +
                           std::to_string(complexity) + " } }");
    auto opus = encode_all(b, pcm, "opus");
    auto pcmu = encode_all(b, pcm, "PCMU");
    // The machine's noise only ever adds time: each second of audio (50
    // frames) is timed in every round and its fastest round counts, as
    // opus_floor does.
    constexpr size_t kChunk = 50;
    std::vector<double> chunk_us((opus.size() + kChunk - 1) / kChunk, 1e18);
    auto run = [&] {
        b.on_worker([&] {
            Worker &w = b.engine->worker(0);
            Registered<tandem_channel_driver> drv{&kBenchDriver, nullptr};
            Ref<Leg> a(new Leg(w, "A", "C", "C", Direction::inbound, drv, ModuleUse::acquire(nullptr)));
            Ref<Leg> c(new Leg(w, "B", "C", "C", Direction::outbound, drv, ModuleUse::acquire(nullptr)));
            a->set_format(media::intern_format("opus"));
            c->set_format(media::intern_format("PCMU"));
            a->set_state(LegState::up);
            c->set_state(LegState::up);
            Bridge bridge(w, *a, *c);
            tandem_frame f{};
            f.struct_size = sizeof f;
            f.kind = TANDEM_FRAME_AUDIO;
            f.samples = 160;
            double t0 = thread_cpu_us();
            for (size_t i = 0; i < opus.size(); ++i) {
                if (i % kChunk == 0 && i > 0) {
                    double t1 = thread_cpu_us();
                    chunk_us[i / kChunk - 1] = std::min(chunk_us[i / kChunk - 1], t1 - t0);
                    t0 = t1;
                }
                f.format = "opus"; // the Opus phone talks: decode, G.711-encode
                f.data = opus[i].data();
                f.len = opus[i].size();
                a->push_frame(f);
                bridge.forward_from(*a);
                f.format = "PCMU"; // the G.711 side talks: decode, Opus-encode
                f.data = pcmu[i].data();
                f.len = pcmu[i].size();
                c->push_frame(f);
                bridge.forward_from(*c);
            }
            chunk_us.back() = std::min(chunk_us.back(), thread_cpu_us() - t0);
            bridge.dissolve();
            return 0;
        });
    };
    for (int round = 0; round < 5; ++round)
        run();
    double best = 0;
    for (double us : chunk_us)
        best += us;
    best /= opus.size() / 50.0;
    std::printf("transcode: %zu frames of 20 ms, Opus complexity %d at 8 kHz <-> PCMU\n", opus.size(), complexity);
    std::printf("  engine worker CPU per call-second (both directions): %8.1f us\n", best);
    return 0;
}

int bench_mix(int members) {
    Bench b(kDialplan);
    const int ticks = 2000;
    auto run = [&](uint32_t rate) {
        return b.on_worker([&] {
            Worker &w = b.engine->worker(0);
            Registered<tandem_channel_driver> drv{&kBenchDriver, nullptr};
            media::FormatId pcmu = media::intern_format("PCMU");
            std::vector<Ref<Leg>> legs;
            for (int i = 0; i < members; ++i) {
                Ref<Leg> leg(new Leg(w, "L" + std::to_string(i), "C", "C", Direction::inbound, drv,
                                     ModuleUse::acquire(nullptr)));
                leg->set_format(pcmu);
                leg->set_state(LegState::up);
                auto link = std::make_shared<MixLink>(leg->id, leg->call_id, leg->name);
                w.mixing().add_member(*leg, link);
                w.mixing().join_room("bench", link, rate);
                legs.push_back(leg);
            }
            std::vector<uint8_t> ulaw(160);
            for (size_t i = 0; i < ulaw.size(); ++i)
                ulaw[i] = media::linear_to_ulaw(static_cast<int16_t>(8000 * ((i % 16) < 8 ? 1 : -1)));
            tandem_frame f{};
            f.struct_size = sizeof f;
            f.kind = TANDEM_FRAME_AUDIO;
            f.format = "PCMU";
            f.samples = 160;
            f.data = ulaw.data();
            f.len = 160;
            auto t0 = std::chrono::steady_clock::now();
            for (int t = 0; t < ticks; ++t) {
                for (auto &leg : legs) {
                    leg->push_frame(f);
                    leg->mix->take_input(*leg);
                }
                w.mixing().tick();
            }
            auto t1 = std::chrono::steady_clock::now();
            for (auto &leg : legs)
                leg->hangup(TANDEM_CAUSE_NORMAL_CLEARING);
            w.mixing().tick(); // members see their legs gone, the room closes
            w.mixing().tick();
            return std::chrono::duration<double, std::micro>(t1 - t0).count() / ticks / members;
        });
    };
    double narrow = run(8000), wide = run(16000);
    std::printf("mix: a conference of %d PCMU legs, %d ticks of 20 ms\n", members, ticks);
    std::printf("  per member per tick, mixing at 8 kHz  : %7.2f us\n", narrow);
    std::printf("  per member per tick, mixing at 16 kHz : %7.2f us\n", wide);
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    std::string mode = argc > 1 ? argv[1] : "calls";
    int n = argc > 2 ? std::atoi(argv[2]) : 0;
    if (mode == "calls")
        return bench_calls(n > 0 ? n : 100000);
    if (mode == "bridge")
        return bench_bridge(n > 0 ? n : 1000000);
    if (mode == "transcode" && argc > 3)
        return bench_transcode(argv[2], std::atoi(argv[3]));
    if (mode == "mix")
        return bench_mix(n > 0 ? n : 10);
    std::fprintf(stderr, "usage: tandem_bench calls [N] | bridge [FRAMES] | mix [MEMBERS] | transcode PCM_FILE COMPLEXITY\n");
    return 2;
}
