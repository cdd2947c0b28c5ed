// Erlang C staffing arithmetic for the ACD: how many agents a queue needs for a
// service-level target, and how a given staffing will perform. The console's
// `queue forecast` and the live staffed-vs-needed figure both read from here.
//
// Traffic is offered load in Erlangs: A = calls_per_hour * aht_seconds / 3600.
// The model assumes Poisson arrivals, exponential handling times and callers
// who never abandon, so it errs towards more agents than a real queue needs.
//
// Every function throws std::invalid_argument, naming the parameter, for a NaN,
// infinite or negative input, an aht_s <= 0, or an sl_fraction outside (0, 1):
// a forecast built on a typo must fail loudly rather than print a staffing.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace tandem::acd {

// Probability that a call has to wait for an agent. 1.0 when agents <= traffic:
// such a queue grows without bound, so every caller eventually waits.
// Computed through the Erlang B recursion, so it stays accurate for thousands
// of agents where factorials and powers would overflow.
double erlang_c(double traffic_erlangs, int agents);

// Fraction of calls answered within target_s seconds; 0 when agents <= traffic.
double service_level(double traffic, int agents, double aht_s, double target_s);

// Mean wait over all calls, those answered at once included, in seconds;
// +infinity when agents <= traffic.
double average_speed_of_answer(double traffic, int agents, double aht_s);

// Share of staffed time spent on calls: traffic / agents, at most 1.
// 0 when there is no traffic, even with no agents.
double occupancy(double traffic, int agents);

struct Forecast {
    int agents;              // -1 when no count up to max_agents meets the target
    double service_level;    // fraction answered within the target time
    double asa_s;            // average speed of answer, seconds
    double occupancy;        // 0..1
    double wait_probability; // Erlang C
    double traffic;          // Erlangs
};

// The fewest agents whose service level reaches sl_fraction answered within
// sl_target_s seconds, with how that staffing performs. With no calls that is
// 0 agents, service level 1, no wait. When even max_agents falls short, agents
// is -1 and the other fields describe max_agents staffed, so the caller can
// show how far off the target is.
Forecast agents_needed(double calls_per_hour, double aht_s, double sl_fraction, double sl_target_s,
                       int max_agents = 10000);

// Reads the industry notation "80/20" (80% answered within 20 s) as
// {0.80, 20.0}. Both parts are plain decimals ("90.5/15"); the percentage must
// lie strictly between 0 and 100. Anything else, spaces and signs included,
// is nullopt, since this parses what an operator typed.
std::optional<std::pair<double, double>> parse_service_level(std::string_view text);

} // namespace tandem::acd
