// A test world around one Acd: a virtual clock and a listener that keeps
// everything the ACD said, so tests assert the order of offers.
#pragma once

#include "acd/acd.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace acdtest {

using namespace tandem::acd;

struct Said : Listener {
    std::vector<Offer> offers;                      // every offer, in order
    std::set<OfferId> ringing;                      // offers not ended yet
    std::vector<std::pair<OfferId, OfferEnd>> withdrawn;
    std::vector<std::pair<CallerId, ExitReason>> left;
    std::vector<std::tuple<AgentId, AgentState, AgentState, std::string>> states;
    std::vector<LogRow> rows;
    std::vector<std::string> row_events;            // rows[i].event, owned

    void offer(const Offer &o) override {
        offers.push_back(o);
        ringing.insert(o.id);
    }
    void withdraw(const Offer &o, OfferEnd why) override {
        withdrawn.emplace_back(o.id, why);
        ringing.erase(o.id);
    }
    void caller_left(CallerId c, QueueId, ExitReason why) override { left.emplace_back(c, why); }
    void agent_state(AgentId a, AgentState from, AgentState to, std::string_view reason, Ms) override {
        states.emplace_back(a, from, to, std::string(reason));
    }
    void record(const LogRow &row) override {
        rows.push_back(row);
        row_events.emplace_back(row.event);
        rows.back().event = {};
        rows.back().info = {};
    }
};

struct World {
    Said said;
    Acd acd{said, 42};
    Ms now = 0;

    QueueId queue(Strategy strategy, QueueConfig config = {}) {
        config.strategy = strategy;
        if (config.name.empty()) config.name = "q" + std::to_string(acd.queue_count() + 1);
        return acd.add_queue(config);
    }
    AgentId agent(std::vector<SkillLevel> skills = {}, int capacity = 1) {
        AgentConfig c;
        c.name = "a" + std::to_string(acd.agent_count() + 1);
        c.skills = std::move(skills);
        c.capacity = capacity;
        return acd.add_agent(c);
    }
    // An agent in `q`, logged in now.
    AgentId ready_agent(QueueId q, Membership m = {}, std::vector<SkillLevel> skills = {}) {
        AgentId a = agent(std::move(skills));
        acd.add_member(q, a, m, now);
        acd.login(a, now);
        return a;
    }
    CallerId caller(QueueId q, int priority = 0, std::vector<SkillLevel> needs = {}) {
        CallerInfo info;
        info.priority = priority;
        info.requires_skills = std::move(needs);
        return acd.enter(q, info, now).caller;
    }
    void at(Ms t) {
        now = t;
        acd.advance(now);
    }
    // The agent offered last, and that offer.
    AgentId last_agent() const { return said.offers.empty() ? 0 : said.offers.back().agent; }
    OfferId last_offer() const { return said.offers.empty() ? 0 : said.offers.back().id; }
    void answer_last() {
        said.ringing.erase(last_offer());
        acd.answered(last_offer(), now);
    }
    void decline_last(OfferEnd why) {
        said.ringing.erase(last_offer());
        acd.declined(last_offer(), why, now);
    }
    // One whole call: the next caller is offered, answers, talks `talk` ms.
    AgentId serve_one(QueueId q, Ms talk = 1000) {
        CallerId c = caller(q);
        AgentId a = last_agent();
        answer_last();
        at(now + talk);
        acd.hung_up(c, false, now);
        return a;
    }
    size_t count_rows(std::string_view event) const {
        size_t n = 0;
        for (const auto &e : said.row_events) n += e == event;
        return n;
    }
};

} // namespace acdtest
