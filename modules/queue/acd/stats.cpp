#include "acd/stats.hpp"

#include <string_view>

namespace tandem::acd {

Counts &Counts::operator+=(const Counts &o) {
    offered += o.offered;
    answered += o.answered;
    answered_in_sl += o.answered_in_sl;
    abandoned += o.abandoned;
    timed_out += o.timed_out;
    wait_ms += o.wait_ms;
    completed += o.completed;
    talk_ms += o.talk_ms;
    missed += o.missed;
    return *this;
}

double Counts::service_level() const {
    int64_t ended = answered + abandoned;
    return ended ? static_cast<double>(answered_in_sl) / static_cast<double>(ended) : 1.0;
}
double Counts::asa_s() const { return answered ? static_cast<double>(wait_ms) / 1000.0 / static_cast<double>(answered) : 0; }
double Counts::talk_s() const {
    return completed ? static_cast<double>(talk_ms) / 1000.0 / static_cast<double>(completed) : 0;
}

void Stats::Series::add(const Counts &delta, int64_t wall_ms, int64_t day) {
    int64_t minute = wall_ms / 60000;
    Counts &b = buckets[static_cast<size_t>(minute % 60)];
    int64_t &held = bucket_minute[static_cast<size_t>(minute % 60)];
    if (held != minute) {
        b = Counts{};
        held = minute;
    }
    b += delta;
    if (today_key != day) {
        today = Counts{};
        today_key = day;
    }
    today += delta;
}

Counts Stats::Series::sum(int minutes, int64_t wall_ms, int64_t day) const {
    if (minutes <= 0) return today_key == day ? today : Counts{};
    Counts out;
    int64_t now_minute = wall_ms / 60000;
    for (size_t i = 0; i < 60; ++i)
        if (bucket_minute[i] > now_minute - minutes && bucket_minute[i] <= now_minute) out += buckets[i];
    return out;
}

void Stats::add(const LogRow &row, int64_t wall_ms, int64_t day, Ms threshold) {
    std::string_view e = row.event;
    Counts q, a;
    if (e == "ENTER") {
        q.offered = 1;
    } else if (e == "CONNECT") {
        q.answered = a.answered = 1;
        q.answered_in_sl = row.a <= threshold;
        q.wait_ms = row.a;
    } else if (e == "COMPLETECALLER" || e == "COMPLETEAGENT" || e == "TRANSFER") {
        q.completed = a.completed = 1;
        q.talk_ms = a.talk_ms = row.b;
    } else if (e == "ABANDON") {
        q.abandoned = 1;
    } else if (e == "EXITWITHTIMEOUT") {
        q.timed_out = 1;
    } else if (e == "NOANSWER" || e == "BUSY" || e == "REJECTED") {
        a.missed = 1;
    } else {
        return;
    }
    if (row.queue) queues_[row.queue].add(q, wall_ms, day);
    if (row.agent) agents_[row.agent].add(a, wall_ms, day);
}

Counts Stats::queue(QueueId q, int minutes, int64_t wall_ms, int64_t day) const {
    auto it = queues_.find(q);
    return it == queues_.end() ? Counts{} : it->second.sum(minutes, wall_ms, day);
}

Counts Stats::agent(AgentId a, int minutes, int64_t wall_ms, int64_t day) const {
    auto it = agents_.find(a);
    return it == agents_.end() ? Counts{} : it->second.sum(minutes, wall_ms, day);
}

} // namespace tandem::acd
