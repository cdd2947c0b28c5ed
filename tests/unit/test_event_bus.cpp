// The event bus: what a subscriber gets, what nobody gets (and so is never
// built), and the once-per-round wake-up a worker thread uses.
#include "runtime/events.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace tandem;

TEST_CASE("the event bus delivers what a subscriber's mask names and drops what nobody wants", "[events]") {
    EventBus bus;
    bus.start();
    CHECK_FALSE(bus.wants(EventType::custom));
    bus.publish(make_event(EventType::custom).with("n", "before"));

    std::vector<std::string> seen;
    uint64_t id = bus.subscribe(TANDEM_EVENT_MASK(TANDEM_EVENT_CUSTOM), [&](const Event &e) {
        seen.push_back(*e.field("n"));
    });
    CHECK(bus.wants(EventType::custom));
    CHECK_FALSE(bus.wants(EventType::dtmf));
    bus.publish(make_event(EventType::custom).with("n", "1"));
    bus.publish(make_event(EventType::dtmf).with("n", "not asked for"));
    bus.publish(make_event(EventType::custom).with("n", "2"));
    bus.flush();
    CHECK(seen == std::vector<std::string>{"1", "2"}); // "before" was published to nobody

    bus.unsubscribe(id);
    CHECK_FALSE(bus.wants(EventType::custom));
    bus.publish(make_event(EventType::custom).with("n", "after"));
    bus.flush();
    CHECK(seen.size() == 2);
    bus.stop();
}

TEST_CASE("a thread that defers wake-ups has its events delivered once it sends the owed one", "[events]") {
    EventBus bus;
    bus.start();
    std::atomic<int> seen{0};
    bus.subscribe(TANDEM_EVENT_MASK_ALL, [&](const Event &) { ++seen; });
    std::thread worker([&] {
        bus.defer_wakes_on_this_thread();
        for (int i = 0; i < 3; ++i)
            bus.publish(make_event(EventType::custom));
        bus.send_owed_wake(); // the end of a reactor round
    });
    worker.join();
    // Well before the dispatcher's 200 ms idle poll would find them.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
    while (seen < 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(seen == 3);
    bus.stop();
}
