// Live statistics: what each queue-log row counts, and windows that roll.
#include "acd/stats.hpp"

#include <catch2/catch.hpp>

using namespace tandem::acd;

namespace {

constexpr int64_t kMinute = 60000;
constexpr int64_t kStart = 1'800'000'000'000; // a wall-clock instant, UTC ms

LogRow row(std::string_view event, QueueId q, AgentId a, int64_t x = 0, int64_t y = 0, int64_t z = 0) {
    return LogRow{0, q, 1, a, event, x, y, z, {}};
}

// Three callers in queue 1 (threshold 20 s): one answered in 10 s, one in
// 30 s, one abandoned; both calls completed (60 s and 120 s of talk); agent
// 7 let one offer ring out.
Stats morning() {
    Stats s;
    const Ms sl = 20000;
    for (int i = 0; i < 3; ++i) s.add(row("ENTER", 1, 0, i + 1), kStart, 1, sl);
    s.add(row("NOANSWER", 1, 7, 15000), kStart + 5000, 1, sl);
    s.add(row("CONNECT", 1, 7, 10000, 2000), kStart + 10000, 1, sl);
    s.add(row("CONNECT", 1, 8, 30000, 2000), kStart + 30000, 1, sl);
    s.add(row("ABANDON", 1, 0, 1, 3, 4000), kStart + 5000, 1, sl);
    s.add(row("COMPLETECALLER", 1, 7, 10000, 60000), kStart + kMinute + 10000, 1, sl);
    s.add(row("COMPLETEAGENT", 1, 8, 30000, 120000), kStart + 2 * kMinute + 30000, 1, sl);
    s.add(row("PAUSE", 0, 7), kStart + 3 * kMinute, 1, sl); // counts nothing
    return s;
}

} // namespace

TEST_CASE("stats: what the rows of one morning count") {
    Stats s = morning();
    Counts q = s.queue(1, 15, kStart + 3 * kMinute, 1);
    CHECK(q.offered == 3);
    CHECK(q.answered == 2);
    CHECK(q.answered_in_sl == 1);
    CHECK(q.abandoned == 1);
    CHECK(q.service_level() == Approx(1.0 / 3));
    CHECK(q.asa_s() == Approx(20.0));
    CHECK(q.completed == 2);
    CHECK(q.talk_s() == Approx(90.0));
    Counts a7 = s.agent(7, 15, kStart + 3 * kMinute, 1);
    CHECK(a7.answered == 1);
    CHECK(a7.missed == 1);
    CHECK(a7.talk_ms == 60000);
    CHECK(s.agent(8, 15, kStart + 3 * kMinute, 1).talk_ms == 120000);
    CHECK(s.queue(2, 15, kStart, 1).offered == 0); // another queue
}

TEST_CASE("stats: windows roll off, today resets at the day's change") {
    Stats s = morning();
    CHECK(s.queue(1, 15, kStart + 15 * kMinute, 1).offered == 0);  // the first minute has left
    CHECK(s.queue(1, 15, kStart + 15 * kMinute, 1).completed == 2); // minutes 1 and 2 have not
    CHECK(s.queue(1, 60, kStart + 59 * kMinute, 1).offered == 3);
    CHECK(s.queue(1, 60, kStart + 60 * kMinute, 1).offered == 0);
    CHECK(s.queue(1, 0, kStart + 600 * kMinute, 1).offered == 3); // today
    CHECK(s.queue(1, 0, kStart + 600 * kMinute, 2).offered == 0); // tomorrow
    // a bucket reused an hour later forgets what it held
    s.add(row("ENTER", 1, 0, 1), kStart + 60 * kMinute, 1, 20000);
    CHECK(s.queue(1, 60, kStart + 60 * kMinute, 1).offered == 1);
    CHECK(s.queue(1, 0, kStart + 60 * kMinute, 1).offered == 4);
}

TEST_CASE("stats: no calls is a full service level and no wait") {
    Counts none;
    CHECK(none.service_level() == 1.0);
    CHECK(none.asa_s() == 0);
    CHECK(none.talk_s() == 0);
}
