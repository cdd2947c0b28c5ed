// The ACD's records (internal to acd/): a member is one agent in one queue,
// the unit the selectors index; agents, callers and queues own them.
#pragma once

#include "acd/acd.hpp"
#include "acd/node_pool.hpp"

#include <cstdint>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tandem::acd {

struct AgentRec;
struct CallerRec;

// What a selector orders its members by (smaller first). Filled in by the
// selector when a member becomes available and left alone until it is
// removed again, so the key of an indexed member never changes.
struct SortKey {
    int64_t first = 0, second = 0;
    AgentId agent = 0;
    auto operator<=>(const SortKey &) const = default;
};

struct Member {
    AgentRec *agent;
    QueueId queue;
    Membership membership;
    uint64_t calls = 0;         // answered from this queue
    Ms talk_ms = 0;             // talk time from this queue
    // selector bookkeeping
    bool indexed = false;
    SortKey key;
    size_t slot = 0;            // random: index in its array; weighted: Fenwick slot
};

struct AgentRec {
    AgentId id;
    AgentConfig config;
    std::vector<std::pair<int, int>> skills; // (skill id, level), sorted by skill id
    std::vector<Member *> memberships;
    bool logged_in = false;
    bool paused = false;
    std::string pause_reason;
    int offers = 0;             // ringing now
    std::vector<OfferId> ringing; // those offers
    int calls = 0;              // connected now
    Ms wrapup_until = 0;
    Ms resting_until = 0;       // no offers before (no-answer / busy / reject delay)
    Ms idle_since = 0;          // available since (longest idle)
    Ms last_offer = 0;          // least recent
    int unanswered_in_row = 0;
    AgentState reported = AgentState::LoggedOut;
};

// The line's order: higher priority first, then earlier arrival.
struct LineKey {
    int64_t neg_priority;
    Ms entered;
    CallerId id;
    auto operator<=>(const LineKey &) const = default;
};

// A splay tree: a queue's line is used at its ends (callers join at the
// back of their priority, agents take them from the front), which splaying
// keeps near the root and in cache, where a red-black tree walked its whole
// height for each (the largest share of the ACD's deciding time in the
// running engine, bench/BENCHMARKS.md). Its price is the worst case: one
// operation after many that built a long chain walks it (10,000 callers
// joining a queue nobody serves, then an agent: `tandem_acd_bench`'s
// "first offer" line), paid back by the operations after it.
using Line = __gnu_pbds::tree<LineKey, __gnu_pbds::null_type, std::less<LineKey>, __gnu_pbds::splay_tree_tag,
                              __gnu_pbds::tree_order_statistics_node_update, NodePool<char>>;

struct CallerRec {
    CallerId id;
    QueueId queue;
    CallerInfo info;
    std::vector<std::pair<int, int>> needs; // (skill id, level) before relaxing; the first is primary
    LineKey key;
    int original_position;
    std::vector<OfferId> offers;            // ringing now
    bool connected = false;
    bool leaving = false;                   // on its way out: its offers end without re-queuing it
    AgentId connected_agent = 0;
    Ms connected_at = 0;
    Ms next_check = INT64_MAX;              // when its wait unlocks something (timer key)
    size_t progressive_rung = 0;            // ring-progressively: agents rung so far
};

} // namespace tandem::acd
