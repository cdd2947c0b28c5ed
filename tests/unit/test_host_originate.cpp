// host->originate (ABI 1.5): a module places a call that runs the dialplan
// once answered; a refusal's code says why, so a module can tell a passing
// refusal (TANDEM_EBUSY) from a destination that will never work.
#include "engine_fixture.hpp"
#include "modules/host_table.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using tandem::test::EngineFixture;

namespace {
const char *kDialplan = R"(return { contexts = { test = {
  ["peer"] = function(call) call:answer(); call:sleep(10000) end,
  ["done"] = function(call) call:hangup() end,
  ["hold"] = function(call) call:sleep(10000) end,
} } })";
} // namespace

TEST_CASE("host originate places a call, and a refusal's code says why") {
    EngineFixture fx(kDialplan, "", 1);
    const tandem_host *host = tandem::host_table();
    char id[64] = "";
    const tandem_field vars[] = {{"customer", "42"}};
    REQUIRE(host->originate(nullptr, "local/peer@test", "done", "test", vars, 1, id, sizeof id) == TANDEM_OK);
    CHECK(!fx.wait_call_end(id).empty()); // answered, ran `done`, ended

    CHECK(host->originate(nullptr, "nosuch/1", "done", "test", nullptr, 0, id, sizeof id) == TANDEM_ENOENT);
    CHECK(host->originate(nullptr, "no-driver-part", "done", "test", nullptr, 0, id, sizeof id) == TANDEM_EINVAL);
    CHECK(host->originate(nullptr, "/1", "done", "test", nullptr, 0, id, sizeof id) == TANDEM_EINVAL);
    CHECK(host->originate(nullptr, nullptr, "done", "test", nullptr, 0, id, sizeof id) == TANDEM_EINVAL);
    size_t started = fx.events_of(tandem::EventType::call_start).size();
    char tiny[TANDEM_CALL_ID_SIZE - 1];
    CHECK(host->originate(nullptr, "local/peer@test", "done", "test", nullptr, 0, tiny, sizeof tiny) == TANDEM_EINVAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // a placed call would have started by now
    CHECK(fx.events_of(tandem::EventType::call_start).size() == started); // refused before placing a call
}

TEST_CASE("host originate is refused as busy at the call limit") {
    EngineFixture fx(kDialplan, "limits = { max_calls = 2 },", 1);
    const tandem_host *host = tandem::host_table();
    char id[64] = "";
    REQUIRE(host->originate(nullptr, "local/peer@test", "hold", "test", nullptr, 0, id, sizeof id) == TANDEM_OK);
    REQUIRE(EngineFixture::poll_until([&] { return fx.engine().stats().calls >= 2; })); // both halves up
    CHECK(host->originate(nullptr, "local/peer@test", "hold", "test", nullptr, 0, id, sizeof id) == TANDEM_EBUSY);
}
