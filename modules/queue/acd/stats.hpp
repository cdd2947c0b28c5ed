// Live statistics of queues and agents over rolling windows (the last 15
// minutes, the last hour) and today, fed with the queue-log rows the Acd
// writes. Counts are kept in one-minute buckets for the last hour and a
// running total for the day, so memory per queue or agent is fixed and a row
// costs O(1); a window's figures are summed from its buckets on demand.
//
// Definitions (docs/queues.md): service level = answered within the queue's
// threshold ÷ (answered + abandoned); ASA = mean wait of answered callers;
// talk = mean talk time of completed calls; AHT = mean talk + the queue's
// wrap-up.
#pragma once

#include "acd/acd.hpp"

#include <array>
#include <cstdint>
#include <unordered_map>

namespace tandem::acd {

struct Counts {
    int64_t offered = 0;       // callers who entered
    int64_t answered = 0;
    int64_t answered_in_sl = 0;
    int64_t abandoned = 0;
    int64_t timed_out = 0;     // left at max_wait
    int64_t wait_ms = 0;       // total wait of answered callers
    int64_t completed = 0;     // connected calls that ended
    int64_t talk_ms = 0;       // their total talk time
    int64_t missed = 0;        // offers that rang out, busy or rejected (agents)

    Counts &operator+=(const Counts &o);
    double service_level() const; // 1 with no answered or abandoned callers
    double asa_s() const;
    double talk_s() const;
};

class Stats {
public:
    // `wall_ms`: UTC ms since the epoch; `day`: the local day it falls in
    // (any number that changes at midnight). `threshold` is the queue's
    // service-level threshold for rows about a queue.
    void add(const LogRow &row, int64_t wall_ms, int64_t day, Ms threshold);

    Counts queue(QueueId q, int minutes, int64_t wall_ms, int64_t day) const;  // minutes 0: today
    Counts agent(AgentId a, int minutes, int64_t wall_ms, int64_t day) const;

private:
    struct Series {
        std::array<Counts, 60> buckets{};
        std::array<int64_t, 60> bucket_minute{}; // which minute each bucket holds
        Counts today;
        int64_t today_key = INT64_MIN;
        void add(const Counts &delta, int64_t wall_ms, int64_t day);
        Counts sum(int minutes, int64_t wall_ms, int64_t day) const;
    };
    std::unordered_map<QueueId, Series> queues_;
    std::unordered_map<AgentId, Series> agents_;
};

} // namespace tandem::acd
