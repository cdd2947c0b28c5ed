// Prompt decoding happens on the engine's loader thread: at start and
// reload for the whole sounds directory, and on a cache miss while the
// call's script waits. A deliberately slow file format shows that the
// worker's media clock keeps running through a decode.
#include "engine_fixture.hpp"

#include "audio_test_util.hpp"
#include "media/prompts.hpp"
#include "runtime/worker.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

using namespace tandem;
using nlohmann::json;
using tandem::test::EngineFixture;

namespace {

// "slow" files: 100 ms of silence at 8 kHz that take 400 ms to decode. The
// read callback records how far worker 0's media clock moved meanwhile.
std::atomic<Engine *> g_engine{nullptr};
std::atomic<int64_t> g_ticks_during_decode{-1};
std::atomic<int> g_decodes{0};

struct SlowHandle {
    int reads = 0;
};

void *slow_open(void *, const char *, uint32_t *rate, char *, size_t) {
    *rate = 8000;
    return new SlowHandle;
}
long slow_read(void *, void *handle, int16_t *pcm, size_t max) {
    auto *h = static_cast<SlowHandle *>(handle);
    if (h->reads++ > 0)
        return 0;
    Worker &worker = g_engine.load()->worker(0);
    const uint64_t before = worker.ticks();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    g_ticks_during_decode = static_cast<int64_t>(worker.ticks() - before);
    ++g_decodes;
    const size_t n = std::min<size_t>(max, 800);
    std::memset(pcm, 0, n * sizeof(int16_t));
    return static_cast<long>(n);
}
void slow_close(void *, void *handle) { delete static_cast<SlowHandle *>(handle); }

const tandem_file_format kSlowFormat = {sizeof(tandem_file_format), "slow", "slow", nullptr,
                                        slow_open,                  slow_read, slow_close};

std::string sounds_at(const std::string &dir) { return "paths = { sounds = '" + dir + "' },"; }

json cdr_of(EngineFixture &fx, const std::string &id) {
    std::string text = fx.wait_call_end(id, 15000);
    REQUIRE(!text.empty());
    return json::parse(text);
}

} // namespace

TEST_CASE("the sounds directory is decoded into the cache at start and at reload", "[prompts][loader]") {
    const std::string sounds = tandem::test::make_temp_dir();
    const auto pcm = tandem::test::sine(440, 8000, 800, 5000);
    std::filesystem::create_directories(sounds + "/en");
    REQUIRE(tandem::test::write_audio(sounds + "/one.wav", 8000, pcm.data(), pcm.size()));
    REQUIRE(tandem::test::write_audio(sounds + "/en/two.wav", 8000, pcm.data(), pcm.size()));
    tandem::test::write_file(sounds + "/notes.txt", "not a prompt");
    EngineFixture fx("return { contexts = { test = {} } }", sounds_at(sounds), 1);
    CHECK(EngineFixture::poll_until([&] { return fx.engine().prompts().size() == 2; }));
    CHECK(fx.engine().prompts().find(sounds + "/en/two.wav"));

    REQUIRE(tandem::test::write_audio(sounds + "/three.wav", 8000, pcm.data(), pcm.size()));
    bool ok = false;
    fx.console({"reload"}, &ok);
    REQUIRE(ok);
    CHECK(EngineFixture::poll_until([&] { return fx.engine().prompts().size() == 3; }));
}

TEST_CASE("a prompt missing from the cache is decoded off the worker while the script waits", "[prompts][loader]") {
    const std::string sounds = tandem::test::make_temp_dir();
    EngineFixture fx(R"(
return { contexts = { test = {
  ["play"] = function(call)
    call:answer()
    call:set("result", tostring(call:play({ "a.slow", "tone:440/100" })))
  end,
  ["read"] = function(call)
    call:answer()
    local digits, why = call:read{ prompt = "b.slow", max = 1, timeout = 3000 }
    call:set("result", tostring(digits) .. "/" .. why)
  end,
  ["silent"] = function(call) call:answer() call:sleep(15000) end,
  ["quick"] = function(call) call:answer() call:sleep(100) call:send_dtmf("7") call:sleep(15000) end,
  ["gone"] = function(call) call:answer() call:sleep(100) call:hangup() end,
} } }
)",
                     sounds_at(sounds), 1);
    g_engine = &fx.engine();
    REQUIRE(fx.engine().registry().add_file_format(nullptr, &kSlowFormat) == TANDEM_OK);
    for (const char *name : {"a.slow", "b.slow", "c.slow"})
        tandem::test::write_file(sounds + "/" + name, "x");

    SECTION("play waits for the decode, then plays it") {
        auto cdr = cdr_of(fx, fx.originate("local/silent@test", "play"));
        CHECK(cdr["vars"]["result"] == "nil");
        CHECK(g_decodes == 1);
        // The worker kept its 20 ms clock through the 400 ms decode.
        CHECK(g_ticks_during_decode >= 12);
        // 100 ms of prompt and 100 ms of tone: 10 frames.
        CHECK(cdr["legs"][0]["frames_out"] == 10);
        // The second play finds it cached: no decode.
        cdr_of(fx, fx.originate("local/silent@test", "play"));
        CHECK(g_decodes == 1);
    }
    SECTION("a digit during the decode answers a read; the prompt never plays") {
        auto cdr = cdr_of(fx, fx.originate("local/quick@test", "read"));
        CHECK(cdr["vars"]["result"] == "7/max");
        CHECK(cdr["legs"][0]["frames_out"] == 0);
    }
    SECTION("a caller who hangs up during the decode ends the call cleanly") {
        auto id = fx.originate("local/gone@test", "read");
        CHECK(cdr_of(fx, id)["cause"] == 16);
        // The late decode finds no operation to resume; the engine goes on.
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        CHECK(cdr_of(fx, fx.originate("local/quick@test", "read"))["vars"]["result"] == "7/max");
    }
    g_engine = nullptr;
}
