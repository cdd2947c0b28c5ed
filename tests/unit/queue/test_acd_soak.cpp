// Random arrivals and random agent behaviour against the invariants: no
// agent reserved without a ringing offer, no offer left ringing past its
// timeout, every caller ends with exactly one final row.
#include "acd_world.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace acdtest;

TEST_CASE("soak: random callers, agents and outcomes keep the invariants") {
    World w;
    std::mt19937 rnd(7);
    auto pick = [&](int n) { return static_cast<int>(rnd() % static_cast<unsigned>(n)); };
    std::vector<QueueId> queues;
    const Strategy strategies[] = {Strategy::RingAll, Strategy::LongestIdle, Strategy::RoundRobin,
                                   Strategy::Skills, Strategy::RingProgressively, Strategy::WeightedRandom};
    for (Strategy s : strategies) {
        QueueConfig c;
        c.ring_timeout = 8000;
        c.max_wait = 120000;
        c.wrapup = 2000;
        c.noanswer_delay = 3000;
        c.auto_pause_after = 3;
        c.tier_wait = 10000;
        c.progressive_step = 2000;
        c.relax = {{20000, 5}};
        queues.push_back(w.queue(s, c));
    }
    std::vector<AgentId> agents;
    for (int i = 0; i < 30; ++i) {
        AgentId a = w.agent({{"sales", pick(10)}, {"billing", pick(10)}});
        for (QueueId q : queues)
            if (pick(2)) w.acd.add_member(q, a, {1 + pick(2), pick(5), 1u + static_cast<unsigned>(pick(4))}, w.now);
        agents.push_back(a);
    }
    std::set<CallerId> waiting, connected, ended;
    for (int step = 0; step < 20000; ++step) {
        w.at(w.now + pick(400));
        for (const auto &[c, why] : w.said.left) {
            waiting.erase(c);
            if (why == ExitReason::Connected) connected.insert(c); else ended.insert(c);
        }
        w.said.left.clear();
        switch (pick(9)) {
        case 0: case 1: {
            CallerId c = w.caller(queues[static_cast<size_t>(pick(6))], pick(3), {{"sales", pick(8)}});
            if (c) waiting.insert(c);
            break;
        }
        case 2:
            if (!waiting.empty()) w.acd.leave(*std::next(waiting.begin(), pick(static_cast<int>(waiting.size()))), ExitReason::Abandoned, w.now);
            break;
        case 3: case 4:
            if (!w.said.ringing.empty()) {
                OfferId o = *std::next(w.said.ringing.begin(), pick(static_cast<int>(w.said.ringing.size())));
                w.said.ringing.erase(o);
                if (pick(3)) w.acd.answered(o, w.now); else w.acd.declined(o, pick(2) ? OfferEnd::Busy : OfferEnd::Rejected, w.now);
            }
            break;
        case 5:
            if (!connected.empty()) {
                CallerId c = *std::next(connected.begin(), pick(static_cast<int>(connected.size())));
                connected.erase(c);
                ended.insert(c);
                w.acd.hung_up(c, pick(2), w.now);
            }
            break;
        case 6: {
            AgentId a = agents[static_cast<size_t>(pick(30))];
            switch (pick(4)) {
            case 0: w.acd.login(a, w.now); break;
            case 1: w.acd.logout(a, w.now); break;
            case 2: w.acd.pause(a, "break", w.now); break;
            default: w.acd.unpause(a, w.now); break;
            }
            break;
        }
        default: break;
        }
        // invariants: an agent is reserved exactly while an offer to it rings
        std::map<AgentId, int> rings;
        for (const Offer &o : w.said.offers)
            if (w.said.ringing.count(o.id)) ++rings[o.agent];
        for (AgentId a : agents) {
            bool reserved = w.acd.state(a) == AgentState::Reserved;
            REQUIRE(reserved == (rings[a] > 0 && w.acd.state(a) != AgentState::OnCall));
        }
        REQUIRE(w.acd.next_deadline() > w.now); // nothing overdue
    }
    // the end of the day: everyone hangs up and logs out
    for (CallerId c : waiting) w.acd.leave(c, ExitReason::Abandoned, w.now);
    for (CallerId c : connected) w.acd.hung_up(c, false, w.now);
    for (AgentId a : agents) w.acd.logout(a, w.now);
    CHECK(w.said.ringing.empty());
    for (AgentId a : agents) CHECK(w.acd.state(a) == AgentState::LoggedOut);
    // every caller who entered has one final row
    std::map<CallerId, int> finals;
    for (size_t i = 0; i < w.said.rows.size(); ++i) {
        const std::string &e = w.said.row_events[i];
        if (e == "ABANDON" || e == "EXITWITHTIMEOUT" || e == "EXITEMPTY" || e == "COMPLETECALLER" || e == "COMPLETEAGENT")
            ++finals[w.said.rows[i].caller];
    }
    size_t entered = w.count_rows("ENTER");
    CHECK(finals.size() == entered);
    for (const auto &[c, n] : finals) REQUIRE(n == 1);
    CHECK(w.count_rows("CONNECT") > 1000); // the soak did real work
}
