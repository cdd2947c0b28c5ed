// IVR building blocks end to end in a real engine over local channels:
// menu paths, barge-in, say_* with the shipped prompts, play_tone, and
// in-band DTMF detection. Audio is counted in 20 ms frames on the IVR's leg
// (the CDR's frames_out), which is exact: the player writes one frame per
// tick and pads only the last.
#include "engine_fixture.hpp"

#include "audio_test_util.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sndfile.h>

using namespace tandem;
using nlohmann::json;
using tandem::test::EngineFixture;

namespace {

const std::string kSounds = std::string(TANDEM_SOURCE_DIR) + "/dialplans/sounds";

std::string sounds_at(const std::string &dir) { return "paths = { sounds = '" + dir + "' },"; }

json cdr_of(EngineFixture &fx, const std::string &id) {
    std::string text = fx.wait_call_end(id, 15000);
    REQUIRE(!text.empty());
    return json::parse(text);
}

uint64_t frames_out(const json &cdr) { return cdr["legs"][0]["frames_out"].get<uint64_t>(); }

// 20 ms frames at 8 kHz that the shipped prompts `names` fill when played
// back to back.
uint64_t frames_of(const std::vector<std::string> &names) {
    uint64_t samples = 0;
    for (auto &name : names) {
        SF_INFO info{};
        SNDFILE *file = sf_open((kSounds + "/" + name + ".wav").c_str(), SFM_READ, &info);
        REQUIRE(file);
        REQUIRE(info.samplerate == 8000);
        samples += static_cast<uint64_t>(info.frames);
        sf_close(file);
    }
    return (samples + 159) / 160;
}

const char *const kCallers = R"(
  ["silent"] = function(call) call:answer() call:sleep(15000) end,
  ["press2"] = function(call) call:answer() call:sleep(300) call:send_dtmf("2") call:sleep(15000) end,
  ["press3"] = function(call) call:answer() call:sleep(300) call:send_dtmf("3") call:sleep(15000) end,
  ["press4"] = function(call) call:answer() call:sleep(400) call:send_dtmf("4") call:sleep(15000) end,
  ["press9"] = function(call) call:answer() call:sleep(300) call:send_dtmf("9") call:sleep(15000) end,
  ["press9then1"] = function(call)
    call:answer() call:sleep(300) call:send_dtmf("9") call:sleep(700) call:send_dtmf("1") call:sleep(15000)
  end,
  ["press9then8"] = function(call)
    call:answer() call:sleep(300) call:send_dtmf("9") call:sleep(700) call:send_dtmf("8") call:sleep(15000)
  end,
  ["presshash"] = function(call) call:answer() call:sleep(300) call:send_dtmf("#") call:sleep(15000) end,
  ["leaver"] = function(call) call:answer() call:sleep(300) call:hangup() end,
)";

std::string dialplan(const std::string &routes) {
    return "return { contexts = { test = {\n" + std::string(kCallers) + routes + "\n} } }\n";
}

} // namespace

TEST_CASE("menu: the right key runs its option and is returned", "[ivr][menu]") {
    EngineFixture fx(dialplan(R"(
  ["menu"] = function(call)
    call:answer()
    local key, extra = call:menu{ prompt = "tone:500/100", timeout = 3000, options = {
      ["1"] = function(c) c:set("ran", "1") end,
      [2] = function(c, k) c:set("ran", k) return "done" end,
    } }
    call:set("key", key)
    call:set("extra", extra)
  end,
  ["to-sales"] = function(call)
    call:answer()
    call:menu{ prompt = "tone:500/100", options = { ["3"] = "sales" } }
    call:set("after", "menu returned")
  end,
  ["sales"] = function(call) call:set("in_sales", "yes") end,
)"));
    auto cdr = cdr_of(fx, fx.originate("local/press2@test", "menu"));
    CHECK(cdr["vars"]["key"] == "2");
    CHECK(cdr["vars"]["ran"] == "2");
    CHECK(cdr["vars"]["extra"] == "done");

    // An extension as the option transfers there.
    auto sales = cdr_of(fx, fx.originate("local/press3@test", "to-sales"));
    CHECK(sales["vars"]["in_sales"] == "yes");
    CHECK_FALSE(sales["vars"].contains("after"));
}

TEST_CASE("menu: silence is retried, then reported as a timeout", "[ivr][menu]") {
    EngineFixture fx(dialplan(R"(
  ["menu"] = function(call)
    call:answer()
    local key, why = call:menu{ prompt = "tone:500/100", timeout = 200, retries = 2,
                                on_timeout = "tone:700/60", options = { ["1"] = true } }
    call:set("result", tostring(key) .. "/" .. why)
  end,
)"));
    auto cdr = cdr_of(fx, fx.originate("local/silent@test", "menu"));
    CHECK(cdr["vars"]["result"] == "nil/timeout");
    // Three tries: each the 100 ms prompt (5 frames) and the 60 ms notice (3).
    CHECK(frames_out(cdr) == 3 * (5 + 3));
}

TEST_CASE("menu: an invalid key plays the notice and asks again", "[ivr][menu]") {
    EngineFixture fx(dialplan(R"(
  ["menu"] = function(call)
    call:answer()
    local key, why = call:menu{ prompt = "tone:500/100", timeout = 3000, retries = 1,
                                on_invalid = "tone:700/60", options = { ["1"] = true } }
    call:set("result", tostring(key) .. "/" .. tostring(why))
  end,
  ["menu-ru"] = function(call)
    call:answer()
    call:set("language", "ru")
    local key, why = call:menu{ prompt = "tone:500/100", timeout = 3000, retries = 0, options = { ["1"] = true } }
    call:set("result", tostring(key) .. "/" .. why)
  end,
)"),
                     sounds_at(kSounds));
    SECTION("then the right key") {
        auto cdr = cdr_of(fx, fx.originate("local/press9then1@test", "menu"));
        CHECK(cdr["vars"]["result"] == "1/nil");
        CHECK(frames_out(cdr) == 5 + 3 + 5); // prompt, notice, prompt again
    }
    SECTION("until the tries run out") {
        auto cdr = cdr_of(fx, fx.originate("local/press9then8@test", "menu"));
        CHECK(cdr["vars"]["result"] == "nil/invalid");
        CHECK(frames_out(cdr) == 2 * (5 + 3));
    }
    SECTION("a lone terminator is invalid too") {
        auto cdr = cdr_of(fx, fx.originate("local/presshash@test", "menu-ru"));
        CHECK(cdr["vars"]["result"] == "nil/invalid");
    }
    SECTION("the default notice is the shipped prompt in the call's language") {
        auto cdr = cdr_of(fx, fx.originate("local/press9@test", "menu-ru"));
        CHECK(cdr["vars"]["result"] == "nil/invalid");
        CHECK(frames_out(cdr) == 5 + frames_of({"ru/invalid-option"}));
    }
}

TEST_CASE("menu: a digit stops the prompt at once (barge-in)", "[ivr][menu][bargein]") {
    EngineFixture fx(dialplan(R"(
  ["menu"] = function(call)
    call:answer()
    call:set("key", call:menu{ prompt = { "tone:440/5000", "tone:0/5000" }, options = { ["2"] = true } })
  end,
  ["read"] = function(call)
    call:answer()
    local digits, why = call:read{ prompt = "en/menu-sales-support", max = 1 }
    call:set("digits", digits)
    call:set("why", why)
  end,
)"),
                     sounds_at(kSounds));
    // The digit comes 300 ms into a 10 s prompt: about 15 frames were
    // played, not 500; the slack covers timer jitter on a loaded machine.
    auto cdr = cdr_of(fx, fx.originate("local/press2@test", "menu"));
    CHECK(cdr["vars"]["key"] == "2");
    CHECK(frames_out(cdr) >= 10);
    CHECK(frames_out(cdr) <= 15 + 8);

    auto read = cdr_of(fx, fx.originate("local/press4@test", "read"));
    CHECK(read["vars"]["digits"] == "4");
    CHECK(read["vars"]["why"] == "max");
    CHECK(frames_out(read) <= 20 + 8);
    CHECK(frames_of({"en/menu-sales-support"}) > 100);
}

TEST_CASE("menu: a dialled leg that hangs up ends the menu with 'hangup'", "[ivr][menu]") {
    EngineFixture fx(dialplan(R"(
  ["menu"] = function(call)
    call:answer()
    local status, agent = call:dial("local/leaver@test", { timeout = 5 })
    local key, why = agent:menu{ prompt = "tone:500/3000", options = { ["1"] = true } }
    call:set("result", tostring(key) .. "/" .. why)
  end,
)"));
    auto cdr = cdr_of(fx, fx.originate("local/silent@test", "menu"));
    CHECK(cdr["vars"]["result"] == "nil/hangup");
}

TEST_CASE("menu: bad specs are errors at the script's line", "[ivr][menu]") {
    EngineFixture fx(dialplan(R"(
  ["menu"] = function(call)
    call:answer()
    local ok, err = pcall(call.menu, call, { prompt = "x" })
    call:set("no_options", err)
    ok, err = pcall(call.menu, call, { options = { ["1x"] = true } })
    call:set("bad_key", err)
    ok, err = pcall(call.menu, call, { options = { ["1"] = 5 } })
    call:set("bad_action", err)
    ok, err = pcall(call.menu, call, "menu")
    call:set("not_table", err)
  end,
)"));
    auto cdr = cdr_of(fx, fx.originate("local/silent@test", "menu"));
    CHECK(cdr["vars"]["no_options"].get<std::string>().find("'options' must be a non-empty table") !=
          std::string::npos);
    CHECK(cdr["vars"]["bad_key"].get<std::string>().find("option keys are DTMF digits, got 1x") != std::string::npos);
    CHECK(cdr["vars"]["bad_action"].get<std::string>().find("option '1' must be a function, an extension or true") !=
          std::string::npos);
    CHECK(cdr["vars"]["not_table"].get<std::string>().find("table expected, got string") != std::string::npos);
}

TEST_CASE("say_* play the shipped prompts in the call's language", "[ivr][say]") {
    EngineFixture fx(dialplan(R"(
  ["number-ru"] = function(call)
    call:answer()
    call:set("language", "ru")
    call:say_number(21, { gender = "f" })
  end,
  ["duration-en"] = function(call) call:answer() call:say_duration(125) end,
  ["digits-ru"] = function(call) call:answer() call:say_digits("10#", { lang = "ru" }) end,
  ["errors"] = function(call)
    call:answer()
    call:set("lang", select(2, pcall(call.say_number, call, 5, { lang = "de" })))
    call:set("big", select(2, pcall(call.say_number, call, 1000000)))
    call:set("gender", select(2, pcall(call.say_number, call, 1, { gender = "x" })))
  end,
)"),
                     sounds_at(kSounds));
    CHECK(frames_out(cdr_of(fx, fx.originate("local/silent@test", "number-ru"))) ==
          frames_of({"ru/numbers/20", "ru/numbers/1f"}));
    CHECK(frames_out(cdr_of(fx, fx.originate("local/silent@test", "duration-en"))) ==
          frames_of({"en/numbers/2", "en/units/minutes", "en/numbers/5", "en/units/seconds"}));
    CHECK(frames_out(cdr_of(fx, fx.originate("local/silent@test", "digits-ru"))) ==
          frames_of({"ru/numbers/1", "ru/numbers/0", "ru/numbers/hash"}));
    auto errors = cdr_of(fx, fx.originate("local/silent@test", "errors"));
    CHECK(errors["vars"]["lang"].get<std::string>().find("say_number: unknown language 'de' (en or ru)") !=
          std::string::npos);
    CHECK(errors["vars"]["big"].get<std::string>().find("number must be an integer in 0..999999") !=
          std::string::npos);
    CHECK(errors["vars"]["gender"].get<std::string>().find("gender is") != std::string::npos);
}

TEST_CASE("play_tone plays a national tone for a duration or until a key", "[ivr][tones]") {
    EngineFixture fx(dialplan(R"(
  ["busy"] = function(call) call:answer() call:play_tone("busy", { plan = "us", duration = 1000 }) end,
  ["ringback"] = function(call)
    call:answer()
    call:set("tone_plan", "ru")
    call:set("key", call:play_tone("ringback", { interrupt = "#" }))
  end,
  ["errors"] = function(call)
    call:answer()
    call:set("plan", select(2, pcall(call.play_tone, call, "busy", { plan = "xx" })))
  end,
)"));
    CHECK(frames_out(cdr_of(fx, fx.originate("local/silent@test", "busy"))) == 50);
    auto ringback = cdr_of(fx, fx.originate("local/presshash@test", "ringback"));
    CHECK(ringback["vars"]["key"] == "#");
    CHECK(frames_out(ringback) <= 15 + 8);
    auto errors = cdr_of(fx, fx.originate("local/silent@test", "errors"));
    CHECK(errors["vars"]["plan"].get<std::string>().find("play_tone: unknown tone plan 'xx' (eu, ru, us)") !=
          std::string::npos);
}

TEST_CASE("in-band DTMF gives the same digits as signalled DTMF", "[ivr][dtmf]") {
    // A WAV of the digits 1590 at 16 kHz (resampled to the 8 kHz leg on the
    // way), written here from the DTMF frequency pairs.
    const std::string sounds = tandem::test::make_temp_dir();
    {
        const uint32_t rate = 16000;
        const std::pair<double, double> keys[] = {{697, 1209}, {770, 1336}, {852, 1477}, {941, 1336}};
        std::vector<int16_t> pcm;
        for (auto [low, high] : keys) {
            auto a = tandem::test::sine(low, rate, rate / 10, 6000);
            auto b = tandem::test::sine(high, rate, rate / 10, 6000);
            for (size_t i = 0; i < a.size(); ++i)
                pcm.push_back(static_cast<int16_t>(a[i] + b[i]));
            pcm.insert(pcm.end(), rate / 10, 0);
        }
        REQUIRE(tandem::test::write_audio(sounds + "/dtmf-1590.wav", rate, pcm.data(), pcm.size()));
    }
    EngineFixture fx(dialplan(R"(
  ["reader"] = function(call)
    call:answer()
    call:set("dtmf_inband", call:get("inband") or "1")
    local digits, why = call:read{ max = 4, timeout = 2500 }
    call:set("result", tostring(digits) .. "/" .. why)
  end,
  ["signalled"] = function(call) call:answer() call:sleep(200) call:send_dtmf("1590") call:sleep(15000) end,
  ["tones"] = function(call)
    call:answer()
    call:sleep(200)
    call:play("tone:697+1209/100,0/100,770+1336/100,0/100,852+1477/100,0/100,941+1336/100,0/100")
    call:sleep(15000)
  end,
  ["wav"] = function(call) call:answer() call:sleep(200) call:play("dtmf-1590") call:sleep(15000) end,
)"),
                     sounds_at(sounds));
    CHECK(cdr_of(fx, fx.originate("local/signalled@test", "reader"))["vars"]["result"] == "1590/max");
    CHECK(cdr_of(fx, fx.originate("local/tones@test", "reader"))["vars"]["result"] == "1590/max");
    CHECK(cdr_of(fx, fx.originate("local/wav@test", "reader"))["vars"]["result"] == "1590/max");
    size_t inband = 0;
    for (auto &e : fx.events_of(EventType::dtmf))
        if (e.field("source") && *e.field("source") == "inband")
            ++inband;
    CHECK(inband == 8);
    // Off unless asked for: the same tones are just audio.
    CHECK(cdr_of(fx, fx.originate("local/tones@test", "reader", "test", {{"inband", "0"}}))["vars"]["result"] ==
          "nil/timeout");
}
