// The CDR of a real call, written as JSON text on the worker: every field
// with its type, as the call_end event carries it and as the file sink
// stores it, and its recording records.
#include "engine_fixture.hpp"
#include "records/cdr.hpp"
#include "records/quality.hpp"
#include "runtime/ids.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <regex>
#include <set>
#include <nlohmann/json.hpp>

using nlohmann::json;
using tandem::test::EngineFixture;

namespace {
std::vector<json> lines_of(const std::string &path) {
    std::vector<json> out;
    std::ifstream f(path);
    for (std::string line; std::getline(f, line);)
        out.push_back(json::parse(line));
    return out;
}

std::string gmtime_text(uint64_t us) {
    time_t secs = static_cast<time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
}
} // namespace

TEST_CASE("iso_time agrees with gmtime across leap days, centuries and year ends", "[records]") {
    for (uint64_t secs : {0ull, 951782400ull /* 2000-02-29 */, 951868800ull, 1709164800ull /* 2024-02-29 */,
                          1735689599ull /* 2024-12-31T23:59:59 */, 1735689600ull, 4107542400ull /* 2100-03-01 */,
                          4102444799ull, 253402300799ull /* 9999-12-31T23:59:59 */})
        for (uint64_t frac : {0ull, 1ull, 999999ull})
            CHECK(tandem::records::iso_time(secs * 1000000 + frac) == gmtime_text(secs * 1000000 + frac));
    for (uint64_t us = 1000000; us < 4000000000ull * 1000000; us = us * 3 + 86399999999ull)
        CHECK(tandem::records::iso_time(us) == gmtime_text(us));
}

TEST_CASE("a call's CDR carries every field with its type, escaped, as event and in the file sink", "[records]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["rec"] = function(call)
    call:answer()
    call:set("accountcode", 'acct "7"')
    call:set("rtcp_jitter_ms", "12.5")
    call:set("rtcp_loss_pct", "1")
    call:set("sip_status", "486")
    call:set("note", "line1\nline2\t\1 caf\195\169 bad\255 \\end")
    call:set("recording_file", "/nonexistent/a.wav,,/nonexistent/b.wav")
    call:set("recording_emitted", "/nonexistent/b.wav")
    call:hangup()
  end,
  ["peer"] = function(call) call:answer(); call:sleep(10000) end,
} } }
)",
                     "records = { tenant = 'acme', variables = { 'note', 'unset_var' } },");
    std::string id = fx.originate("local/peer@test", "rec");
    std::string text = fx.wait_call_end(id);
    REQUIRE(!text.empty());
    json live = json::parse(text);

    CHECK(live["kind"] == "cdr");
    CHECK(live["id"].get<std::string>().size() == 36);
    CHECK(live["call_id"] == id);
    CHECK(live["linked_id"] == id);
    CHECK(live["tenant"] == "acme");
    CHECK(live["accountcode"] == "acct \"7\"");
    CHECK(live["source"] == "local/peer@test");
    CHECK(live["source_driver"] == "local");
    CHECK(live["internal"] == true);
    CHECK(live["context"] == "test");
    CHECK(live["destination"].is_null());
    CHECK(live["routed_caller_num"].is_null());
    CHECK(live["routed_called"] == "rec");
    CHECK(live["queue"].is_null());
    CHECK(live["agent"].is_null());
    CHECK(live["disposition"] == "answered");
    CHECK(live["hangup_side"] == "system");
    CHECK(live["cause"] == 16);
    CHECK(live["cause_name"] == "normal_clearing");
    CHECK(live["sip_code"].is_number_integer());
    CHECK(live["sip_code"] == 486);
    CHECK(!live.contains("dialplan_error"));

    // Times: ISO text and µs agree, durations round up to whole seconds.
    auto us = [&](const char *k) { return live[k].get<uint64_t>(); };
    CHECK(live["start_time"] == gmtime_text(us("start_us")));
    CHECK(live["answer_time"] == gmtime_text(us("answer_us")));
    CHECK(live["end_time"] == gmtime_text(us("end_us")));
    CHECK(us("duration_us") == us("end_us") - us("start_us"));
    CHECK(us("billsec_us") == us("end_us") - us("answer_us"));
    CHECK(us("duration") == (us("duration_us") + 999999) / 1000000);
    CHECK(us("billsec") == (us("billsec_us") + 999999) / 1000000);

    // Quality: the E-model of what RTCP said, MOS to 2 decimals, R to 1.
    auto est = tandem::records::estimate_quality({12.5, 1.0, std::nullopt});
    REQUIRE(est);
    CHECK(live["jitter_ms"] == 12.5);
    CHECK(live["loss_pct"].is_number_float());
    CHECK(live["loss_pct"] == 1.0);
    CHECK(live["rtt_ms"].is_null());
    CHECK(live["mos"].get<double>() == std::round(est->mos * 100) / 100);
    CHECK(live["r_factor"].get<double>() == std::round(est->r_factor * 10) / 10);

    // Strings with quotes, control characters and a byte that is not UTF-8.
    CHECK(live["variables"] == json{{"note", "line1\nline2\t\x01 caf\xC3\xA9 bad\xEF\xBF\xBD \\end"}});
    CHECK(live["recordings"] == json::array({"/nonexistent/a.wav", "/nonexistent/b.wav"}));

    REQUIRE(live["legs"].size() == 1);
    const json &leg = live["legs"][0];
    CHECK(leg["name"] == "local/peer@test");
    CHECK(leg["driver"] == "local");
    CHECK(leg["direction"] == "outbound");
    CHECK(leg["start_time"].is_string());
    CHECK(leg["answer_time"].is_string());
    CHECK(leg["end_time"].is_string());
    CHECK(leg["cause"] == 16);
    CHECK(leg["sip_code"].is_number_float()); // a leg's numeric variables are kept as numbers, as read
    CHECK(leg["sip_code"] == 486.0);
    CHECK(leg["ended_by_far_end"] == false);
    CHECK(leg["codec"] == live["codec"]);
    CHECK(leg["quality"]["mos"] == live["mos"]);
    CHECK(leg["quality"]["jitter_ms"] == 12.5);
    CHECK(leg["quality"]["rx_packets"].is_null());
    CHECK(leg["frames_in"].is_number_unsigned());

    // The event adds what live observers see: every channel variable.
    CHECK(live["vars"]["recording_emitted"] == "/nonexistent/b.wav");
    CHECK(live["vars"]["note"] == live["variables"]["note"]);
    CHECK(live["exten"] == "rec");
    CHECK(live["channel"] == "local/peer@test");

    // The stored record is the same, without the live-only fields.
    std::string dir = fx.dir() + "/data/records/";
    json stored;
    REQUIRE(EngineFixture::poll_until([&] {
        for (auto &r : lines_of(dir + "cdr.jsonl"))
            if (r["call_id"] == id)
                stored = r;
        return !stored.is_null();
    }));
    json expected = live;
    expected.erase("vars");
    expected.erase("exten");
    expected.erase("channel");
    CHECK(stored == expected);

    // b.wav's record is the record module's to write; a.wav gets one here.
    std::vector<json> recordings;
    REQUIRE(EngineFixture::poll_until([&] {
        recordings = lines_of(dir + "recording.jsonl");
        return !recordings.empty();
    }));
    REQUIRE(recordings.size() == 1);
    CHECK(recordings[0]["kind"] == "recording");
    CHECK(recordings[0]["file"] == "/nonexistent/a.wav");
    CHECK(recordings[0]["call_id"] == id);
    CHECK(recordings[0]["tenant"] == "acme");
    CHECK(recordings[0]["start_time"] == live["answer_time"]);
    CHECK(recordings[0]["end_time"] == live["end_time"]);
    CHECK(recordings[0]["bytes"].is_null());
    CHECK(recordings[0]["id"] != live["id"]);
}

TEST_CASE("record ids are distinct UUIDv7s that start with the time they were made") {
    const std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    uint64_t before_ms = tandem::ids::now_us() / 1000;
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        std::string id = tandem::records::new_record_id();
        REQUIRE(std::regex_match(id, shape));
        seen.insert(id);
    }
    uint64_t after_ms = tandem::ids::now_us() / 1000;
    CHECK(seen.size() == 1000);
    std::string first = *seen.begin();
    uint64_t ms = std::stoull(first.substr(0, 8) + first.substr(9, 4), nullptr, 16);
    CHECK(ms >= before_ms);
    CHECK(ms <= after_ms);
}
