// Dialplans end to end inside a real engine: local channels, coroutines,
// waiting operations, bridges, errors, limits and reload.
#include "engine_fixture.hpp"

#include <set>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace tandem;
using nlohmann::json;
using tandem::test::EngineFixture;

namespace {
json cdr_of(EngineFixture &fx, const std::string &id) {
    std::string text = fx.wait_call_end(id);
    REQUIRE(!text.empty());
    return json::parse(text);
}
} // namespace

TEST_CASE("a call answers, reads DTMF sent by the far end, and hangs up", "[dialplan]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["ivr"] = function(call)
    call:answer()
    local digits, why = call:read{ min = 1, max = 4, timeout = 2000, terminator = "#" }
    call:set("digits", digits)
    call:set("why", why)
    local none, why2 = call:read{ max = 2, timeout = 100 }
    call:set("second", tostring(none) .. "/" .. why2)
    call:hangup("user_busy")
  end,
  ["keypad"] = function(call)
    call:answer()
    call:sleep(100)
    call:send_dtmf("12#")
    call:sleep(5000)
  end,
} } }
)");
    auto id = fx.originate("local/keypad@test", "ivr");
    auto cdr = cdr_of(fx, id);
    CHECK(cdr["vars"]["digits"] == "12");
    CHECK(cdr["vars"]["why"] == "terminator");
    CHECK(cdr["vars"]["second"] == "nil/timeout");
    CHECK(cdr["cause"] == 17);
    CHECK(cdr["disposition"] == "answered");
    // Three DTMF events reached the bus.
    CHECK(fx.events_of(EventType::dtmf).size() >= 3);
}

TEST_CASE("no route hangs up with cause 1 (unallocated)", "[dialplan]") {
    EngineFixture fx(R"(return { contexts = { test = { ["peer"] = function(call) call:answer() call:sleep(5000) end } } })");
    auto id = fx.originate("local/peer@test", "999");
    auto cdr = cdr_of(fx, id);
    CHECK(cdr["cause"] == 1);
}

TEST_CASE("patterns route by specificity, exact numbers win", "[dialplan]") {
    EngineFixture fx(R"(
local function mark(name) return function(call) call:answer() call:set("route", name) end end
return { contexts = { test = {
  ["_1XXX"] = mark("1XXX"),
  ["_12XX"] = mark("12XX"),
  ["1234"] = mark("exact"),
  ["_X."] = mark("catchall"),
  ["peer"] = function(call) call:answer() call:sleep(5000) end,
} } }
)");
    CHECK(cdr_of(fx, fx.originate("local/peer@test", "1234"))["vars"]["route"] == "exact");
    CHECK(cdr_of(fx, fx.originate("local/peer@test", "1235"))["vars"]["route"] == "12XX");
    CHECK(cdr_of(fx, fx.originate("local/peer@test", "1999"))["vars"]["route"] == "1XXX");
    CHECK(cdr_of(fx, fx.originate("local/peer@test", "55555"))["vars"]["route"] == "catchall");
}

TEST_CASE("dial rings targets in parallel, busy, no answer and answer are reported", "[dialplan]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["busy"] = function(call) call:hangup("user_busy") end,
  ["slow"] = function(call) call:ring() call:sleep(10000) end,
  ["agent"] = function(call) call:sleep(200) call:answer() call:play("tone:440/400") call:sleep(200) end,
  ["dial-busy"] = function(call)
    local st, leg, cause = call:dial("local/busy@test")
    call:set("status", st) call:set("cause", cause)
  end,
  ["dial-noanswer"] = function(call)
    local st = call:dial("local/slow@test", { timeout = 1 })
    call:set("status", st)
  end,
  ["dial-parallel"] = function(call)
    call:set("inherited", "yes")
    local st, leg = call:dial({ "local/busy@test", "local/slow@test", "local/agent@test" }, { timeout = 5 })
    call:set("status", st)
    call:set("winner", leg.name)
    call:set("agent_saw", tostring(leg:get("inherited")))
    call:set("how", call:bridge(leg))
  end,
  ["bad"] = function(call) call:set("status", (call:dial("nosuchdriver/1"))) end,
  ["peer"] = function(call) call:answer() call:sleep(10000) end,
} } }
)");
    auto busy = cdr_of(fx, fx.originate("local/peer@test", "dial-busy"));
    CHECK(busy["vars"]["status"] == "busy");
    CHECK(busy["vars"]["cause"] == "17");
    CHECK(cdr_of(fx, fx.originate("local/peer@test", "dial-noanswer"))["vars"]["status"] == "noanswer");
    CHECK(cdr_of(fx, fx.originate("local/peer@test", "bad"))["vars"]["status"] == "unavailable");

    auto par = cdr_of(fx, fx.originate("local/peer@test", "dial-parallel"));
    CHECK(par["vars"]["status"] == "answer");
    CHECK(par["vars"]["winner"] == "local/agent@test");
    CHECK(par["vars"]["agent_saw"] == "yes");
    CHECK(par["vars"]["how"] == "peer_hangup");
    // The bridge carried the agent's tone frames to the caller side.
    bool relayed = false;
    for (auto &e : fx.events_of(EventType::unbridge))
        if (e.call_id == par["call_id"] && std::stoi(*e.field("frames")) >= 10)
            relayed = true;
    CHECK(relayed);
    // The slow leg lost with cause 26 (answered elsewhere).
    bool elsewhere = false;
    for (auto &leg : par["legs"])
        if (leg["name"] == "local/slow@test" && leg["cause"] == 26)
            elsewhere = true;
    CHECK(elsewhere);
}

TEST_CASE("play is interrupted by a DTMF digit and returns it", "[dialplan]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["menu"] = function(call)
    call:answer()
    local d = call:play({ "tone:440/5000", "tone:0/5000" }, { interrupt = "5" })
    call:set("digit", d)
    call:set("missing", tostring(call:play("no-such-prompt")))
  end,
  ["caller"] = function(call) call:answer() call:sleep(200) call:send_dtmf("5") call:sleep(10000) end,
} } }
)");
    auto start = std::chrono::steady_clock::now();
    auto cdr = cdr_of(fx, fx.originate("local/caller@test", "menu"));
    CHECK(cdr["vars"]["digit"] == "5");
    CHECK(cdr["vars"]["missing"] == "nil");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
}

TEST_CASE("transfer runs another entry, on_hangup runs after the caller leaves", "[dialplan]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["start"] = function(call)
    call:answer()
    call:set("path", "start")
    call:on_hangup(function(c) c:set("hook", "ran:" .. c.state) end)
    call:transfer("next")
    call:set("path", "not reached")
  end,
  ["next"] = function(call)
    call:set("path", call:get("path") .. ">next@" .. call.context)
    call:sleep(10000)
    call:set("path", "not reached either")
  end,
  ["caller"] = function(call) call:answer() call:sleep(300) call:hangup() end,
} } }
)");
    auto cdr = cdr_of(fx, fx.originate("local/caller@test", "start"));
    CHECK(cdr["vars"]["path"] == "start>next@test");
    CHECK(cdr["vars"]["hook"] == "ran:hungup");
}

TEST_CASE("a script error ends only that call, after on_error, with file:line", "[dialplan]") {
    EngineFixture fx(R"(
return {
  on_error = function(call, err) call:set("fallback", err) end,
  contexts = { test = {
    ["boom"] = function(call)
      call:answer()
      local x = nil
      return x.field
    end,
    ["fine"] = function(call) call:answer() call:sleep(300) call:set("ok", "yes") end,
    ["peer"] = function(call) call:answer() call:sleep(10000) end,
  } },
}
)");
    auto fine = fx.originate("local/peer@test", "fine");
    auto boom = fx.originate("local/peer@test", "boom");
    auto cdr = cdr_of(fx, boom);
    CHECK(cdr["dialplan_error"].get<std::string>().find("dialplan.lua:8:") != std::string::npos);
    CHECK(cdr["vars"]["fallback"].get<std::string>().find("attempt to index a nil value") != std::string::npos);
    CHECK(cdr_of(fx, fine)["vars"]["ok"] == "yes");
}

TEST_CASE("instruction and memory limits stop a runaway script and spare the others", "[dialplan][limits]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["spin"] = function(call) call:answer() while true do end end,
  ["hog"] = function(call)
    call:answer()
    local t = {}
    for i = 1, 10000000 do t[i] = ("x"):rep(64) .. i end
  end,
  ["fine"] = function(call) call:answer() call:sleep(200) call:set("ok", "yes") end,
  ["peer"] = function(call) call:answer() call:sleep(10000) end,
} } }
)",
                     "limits = { instructions = 200000, memory_kb = 512 },", 1);
    auto fine = fx.originate("local/peer@test", "fine");
    auto spin = cdr_of(fx, fx.originate("local/peer@test", "spin"));
    CHECK(spin["dialplan_error"].get<std::string>().find("instruction limit exceeded") != std::string::npos);
    CHECK(spin["dialplan_error"].get<std::string>().find("dialplan.lua:3:") != std::string::npos); // where it spun
    auto hog = cdr_of(fx, fx.originate("local/peer@test", "hog"));
    CHECK(hog["dialplan_error"].get<std::string>().find("not enough memory") != std::string::npos);
    CHECK(cdr_of(fx, fine)["vars"]["ok"] == "yes");
}

TEST_CASE("reload swaps the dialplan for new calls while running calls keep their code", "[dialplan][reload]") {
    std::string v1 = R"(
return { contexts = { test = {
  ["who"] = function(call) call:answer() call:sleep(600) call:set("version", "v1") end,
  ["peer"] = function(call) call:answer() call:sleep(10000) end,
} } }
)";
    EngineFixture fx(v1);
    auto old_call = fx.originate("local/peer@test", "who");
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    std::string v2 = v1;
    v2.replace(v2.find("\"v1\""), 4, "\"v2\"");
    tandem::test::write_file(fx.dialplan_path(), v2);
    bool ok = false;
    std::string text = fx.console({"reload"}, &ok);
    INFO(text);
    REQUIRE(ok);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto new_call = fx.originate("local/peer@test", "who");
    CHECK(cdr_of(fx, old_call)["vars"]["version"] == "v1");
    CHECK(cdr_of(fx, new_call)["vars"]["version"] == "v2");

    // A broken dialplan is refused and the running one stays.
    tandem::test::write_file(fx.dialplan_path(), "return { contexts = { test = { ['x'] = function( } } }");
    text = fx.console({"reload"}, &ok);
    CHECK_FALSE(ok);
    CHECK(text.find("dialplan.lua:1:") != std::string::npos);
    CHECK(cdr_of(fx, fx.originate("local/peer@test", "who"))["vars"]["version"] == "v2");
}

TEST_CASE("console lists calls and legs and hangs a call up", "[console]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["wait"] = function(call) call:answer() call:sleep(30000) end,
  ["peer"] = function(call) call:answer() call:sleep(30000) end,
} } }
)");
    auto id = fx.originate("local/peer@test", "wait");
    REQUIRE(EngineFixture::poll_until([&] { return fx.console({"calls"}).find(id) != std::string::npos; }));
    std::string legs = fx.console({"legs"});
    CHECK(legs.find(id + ".1") != std::string::npos);
    CHECK(fx.console({"status"}).find("2 calls now") != std::string::npos);
    bool ok = false;
    fx.console({"hangup", id, "21"}, &ok);
    CHECK(ok);
    CHECK(cdr_of(fx, id)["cause"] == 21);
    fx.console({"hangup", "no-such-call"}, &ok);
    CHECK_FALSE(ok);
}

TEST_CASE("every leg has its own id: an inbound call's dialled leg is not its channel's twin", "[console]") {
    // The inbound half of local/caller dials callee: its channel is leg 1,
    // the dialled leg must be leg 2 (both were "CALL.1" once, so logs and
    // events mixed the two legs up).
    EngineFixture fx(R"(
return { contexts = { test = {
  ["start"] = function(call) call:answer() call:sleep(30000) end,
  ["caller"] = function(call) call:answer() call:dial("local/callee@test") call:sleep(30000) end,
  ["callee"] = function(call) call:answer() call:sleep(30000) end,
} } }
)");
    fx.originate("local/caller@test", "start");
    std::vector<std::string> ids;
    REQUIRE(EngineFixture::poll_until([&] {
        ids.clear();
        std::istringstream lines(fx.console({"legs"}));
        for (std::string line; std::getline(lines, line);) {
            std::string id = line.substr(0, line.find(' '));
            if (id.find('.') != std::string::npos)
                ids.push_back(id);
        }
        return ids.size() >= 4; // start's leg to caller, caller's channel and dialled leg, callee
    }));
    std::set<std::string> unique(ids.begin(), ids.end());
    CHECK(unique.size() == ids.size());
}

TEST_CASE("a transfer loop ends the call with an error instead of the engine", "[dialplan]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["loop"] = function(call) call:transfer("loop") end,
  ["peer"] = function(call) call:answer() call:sleep(10000) end,
} } }
)");
    auto cdr = cdr_of(fx, fx.originate("local/peer@test", "loop"));
    CHECK(cdr["dialplan_error"].get<std::string>().find("more than 100 transfers") != std::string::npos);
}

TEST_CASE("a prompt to a dialled leg that hangs up returns, type-ahead beyond a read is kept", "[dialplan]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["short"] = function(call) call:answer() call:sleep(300) end,
  ["prompt-agent"] = function(call)
    local st, agent = call:dial("local/short@test")
    call:set("st", st)
    call:set("play", tostring(agent:play("tone:440/5000")))
    call:set("after", "yes")
    call:set("gone_play", tostring(agent:play("tone:440/5000")))
    local d, why = agent:read{ timeout = 5000 }
    call:set("gone_read", tostring(d) .. "/" .. why)
  end,
  ["typeahead"] = function(call)
    call:answer()
    call:sleep(400)
    call:set("first", (call:read{ max = 3, timeout = 500 }))
    call:set("second", (call:read{ max = 5, timeout = 500 }))
  end,
  ["typist"] = function(call) call:answer() call:sleep(50) call:send_dtmf("98765#4") call:sleep(5000) end,
  ["peer"] = function(call) call:answer() call:sleep(10000) end,
} } }
)");
    auto start = std::chrono::steady_clock::now();
    auto cdr = cdr_of(fx, fx.originate("local/peer@test", "prompt-agent"));
    CHECK(cdr["vars"]["st"] == "answer");
    CHECK(cdr["vars"]["play"] == "nil");
    CHECK(cdr["vars"]["after"] == "yes");
    CHECK(cdr["vars"]["gone_play"] == "nil");
    CHECK(cdr["vars"]["gone_read"] == "nil/hangup");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
    auto typed = cdr_of(fx, fx.originate("local/typist@test", "typeahead"));
    CHECK(typed["vars"]["first"] == "987");
    CHECK(typed["vars"]["second"] == "65"); // '#' ends the second read; "4" would be next
}

TEST_CASE("a parallel dial keeps ringing the others when one target fails at once", "[dialplan]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["agent"] = function(call) call:sleep(200) call:answer() call:sleep(300) end,
  ["dial"] = function(call)
    local st, leg = call:dial({ "local/@bad", "nosuch/1", "local/agent@test" }, { timeout = 5 })
    call:set("status", st)
  end,
  ["peer"] = function(call) call:answer() call:sleep(10000) end,
} } }
)");
    CHECK(cdr_of(fx, fx.originate("local/peer@test", "dial"))["vars"]["status"] == "answer");
}

TEST_CASE("prompt names cannot leave the sounds directory", "[dialplan]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["escape"] = function(call)
    call:answer()
    call:set("abs", tostring(call:play("/etc/passwd")))
    call:set("dots", tostring(call:play("../../../etc/hosts")))
  end,
  ["peer"] = function(call) call:answer() call:sleep(10000) end,
} } }
)");
    auto cdr = cdr_of(fx, fx.originate("local/peer@test", "escape"));
    CHECK(cdr["vars"]["abs"] == "nil");
    CHECK(cdr["vars"]["dots"] == "nil");
}

TEST_CASE("echo sends a leg's audio back until '#', a timeout or hang-up", "[dialplan]") {
    EngineFixture fx(R"(
return { contexts = { test = {
  ["echo"] = function(call) call:answer() call:set("how", call:echo(1500)) end,
  ["talker"] = function(call) call:answer() call:play("tone:440/1000") call:sleep(2000) end,
  ["presser"] = function(call) call:answer() call:sleep(300) call:send_dtmf("#") call:sleep(5000) end,
} } }
)");
    auto id = fx.originate("local/talker@test", "echo");
    CHECK(cdr_of(fx, id)["vars"]["how"] == "timeout");
    // The talker's leg got its own audio back: about 50 frames of tone.
    std::string talker = fx.wait_linked_call_end(id, "talker");
    REQUIRE(!talker.empty());
    CHECK(json::parse(talker)["legs"][0]["frames_in"].get<uint64_t>() >= 40);
    auto start = std::chrono::steady_clock::now();
    CHECK(cdr_of(fx, fx.originate("local/presser@test", "echo"))["vars"]["how"] == "#");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1400));
}
