// Each strategy's order of offers, asserted on scripted scenarios.
#include "acd_world.hpp"

#include <catch2/catch.hpp>

using namespace acdtest;

namespace {

QueueConfig resting(Ms noanswer_delay) {
    QueueConfig c;
    c.noanswer_delay = noanswer_delay;
    return c;
}

// Offers for one caller when each offered agent lets it ring out in turn.
std::vector<AgentId> ring_out_order(World &w, int count) {
    std::vector<AgentId> order;
    for (int i = 0; i < count; ++i) {
        order.push_back(w.last_agent());
        w.decline_last(OfferEnd::NoAnswer);
    }
    return order;
}

} // namespace

TEST_CASE("linear offers in member order, skipping agents who are resting") {
    World w;
    QueueId q = w.queue(Strategy::Linear, resting(60000));
    AgentId a1 = w.ready_agent(q, {1, 3, 1}), a2 = w.ready_agent(q, {1, 1, 1}), a3 = w.ready_agent(q, {1, 2, 1});
    w.caller(q);
    CHECK(ring_out_order(w, 3) == std::vector<AgentId>{a2, a3, a1});
    CHECK(w.said.offers.size() == 3); // everyone rests now: no fourth offer
    w.at(60000);                        // a2 is back first in order
    CHECK(w.last_agent() == a2);
}

TEST_CASE("agents free at one instant: the strategy chooses among all of them") {
    World w;
    QueueId q = w.queue(Strategy::Linear, resting(10000));
    AgentId late = w.ready_agent(q, {1, 2, 1}), first = w.ready_agent(q, {1, 1, 1});
    CallerId c1 = w.caller(q);
    w.decline_last(OfferEnd::NoAnswer); // `first` rests
    w.decline_last(OfferEnd::NoAnswer); // `late` rests, both until 10 s
    CallerId c2 = w.caller(q);
    w.at(10000); // `late`'s wake-up comes first (lower id), yet `first` is first in order
    REQUIRE(w.said.offers.size() == 4);
    CHECK(w.said.offers[2].caller == c1);
    CHECK(w.said.offers[2].agent == first);
    CHECK(w.said.offers[3].caller == c2);
    CHECK(w.said.offers[3].agent == late);
}

TEST_CASE("round robin remembers where it stopped and wraps") {
    World w;
    QueueId q = w.queue(Strategy::RoundRobin);
    AgentId a1 = w.ready_agent(q, {1, 1, 1}), a2 = w.ready_agent(q, {1, 2, 1}), a3 = w.ready_agent(q, {1, 3, 1});
    std::vector<AgentId> served;
    for (int i = 0; i < 4; ++i) served.push_back(w.serve_one(q));
    CHECK(served == std::vector<AgentId>{a1, a2, a3, a1});
}

TEST_CASE("longest idle offers the agent free the longest since their last call") {
    World w;
    QueueId q = w.queue(Strategy::LongestIdle);
    AgentId a1 = w.ready_agent(q);
    w.at(10);
    AgentId a2 = w.ready_agent(q);
    w.at(20);
    AgentId a3 = w.ready_agent(q);
    CHECK(w.serve_one(q) == a1); // logged in first
    CHECK(w.serve_one(q) == a2);
    CHECK(w.serve_one(q) == a3);
    CHECK(w.serve_one(q) == a1); // a1's call ended before the others'
}

TEST_CASE("least recent offers the agent rung least recently") {
    World w;
    QueueId q = w.queue(Strategy::LeastRecent);
    AgentId a1 = w.ready_agent(q), a2 = w.ready_agent(q), a3 = w.ready_agent(q);
    w.at(100);
    w.caller(q);
    CHECK(w.last_agent() == a1); // never rung: ties go by agent
    w.at(200);
    w.decline_last(OfferEnd::Busy); // busy_delay 0: a1 is back at once, but rung at 100
    CHECK(w.last_agent() == a2);
    w.at(300);
    w.decline_last(OfferEnd::Busy);
    CHECK(w.last_agent() == a3);
    w.at(400);
    w.decline_last(OfferEnd::Busy);
    CHECK(w.last_agent() == a1);
}

TEST_CASE("fewest calls offers the agent who answered fewest from this queue") {
    World w;
    QueueId q = w.queue(Strategy::FewestCalls);
    AgentId a1 = w.ready_agent(q), a2 = w.ready_agent(q), a3 = w.ready_agent(q);
    // a1 takes two calls, a2 one; the idle time breaks the tie among equals
    CHECK(w.serve_one(q) == a1);
    CHECK(w.serve_one(q) == a2);
    CHECK(w.serve_one(q) == a3);
    CHECK(w.serve_one(q) == a1);
    CHECK(w.serve_one(q) == a2);
    CHECK(w.serve_one(q) == a3);
}

TEST_CASE("least talk time offers the agent with the least talk from this queue") {
    World w;
    QueueId q = w.queue(Strategy::LeastTalkTime);
    AgentId a1 = w.ready_agent(q), a2 = w.ready_agent(q);
    CHECK(w.serve_one(q, 100000) == a1); // a1 talks 100 s
    CHECK(w.serve_one(q, 10000) == a2);  // a2 talks 10 s
    CHECK(w.serve_one(q, 10000) == a2);  // 20 s < 100 s
    CHECK(w.serve_one(q, 90000) == a2);  // 110 s > 100 s from here
    CHECK(w.serve_one(q) == a1);
}

TEST_CASE("random spreads offers over every available agent") {
    World w;
    QueueId q = w.queue(Strategy::Random);
    std::map<AgentId, int> offered;
    for (int i = 0; i < 4; ++i) w.ready_agent(q);
    for (int i = 0; i < 400; ++i) ++offered[w.serve_one(q)];
    REQUIRE(offered.size() == 4);
    for (const auto &[agent, n] : offered) CHECK(n > 60); // 100 expected each
}

TEST_CASE("weighted random offers in proportion to the weights") {
    World w;
    QueueId q = w.queue(Strategy::WeightedRandom);
    AgentId light = w.ready_agent(q, {1, 0, 1}), heavy = w.ready_agent(q, {1, 0, 3});
    std::map<AgentId, int> offered;
    for (int i = 0; i < 2000; ++i) ++offered[w.serve_one(q)];
    CHECK(offered[light] > 400); // 500 expected
    CHECK(offered[light] < 600);
    CHECK(offered[heavy] == 2000 - offered[light]);
}

TEST_CASE("ring-all rings everyone; the first answer withdraws the rest") {
    World w;
    QueueId q = w.queue(Strategy::RingAll);
    AgentId a1 = w.ready_agent(q), a2 = w.ready_agent(q), a3 = w.ready_agent(q);
    CallerId c = w.caller(q);
    REQUIRE(w.said.offers.size() == 3);
    OfferId to_a2 = w.said.offers[1].id;
    CHECK(w.said.offers[1].agent == a2);
    w.said.ringing.erase(to_a2);
    w.acd.answered(to_a2, w.now);
    CHECK(w.said.ringing.empty()); // a1 and a3 were withdrawn
    CHECK(w.said.withdrawn.size() == 2);
    CHECK(w.said.withdrawn[0].second == OfferEnd::Cancelled);
    CHECK(w.acd.state(a1) == AgentState::Available);
    CHECK(w.acd.state(a2) == AgentState::OnCall);
    CHECK(w.acd.state(a3) == AgentState::Available);
    CHECK(w.said.left.back() == std::pair<CallerId, ExitReason>{c, ExitReason::Connected});
}

TEST_CASE("ring-progressively adds the next agent every step") {
    World w;
    QueueConfig c;
    c.progressive_step = 5000;
    c.ring_timeout = 60000;
    QueueId q = w.queue(Strategy::RingProgressively, c);
    AgentId a1 = w.ready_agent(q, {1, 1, 1}), a2 = w.ready_agent(q, {1, 2, 1}), a3 = w.ready_agent(q, {1, 3, 1});
    w.caller(q);
    CHECK(w.said.offers.size() == 1);
    CHECK(w.last_agent() == a1);
    w.at(4999);
    CHECK(w.said.offers.size() == 1);
    w.at(5000);
    CHECK(w.last_agent() == a2);
    w.at(10000);
    CHECK(w.last_agent() == a3);
    CHECK(w.said.ringing.size() == 3);
    w.answer_last();
    CHECK(w.said.ringing.empty());
}

TEST_CASE("skills: the best level of the primary skill among agents who meet every requirement") {
    World w;
    QueueId q = w.queue(Strategy::Skills);
    w.ready_agent(q, {}, {{"sales", 3}});
    AgentId a2 = w.ready_agent(q, {}, {{"sales", 7}, {"english", 5}});
    AgentId a3 = w.ready_agent(q, {}, {{"sales", 9}});
    w.caller(q, 0, {{"sales", 5}, {"english", 3}});
    CHECK(w.last_agent() == a2); // a3 sells better but speaks no English
    w.decline_last(OfferEnd::Rejected);
    w.caller(q, 0, {{"sales", 5}});
    CHECK(w.last_agent() == a3);
}

TEST_CASE("skills: requirements relax with the wait, step by step") {
    World w;
    QueueConfig c;
    c.relax = {{10000, 2}, {20000, 4}};
    QueueId q = w.queue(Strategy::Skills, c);
    AgentId a1 = w.ready_agent(q, {}, {{"sales", 7}, {"english", 3}});
    w.caller(q, 0, {{"sales", 8}, {"english", 5}});
    CHECK(w.said.offers.empty());
    w.at(9999);
    CHECK(w.said.offers.empty());
    w.at(10000); // sales 6, english 3
    CHECK(w.last_agent() == a1);
}

TEST_CASE("tiers: the second tier is offered a caller once it waited tier_wait") {
    World w;
    QueueConfig c;
    c.tier_wait = 30000;
    QueueId q = w.queue(Strategy::LongestIdle, c);
    AgentId first = w.ready_agent(q, {1, 0, 1});
    AgentId second = w.ready_agent(q, {2, 0, 1});
    w.serve_one(q); // first line is free: it takes the call, not the second tier
    CHECK(w.last_agent() == first);
    w.caller(q);
    w.answer_last(); // first is on a call now
    w.caller(q);
    CHECK(w.said.offers.size() == 2);
    w.at(w.now + 29999);
    CHECK(w.said.offers.size() == 2);
    w.at(w.now + 1);
    CHECK(w.last_agent() == second);
}

TEST_CASE("a higher priority overtakes the line; positions follow") {
    World w;
    QueueId q = w.queue(Strategy::LongestIdle);
    CallerId a = w.caller(q);
    w.at(1);
    CallerId b = w.caller(q);
    w.at(2);
    CallerId vip = w.caller(q, 5);
    CHECK(w.acd.position(vip) == 1);
    CHECK(w.acd.position(a) == 2);
    CHECK(w.acd.position(b) == 3);
    w.ready_agent(q);
    CHECK(w.said.offers.back().caller == vip);
    CHECK(w.acd.position(a) == 2); // still waiting behind the ringing VIP
}

TEST_CASE("an agent of several queues takes the longest waiting caller of the highest priority") {
    World w;
    QueueId q1 = w.queue(Strategy::LongestIdle), q2 = w.queue(Strategy::LongestIdle);
    CallerId old1 = w.caller(q1);
    w.at(10);
    CallerId new2 = w.caller(q2);
    w.at(20);
    AgentId a = w.agent();
    w.acd.add_member(q1, a, {}, w.now);
    w.acd.add_member(q2, a, {}, w.now);
    w.acd.login(a, w.now);
    CHECK(w.said.offers.back().caller == old1);
    w.answer_last();
    w.at(30);
    CallerId vip2 = w.caller(q2, 3);
    w.acd.hung_up(old1, true, w.now);
    CHECK(w.said.offers.back().caller == vip2); // priority before the wait of new2
    (void)new2;
}

TEST_CASE("a member added again keeps what it did in the queue (a reload does this)") {
    World w;
    QueueId q = w.queue(Strategy::FewestCalls);
    AgentId a1 = w.ready_agent(q), a2 = w.ready_agent(q);
    REQUIRE(w.serve_one(q) == a1);
    REQUIRE(w.serve_one(q) == a2);
    REQUIRE(w.serve_one(q) == a1); // a1 has 2 calls, a2 1
    w.acd.add_member(q, a1, {1, 5, 1}, w.now); // a new order, the same member
    auto members = w.acd.members(q);
    REQUIRE(members.size() == 2);
    CHECK(members[0].first == a1);
    CHECK(members[0].second.tier == 1);
    CHECK(members[0].second.order == 5);
    CHECK(w.serve_one(q) == a2); // 1 call < 2 calls: a1's count was kept
}
