// The ACD: queues, agents and the decision of which caller goes to which agent.
//
// One Acd belongs to one thread; every call takes `now` (monotonic ms) and
// returns at once. What the Acd decides comes out through the Listener, in
// the order it happens, before the call returns:
//   offer(o)         ring agent o.agent for caller o.caller: the module dials
//   withdraw(o, why) stop ringing o: the ACD cancelled it or it timed out
//   caller_left(...) a caller is out of the line (answered, timed out, emptied, ...)
//   agent_state(...) an agent's state changed (every change, with its time)
//   record(row)      one queue-log row
// The module reports back what happened in the world: enter/leave for
// callers, answered/declined for offers, hung_up for connected calls,
// login/logout/pause/unpause for agents, and calls advance(now) when
// next_deadline() comes (ring timeouts, wrap-up ends, waits that unlock
// another tier or relax skill requirements, max_wait).
//
// Every offer ends exactly once — connected, declined, timed out or
// cancelled — so no agent stays reserved: the ring timeout is the ACD's own
// timer, not the phone's.
//
// Cost per event does not grow with the number of members: available agents
// sit in per-queue, per-tier indexes ordered by the queue's strategy
// (std::set, a Fenwick tree for weighted random, a swap-remove array for
// random); waiting callers in an order-statistic splay tree (position in
// O(log n) amortized; model.hpp says why a splay tree).
// The exceptions, documented in docs/queues.md: ring-all rings every eligible
// agent (that is its point), and the skills strategy walks the agents of the
// caller's first required skill from the highest level down until one meets
// the other requirements.
#pragma once

#include "acd/types.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::acd {

struct SkillLevel {
    std::string skill;
    int level = 0;
};

struct QueueConfig {
    std::string name;
    Strategy strategy = Strategy::LongestIdle;
    Ms ring_timeout = 15000;     // one offer rings at most this long
    Ms max_wait = 0;             // a caller waiting this long leaves with Timeout; 0: no limit
    int max_callers = 0;         // enter() refuses when this many wait; 0: no limit
    EmptyPolicy join_when_empty = EmptyPolicy::Never;
    EmptyPolicy leave_when_empty = EmptyPolicy::Never;
    Ms wrapup = 0;               // after a call from this queue the agent is in wrap-up this long
    int auto_pause_after = 0;    // this many unanswered offers in a row pause the agent; 0: never
    Ms noanswer_delay = 0;       // an agent who let an offer ring out gets none for this long
    Ms busy_delay = 0;           // ... who was busy
    Ms reject_delay = 0;         // ... who declined or could not be reached
    Ms tier_wait = 30000;        // tier N is offered callers who have waited (N-1) * tier_wait
    Ms progressive_step = 5000;  // ring-progressively: one more agent rings every step
    Ms service_level = 20000;    // answered within this counts towards the service level
    struct Relax {
        Ms after;                // once a caller has waited this long ...
        int lower_by;            // ... every required level is this much lower (cumulative steps)
    };
    std::vector<Relax> relax;    // skills: in order of `after`
};

struct AgentConfig {
    std::string name;
    int capacity = 1;            // offers + calls at once
    std::vector<SkillLevel> skills;
};

struct Membership {
    int tier = 1;                // 1 first line; tier N waits (N-1) * tier_wait
    int order = 0;               // linear, round robin, ring-progressively: lower first
    unsigned weight = 1;         // weighted random
};

struct CallerInfo {
    int priority = 0;            // higher is served first, before arrival time
    std::vector<SkillLevel> requires_skills; // skills strategy: the first is the primary
    std::optional<Ms> entered;   // a callback keeps the place of the caller it replaces: its arrival
    bool callback = false;       // nobody waits on the line: max_wait does not apply
};

struct Offer {
    OfferId id;
    CallerId caller;
    AgentId agent;
    QueueId queue;
    Ms started;
};

struct EnterResult {
    CallerId caller = 0;         // 0: refused
    std::string_view refused;    // "full", "empty" or "no such queue" when refused
    int position = 0;            // 1-based place in line
};

// One queue-log row. `event` is one of: ENTER (a = position), OFFER,
// NOANSWER / BUSY / REJECTED (a = ring ms), CONNECT (a = wait ms, b = ring
// ms), COMPLETECALLER / COMPLETEAGENT / TRANSFER / CALLBACKFAILED (a = wait ms, b = talk ms), ABANDON,
// EXITWITHTIMEOUT, EXITWITHKEY, EXITEMPTY, CALLBACK, REMOVED (a = position,
// b = original position, c = wait ms), LOGIN, LOGOUT, PAUSE (info = reason),
// UNPAUSE. Agent rows carry queue 0 unless about one queue.
struct LogRow {
    Ms time;
    QueueId queue;
    CallerId caller;
    AgentId agent;
    std::string_view event;
    int64_t a = 0, b = 0, c = 0;
    std::string_view info;
};

class Listener {
public:
    virtual ~Listener() = default;
    virtual void offer(const Offer &offer) = 0;
    virtual void withdraw(const Offer &offer, OfferEnd why) = 0;
    virtual void caller_left(CallerId caller, QueueId queue, ExitReason why) = 0;
    virtual void agent_state(AgentId agent, AgentState from, AgentState to, std::string_view reason, Ms now) = 0;
    virtual void record(const LogRow &row) = 0;
};

struct QueueSnapshot {
    std::string name;
    int waiting = 0;
    Ms longest_wait = 0;
    int agents[6] = {};          // by AgentState
};

class Acd {
public:
    Acd(Listener &listener, uint64_t random_seed);
    ~Acd();
    Acd(const Acd &) = delete;
    Acd &operator=(const Acd &) = delete;

    // --- configuration (any time; changes apply to the next decision) ---
    QueueId add_queue(QueueConfig config);
    void configure_queue(QueueId queue, QueueConfig config, Ms now);
    AgentId add_agent(AgentConfig config);
    void configure_agent(AgentId agent, AgentConfig config, Ms now);
    // For a member already there: the new tier, order and weight; what it
    // did in the queue (calls, talk time) is kept.
    void add_member(QueueId queue, AgentId agent, Membership membership, Ms now);
    void remove_member(QueueId queue, AgentId agent, Ms now);
    QueueId find_queue(std::string_view name) const; // 0 when none
    AgentId find_agent(std::string_view name) const; // 0 when none
    const QueueConfig &queue_config(QueueId queue) const;
    const AgentConfig &agent_config(AgentId agent) const;

    // --- agents ---
    void login(AgentId agent, Ms now);
    void logout(AgentId agent, Ms now);
    void pause(AgentId agent, std::string_view reason, Ms now);
    void unpause(AgentId agent, Ms now);
    AgentState state(AgentId agent) const;
    std::string_view pause_reason(AgentId agent) const;

    // --- callers ---
    EnterResult enter(QueueId queue, CallerInfo info, Ms now);
    // Out of the line for Abandoned, Key, Callback or Removed; offers to it
    // are withdrawn (Cancelled). Unknown or already connected: no-op.
    void leave(CallerId caller, ExitReason why, Ms now);
    int position(CallerId caller) const;     // 1-based; 0 when not waiting
    std::optional<Ms> entered_at(CallerId caller) const; // its arrival in the line, while waiting
    QueueId queue_of(CallerId caller) const; // 0 when not waiting or connected

    // --- offers and connected calls ---
    // True when the offer was still ringing: the caller is now connected to
    // its agent. False when it ended meanwhile (the module hangs up).
    bool answered(OfferId offer, Ms now);
    void declined(OfferId offer, OfferEnd why, Ms now);
    // The connected call of `caller` ended; by_agent: the agent hung up.
    void hung_up(CallerId caller, bool by_agent, Ms now);
    // The connected call of `caller` left the queue's hands by a transfer:
    // it ends for the agent as a hang-up does, with a TRANSFER row.
    void transferred(CallerId caller, Ms now);
    // A callback's agent took it but the customer could not be reached: the
    // agent is free again, with a CALLBACKFAILED row.
    void callback_failed(CallerId caller, Ms now);

    // --- time ---
    void advance(Ms now);
    Ms next_deadline() const; // INT64_MAX when nothing is pending

    QueueSnapshot snapshot(QueueId queue, Ms now) const;
    std::vector<std::pair<AgentId, Membership>> members(QueueId queue) const; // in the order they were added
    size_t queue_count() const;
    size_t agent_count() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace tandem::acd
