// The ACD's vocabulary: identifiers, clock, strategies, states and outcomes.
// Everything in acd/ runs on one thread and takes the time as an argument, so
// a test drives it with a virtual clock and the module with CLOCK_MONOTONIC.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tandem::acd {

using Ms = int64_t; // milliseconds on the caller's monotonic clock
using QueueId = uint32_t;
using AgentId = uint32_t;
using CallerId = uint64_t;
using OfferId = uint64_t;

enum class Strategy {
    RingAll,           // every eligible available agent at once; the first to answer wins
    RoundRobin,        // the next agent after the one offered last (the queue remembers)
    LongestIdle,       // the agent available the longest since their last call
    LeastRecent,       // the agent offered a call least recently
    FewestCalls,       // the agent who answered the fewest calls from this queue
    LeastTalkTime,     // the agent with the least talk time in this queue
    Random,            // uniformly among available agents
    WeightedRandom,    // at random, in proportion to each member's weight
    Linear,            // always the first available agent in member order
    RingProgressively, // member order; one more agent joins the ringing every step
    Skills,            // the best-skilled agent who meets the caller's requirements
};

enum class AgentState { LoggedOut, Available, Reserved, OnCall, WrapUp, Paused };

// How an offer to an agent ended when it did not connect.
enum class OfferEnd {
    NoAnswer, // rang until the queue's ring timeout or the phone's own
    Busy,     // the agent's phone said busy
    Rejected, // declined, or unreachable
    Cancelled // the ACD withdrew it: caller gone, answered elsewhere, agent logged out or paused
};

// Why a caller leaves the line.
enum class ExitReason {
    Connected, // an agent answered
    Abandoned, // the caller hung up while waiting
    Timeout,   // waited the queue's max_wait
    Key,       // pressed an exit key
    Empty,     // no agent left who could ever answer (leave_when_empty)
    Callback,  // left a callback request and hung up; the place in line is kept by a callback
    Removed,   // taken out by the console or the queue's removal
};

// When a queue counts as "empty" for join_when_empty / leave_when_empty.
enum class EmptyPolicy {
    Never,        // a queue is never empty: callers join and stay regardless
    NoneLoggedIn, // empty when no member is logged in
    NoneReady,    // empty when no member is logged in and unpaused
};

std::string_view name_of(Strategy);
std::string_view name_of(AgentState);
std::string_view name_of(OfferEnd);
std::string_view name_of(ExitReason);
std::string_view name_of(EmptyPolicy);
std::optional<Strategy> strategy_from(std::string_view);
std::optional<EmptyPolicy> empty_policy_from(std::string_view);

} // namespace tandem::acd
