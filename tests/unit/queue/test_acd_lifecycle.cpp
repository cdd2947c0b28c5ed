// Every way an offer, a caller and an agent's state can end, one by one:
// no path leaves an agent reserved.
#include "acd_world.hpp"

#include <catch2/catch.hpp>

using namespace acdtest;

TEST_CASE("the caller hangs up while the agent's phone rings") {
    World w;
    QueueId q = w.queue(Strategy::Linear);
    AgentId a = w.ready_agent(q);
    w.at(5000);
    CallerId c = w.caller(q);
    w.at(8000);
    REQUIRE(w.acd.state(a) == AgentState::Reserved);
    w.acd.leave(c, ExitReason::Abandoned, w.now);
    CHECK(w.said.withdrawn == std::vector<std::pair<OfferId, OfferEnd>>{{w.last_offer(), OfferEnd::Cancelled}});
    CHECK(w.acd.state(a) == AgentState::Available);
    CHECK(w.said.left.back() == std::pair<CallerId, ExitReason>{c, ExitReason::Abandoned});
    REQUIRE(w.count_rows("ABANDON") == 1);
    const LogRow &abandon = w.said.rows.back();
    CHECK(abandon.a == 1);    // position
    CHECK(abandon.b == 1);    // original position
    CHECK(abandon.c == 3000); // waited
    CHECK(w.acd.next_deadline() == INT64_MAX); // the ring timeout went with the offer
}

TEST_CASE("an offer rings out: the next agent, and auto-pause after N in a row") {
    World w;
    QueueConfig c;
    c.ring_timeout = 15000;
    c.auto_pause_after = 2;
    c.noanswer_delay = 1000;
    c.busy_delay = 5000;
    QueueId q = w.queue(Strategy::Linear, c);
    AgentId sleepy = w.ready_agent(q, {1, 1, 1}), other = w.ready_agent(q, {1, 2, 1});
    w.caller(q);
    REQUIRE(w.last_agent() == sleepy);
    w.at(15000);
    CHECK(w.said.withdrawn.back().second == OfferEnd::NoAnswer);
    CHECK(w.last_agent() == other);
    CHECK(w.acd.state(sleepy) == AgentState::Available); // resting, not paused yet
    w.decline_last(OfferEnd::Busy);                      // other is busy: back to sleepy after its rest
    w.at(16000);
    CHECK(w.last_agent() == sleepy);
    w.at(31000); // the second ring-out in a row
    CHECK(w.acd.state(sleepy) == AgentState::Paused);
    CHECK(w.acd.pause_reason(sleepy) == "auto: 2 unanswered");
    CHECK(w.count_rows("NOANSWER") == 2);
    CHECK(w.count_rows("PAUSE") == 1);
}

TEST_CASE("the agent's phone is gone: rejected, then the reject delay keeps it out") {
    World w;
    QueueConfig c;
    c.reject_delay = 30000;
    c.noanswer_delay = 60000;
    QueueId q = w.queue(Strategy::Linear, c);
    AgentId gone = w.ready_agent(q, {1, 1, 1}), other = w.ready_agent(q, {1, 2, 1});
    w.caller(q);
    w.decline_last(OfferEnd::Rejected);
    CHECK(w.last_agent() == other);
    w.decline_last(OfferEnd::NoAnswer); // both rest now
    size_t offers = w.said.offers.size();
    w.at(29999);
    CHECK(w.said.offers.size() == offers);
    w.at(30000);
    CHECK(w.last_agent() == gone);
    CHECK(w.count_rows("REJECTED") == 1);
}

TEST_CASE("wrap-up: no offer until it ends") {
    World w;
    QueueConfig c;
    c.wrapup = 20000;
    QueueId q = w.queue(Strategy::Linear, c);
    AgentId a = w.ready_agent(q);
    w.serve_one(q, 5000);
    CHECK(w.acd.state(a) == AgentState::WrapUp);
    w.caller(q);
    size_t offers = w.said.offers.size();
    w.at(w.now + 19999);
    CHECK(w.said.offers.size() == offers);
    w.at(w.now + 1);
    CHECK(w.said.offers.size() == offers + 1);
    CHECK(w.acd.state(a) == AgentState::Reserved);
}

TEST_CASE("max wait: the caller leaves with timeout (the module's overflow)") {
    World w;
    QueueConfig c;
    c.max_wait = 60000;
    QueueId q = w.queue(Strategy::Linear, c);
    CallerId caller = w.caller(q);
    w.at(59999);
    CHECK(w.said.left.empty());
    w.at(60000);
    CHECK(w.said.left == std::vector<std::pair<CallerId, ExitReason>>{{caller, ExitReason::Timeout}});
    CHECK(w.count_rows("EXITWITHTIMEOUT") == 1);
    CHECK(w.acd.position(caller) == 0);
}

TEST_CASE("max callers: a full queue refuses") {
    World w;
    QueueConfig c;
    c.max_callers = 2;
    QueueId q = w.queue(Strategy::Linear, c);
    CHECK(w.caller(q) != 0);
    CHECK(w.caller(q) != 0);
    EnterResult third = w.acd.enter(q, {}, w.now);
    CHECK(third.caller == 0);
    CHECK(third.refused == "full");
}

TEST_CASE("join and leave when empty") {
    World w;
    QueueConfig c;
    c.join_when_empty = EmptyPolicy::NoneLoggedIn;
    c.leave_when_empty = EmptyPolicy::NoneReady;
    QueueId q = w.queue(Strategy::Linear, c);
    CHECK(w.acd.enter(q, {}, w.now).refused == "empty");
    AgentId a = w.ready_agent(q);
    CallerId first = w.caller(q);
    w.answer_last();
    CallerId second = w.caller(q);
    REQUIRE(second != 0);
    w.acd.pause(a, "lunch", w.now); // nobody ready any more: the waiting caller leaves
    CHECK(w.said.left.back() == std::pair<CallerId, ExitReason>{second, ExitReason::Empty});
    CHECK(w.acd.state(a) == AgentState::OnCall); // a pause waits for the call to end
    w.acd.hung_up(first, false, w.now);
    CHECK(w.acd.state(a) == AgentState::Paused);
    CHECK(w.acd.pause_reason(a) == "lunch");
}

TEST_CASE("logout while ringing withdraws the offer and the caller goes on") {
    World w;
    QueueId q = w.queue(Strategy::Linear);
    AgentId a1 = w.ready_agent(q, {1, 1, 1}), a2 = w.ready_agent(q, {1, 2, 1});
    w.caller(q);
    REQUIRE(w.last_agent() == a1);
    w.acd.logout(a1, w.now);
    CHECK(w.said.withdrawn.back().second == OfferEnd::Cancelled);
    CHECK(w.acd.state(a1) == AgentState::LoggedOut);
    CHECK(w.last_agent() == a2);
    CHECK(w.count_rows("LOGOUT") == 1);
}

TEST_CASE("agent states: every change is reported once, in order") {
    World w;
    QueueConfig c;
    c.wrapup = 1000;
    QueueId q = w.queue(Strategy::Linear, c);
    AgentId a = w.ready_agent(q);
    w.serve_one(q, 100);
    w.at(w.now + 1000);
    w.acd.pause(a, "break", w.now);
    w.acd.unpause(a, w.now);
    w.acd.logout(a, w.now);
    std::vector<AgentState> seen;
    for (const auto &[agent, from, to, reason] : w.said.states) seen.push_back(to);
    CHECK(seen == std::vector<AgentState>{AgentState::Available, AgentState::Reserved, AgentState::OnCall,
                                          AgentState::WrapUp, AgentState::Available, AgentState::Paused,
                                          AgentState::Available, AgentState::LoggedOut});
}

TEST_CASE("the queue log of one answered call") {
    World w;
    QueueId q = w.queue(Strategy::Linear);
    w.ready_agent(q);
    w.at(1000);
    CallerId c = w.caller(q);
    w.at(4000);
    w.answer_last();
    w.at(64000);
    w.acd.hung_up(c, true, w.now);
    CHECK(w.said.row_events == std::vector<std::string>{"LOGIN", "ENTER", "OFFER", "CONNECT", "COMPLETEAGENT"});
    const LogRow &connect = w.said.rows[3], &complete = w.said.rows[4];
    CHECK(connect.a == 3000); // waited
    CHECK(connect.b == 3000); // rang
    CHECK(complete.a == 3000);
    CHECK(complete.b == 60000); // talked
}

TEST_CASE("a transferred call ends for the agent with a TRANSFER row") {
    World w;
    QueueId q = w.queue(Strategy::Linear);
    AgentId a = w.ready_agent(q);
    CallerId c = w.caller(q);
    w.answer_last();
    w.at(20000);
    w.acd.transferred(c, w.now);
    CHECK(w.said.row_events.back() == "TRANSFER");
    CHECK(w.said.rows.back().b == 20000); // talked until the transfer
    CHECK(w.acd.state(a) == AgentState::Available);
    w.acd.hung_up(c, false, w.now); // the call is no longer the queue's
    CHECK(w.count_rows("COMPLETECALLER") == 0);
}

TEST_CASE("a second answer to a withdrawn offer changes nothing") {
    World w;
    QueueId q = w.queue(Strategy::RingAll);
    AgentId a1 = w.ready_agent(q), a2 = w.ready_agent(q);
    w.caller(q);
    OfferId first = w.said.offers[0].id, second = w.said.offers[1].id;
    CHECK(w.acd.answered(first, w.now));
    CHECK_FALSE(w.acd.answered(second, w.now)); // raced: too late, already withdrawn: the module hangs up
    CHECK(w.acd.state(a1) == AgentState::OnCall);
    CHECK(w.acd.state(a2) == AgentState::Available);
    CHECK(w.count_rows("CONNECT") == 1);
}

TEST_CASE("a callback keeps the place of the caller who asked for it, and waits past max_wait") {
    World w;
    QueueConfig c;
    c.max_wait = 60000;
    QueueId q = w.queue(Strategy::Linear, c);
    w.at(1000);
    CallerId first = w.caller(q);
    w.at(2000);
    CallerId second = w.caller(q);
    w.at(3000);
    Ms arrived = *w.acd.entered_at(first);
    w.acd.leave(first, ExitReason::Callback, w.now);
    CHECK(w.count_rows("CALLBACK") == 1);
    CHECK(w.acd.position(second) == 1);
    CallerInfo info;
    info.entered = arrived;
    info.callback = true;
    CallerId callback = w.acd.enter(q, info, w.now).caller;
    CHECK(w.acd.position(callback) == 1); // back ahead of the one who came later
    CHECK(w.acd.position(second) == 2);
    w.at(62000); // the second caller's max_wait passes; the callback stays
    CHECK(w.acd.position(second) == 0);
    CHECK(w.acd.position(callback) == 1);
    AgentId a = w.ready_agent(q);
    CHECK(w.last_agent() == a);
    CHECK(w.said.offers.back().caller == callback);
    w.answer_last();
    w.at(70000);
    w.acd.callback_failed(callback, w.now); // the customer did not answer
    CHECK(w.said.row_events.back() == "CALLBACKFAILED");
    CHECK(w.acd.state(a) == AgentState::Available);
}

TEST_CASE("the queue's snapshot: waiting callers and the longest wait across priorities") {
    World w;
    QueueId q = w.queue(Strategy::LongestIdle);
    CHECK(w.acd.snapshot(q, w.now).longest_wait == 0);
    w.at(1000);
    CallerId early = w.caller(q, 0); // waits longest, but behind the VIPs below
    w.at(4000);
    w.caller(q, 5);
    w.at(6000);
    w.caller(q, 9);
    w.caller(q, 0);
    w.at(10000);
    QueueSnapshot s = w.acd.snapshot(q, w.now);
    CHECK(s.waiting == 4);
    CHECK(s.longest_wait == 9000);
    CHECK(w.acd.position(early) == 3);
    w.acd.leave(early, ExitReason::Abandoned, w.now);
    CHECK(w.acd.snapshot(q, w.now).longest_wait == 6000); // the priority-5 caller, since 4000
    CHECK(w.acd.snapshot(q, w.now).waiting == 3);
}
