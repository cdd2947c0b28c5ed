// The module loader against real shared libraries built for these tests.
#include "engine_fixture.hpp"
#include "runtime/events.hpp"
#include "runtime/translation.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace tandem;
using tandem::test::EngineFixture;

namespace {
const char *kDialplan = R"(
return { contexts = { test = {
  ["echo"] = function(call)
    call:answer()
    local a, b = call:test_echo("hello", 42)
    call:set("echo", a .. ":" .. tostring(b))
    local ok, err = pcall(call.test_echo, call, {})
    call:set("badarg", tostring(err))
    local ok2, err2 = pcall(call.test_fail, call)
    call:set("fail", tostring(err2))
    local ok3, err3 = pcall(call.test_echo, call, "a", 1, 2.5, "surplus")
    call:set("surplus", tostring(err3))
    call:set("trailing_nil", tostring((call:test_echo("x", nil))))
    call:set("pipe", tostring(call:test_pipe()))
    local data, instance = call:test_paths()
    call:set("paths", data .. "|" .. instance)
    call:on_hangup(function(c) c:set("in_hook", (c:test_echo("after"))) end)
  end,
  ["block"] = function(call) call:answer(); call:test_block() end,
  ["cid"] = function(call) call:answer(); call:dial("local/who@test", { caller_num = "4711", caller_name = "Alice" }) end,
  ["who"] = function(call)
    local num, name = call:test_caller()
    call:set("caller", num .. "/" .. name .. "/" .. call.caller_name)
  end,
  ["peer"] = function(call) call:answer(); call:sleep(10000) end,
} } }
)";
} // namespace

TEST_CASE("a good module loads, registers functions, and its functions run from the dialplan", "[loader]") {
    EngineFixture fx(kDialplan, "", 1, {TANDEM_TEST_MODULE_DIR});
    std::string error;
    REQUIRE(fx.engine().modules().load("testgood", error));
    auto snapshot = fx.engine().registry().snapshot();
    CHECK(snapshot->functions.count("test_echo") == 1);
    // The module tried to register "answer", a built-in method: refused.
    CHECK(snapshot->functions.count("answer") == 0);

    auto id = fx.originate("local/peer@test", "echo");
    auto cdr = nlohmann::json::parse(fx.wait_call_end(id));
    CHECK(cdr["vars"]["echo"] == "hello:42");
    CHECK(cdr["vars"]["badarg"].get<std::string>().find("bad argument #1 to 'test_echo' (string expected, got table)") !=
          std::string::npos);
    CHECK(cdr["vars"]["fail"].get<std::string>().find("test_fail: refused on purpose") != std::string::npos);
    CHECK(cdr["vars"]["surplus"].get<std::string>().find("too many arguments to 'test_echo'") != std::string::npos);
    CHECK(cdr["vars"]["in_hook"] == "after"); // synchronous module functions work in on_hangup
    CHECK(cdr["vars"]["trailing_nil"] == "x"); // an explicit nil is an absent optional argument
    CHECK(cdr["vars"]["pipe"] == "42");        // fd_watch woke the worker with the byte
    CHECK(cdr["vars"]["paths"] == fx.dir() + "/data|test"); // instance_path / instance_name
}

TEST_CASE("the loader refuses a wrong ABI major, a missing dependency and a duplicate name", "[loader]") {
    EngineFixture fx(kDialplan, "", 1, {TANDEM_TEST_MODULE_DIR});
    std::string error;
    CHECK_FALSE(fx.engine().modules().load("testabi", error));
    CHECK(error.find("built for ABI 2.0, this engine speaks ABI 1." + std::to_string(TANDEM_ABI_MINOR)) != std::string::npos);

    CHECK_FALSE(fx.engine().modules().load("testmissingdep", error));
    CHECK(error.find("needs no_such_module, which is not available") != std::string::npos);

    CHECK_FALSE(fx.engine().modules().load("no_such_module", error));
    CHECK(error.find("not found") != std::string::npos);

    REQUIRE(fx.engine().modules().load("testgood", error));
    CHECK_FALSE(fx.engine().modules().load("testdup", error));
    CHECK(error.find("testgood is already loaded") != std::string::npos);
    CHECK_FALSE(fx.engine().modules().load("testgood", error));

    // Nothing refused left a trace in the module list.
    std::vector<std::string> names;
    for (auto &m : fx.engine().modules().list())
        names.push_back(m.name);
    CHECK(names == std::vector<std::string>{"local", "testgood"});
}

TEST_CASE("dependencies load first and cannot unload under a dependent", "[loader]") {
    EngineFixture fx(kDialplan, "", 1, {TANDEM_TEST_MODULE_DIR});
    std::string error;
    REQUIRE(fx.engine().modules().load("testneeds", error));
    auto list = fx.engine().modules().list();
    REQUIRE(list.size() == 3);
    CHECK(list[1].name == "testgood"); // loaded before its dependent
    CHECK(list[2].name == "testneeds");
    CHECK_FALSE(fx.engine().modules().unload("testgood", error));
    CHECK(error.find("needed by testneeds") != std::string::npos);
    CHECK(fx.engine().modules().unload("testneeds", error));
    CHECK(fx.engine().modules().unload("testgood", error));
}

TEST_CASE("a module cannot unload while a call is inside it, and says why", "[loader]") {
    EngineFixture fx(kDialplan, "", 1, {TANDEM_TEST_MODULE_DIR});
    std::string error;
    REQUIRE(fx.engine().modules().load("testgood", error));
    auto id = fx.originate("local/peer@test", "block");
    // Wait until the call sits inside test_block.
    REQUIRE(EngineFixture::poll_until([&] { return fx.engine().modules().find("testgood")->users.load() > 0; }));
    bool ok = true;
    std::string text = fx.console({"module", "unload", "testgood"}, &ok);
    CHECK_FALSE(ok);
    CHECK(text.find("testgood is in use by 1") != std::string::npos);
    // The local driver is in use by the call's legs too.
    text = fx.console({"module", "unload", "local"}, &ok);
    CHECK_FALSE(ok);
    CHECK(text.find("in use") != std::string::npos);

    fx.console({"hangup", id}, &ok);
    CHECK(ok);
    CHECK(!fx.wait_call_end(id).empty());
    CHECK(fx.console({"test-cancelled"}) == "1"); // the suspended invocation was cancelled
    text = fx.console({"module", "unload", "testgood"}, &ok);
    INFO(text);
    CHECK(ok);
    CHECK(fx.engine().registry().snapshot()->functions.count("test_echo") == 0);
    // And it can come back.
    CHECK(fx.engine().modules().load("testgood", error));
}

TEST_CASE("a translation chain through a module's codec keeps that module loaded", "[loader]") {
    EngineFixture fx(kDialplan, "", 1, {TANDEM_TEST_MODULE_DIR});
    std::string error;
    REQUIRE(fx.engine().modules().load("testgood", error));
    auto held = HeldTranslator::create(*fx.engine().registry().snapshot(), media::kSlin16,
                                       media::intern_format("TESTX"), error);
    INFO(error);
    REQUIRE(held);
    CHECK(held->get().describe() == "slin16 -> slin8 -> TESTX");
    CHECK_FALSE(fx.engine().modules().unload("testgood", error));
    CHECK(error.find("in use") != std::string::npos);
    held.reset();
    CHECK(fx.engine().modules().unload("testgood", error));
}

TEST_CASE("a module reads and sets a leg's caller identity (ABI 1.1)", "[loader]") {
    EngineFixture fx(kDialplan, "", 1, {TANDEM_TEST_MODULE_DIR});
    std::string error;
    REQUIRE(fx.engine().modules().load("testgood", error));
    auto id = fx.originate("local/peer@test", "cid");
    REQUIRE(!fx.wait_call_end(id).empty());
    std::string who = fx.wait_linked_call_end(id, "who"); // the dialled call shares the linked_id
    REQUIRE(!who.empty());
    CHECK(nlohmann::json::parse(who)["vars"].value("caller", "") == "4711/Alice/Renamed"); // the local leg inherited the dialled caller id
}
