// The leg state machine: forward only, one hang-up, the driver told once.
#include "engine_fixture.hpp"
#include "runtime/leg.hpp"
#include "runtime/worker.hpp"

#include <catch2/catch.hpp>

using namespace tandem;

namespace {
struct DriverLog {
    int hangups = 0;
    int last_cause = 0;
    int frames = 0;
};
DriverLog g_log;

int d_request(void *, tandem_leg *, const char *) { return TANDEM_OK; }
void d_hangup(void *, tandem_leg *, int cause) {
    ++g_log.hangups;
    g_log.last_cause = cause;
}
int d_write(void *, tandem_leg *, const tandem_frame *) {
    ++g_log.frames;
    return TANDEM_OK;
}
const tandem_channel_driver kDriver = {sizeof(tandem_channel_driver), "fake", "test", nullptr, d_request, nullptr,
                                       nullptr, d_hangup, d_write};

Ref<Leg> make_leg(Engine &engine) {
    return Ref<Leg>(new Leg(engine.worker(0), "L-1", "C-1", "C-1", Direction::outbound,
                            Registered<tandem_channel_driver>{&kDriver, nullptr}, ModuleUse::acquire(nullptr)));
}
} // namespace

TEST_CASE("leg states only move forward and may skip", "[leg]") {
    test::EngineFixture fx("return { contexts = {} }", "", 1);
    auto leg = make_leg(fx.engine());
    CHECK(leg->state() == LegState::down);
    CHECK(leg->set_state(LegState::ringing));
    CHECK_FALSE(leg->set_state(LegState::down));
    CHECK_FALSE(leg->set_state(LegState::ringing));
    CHECK(leg->set_state(LegState::up)); // early skipped
    CHECK(leg->answered_us != 0);
    CHECK_FALSE(leg->set_state(LegState::early));
    CHECK(leg->state() == LegState::up);
}

TEST_CASE("hang-up by the engine tells the driver once, with the cause", "[leg]") {
    test::EngineFixture fx("return { contexts = {} }", "", 1);
    g_log = {};
    auto leg = make_leg(fx.engine());
    leg->set_state(LegState::up);
    leg->hangup(TANDEM_CAUSE_USER_BUSY);
    leg->hangup(TANDEM_CAUSE_NORMAL_CLEARING);
    CHECK(g_log.hangups == 1);
    CHECK(g_log.last_cause == 17);
    CHECK(leg->state() == LegState::hungup);
    CHECK(leg->cause() == 17);
    CHECK_FALSE(leg->set_state(LegState::up));
    // A hung-up leg writes nothing to its driver.
    media::Frame f;
    f.set_dtmf('1', 100);
    CHECK(leg->write(f) == TANDEM_EGONE);
    CHECK(g_log.frames == 0);
}

TEST_CASE("a remote hang-up is not echoed back to the driver, bad causes are normalised", "[leg]") {
    test::EngineFixture fx("return { contexts = {} }", "", 1);
    g_log = {};
    auto leg = make_leg(fx.engine());
    leg->remote_hangup(500);
    CHECK(g_log.hangups == 0);
    CHECK(leg->state() == LegState::hungup);
    CHECK(leg->cause() == TANDEM_CAUSE_NORMAL_UNSPECIFIED);
    leg->hangup(16);
    CHECK(g_log.hangups == 0);
}

TEST_CASE("state changes reach the event bus in order", "[leg]") {
    test::EngineFixture fx("return { contexts = {} }", "", 1);
    auto leg = make_leg(fx.engine());
    leg->set_state(LegState::ringing);
    leg->set_state(LegState::up);
    leg->hangup(16);
    fx.engine().events().flush();
    std::vector<std::string> states;
    for (auto &e : fx.events_of(EventType::leg_state))
        if (e.leg_id == "L-1")
            states.push_back(*e.field("state"));
    CHECK(states == std::vector<std::string>{"ringing", "up", "hungup"});
}
