#pragma once
// The typed event bus. Publishers (workers, the console, modules) never
// share a lock: each thread appends to its own outbox; one dispatcher thread
// drains the outboxes and delivers to subscribers in publication order per
// thread, so the events of one call arrive in order.
#include "tandem/module.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tandem {

enum class EventType : uint32_t {
    call_start = TANDEM_EVENT_CALL_START,
    call_end = TANDEM_EVENT_CALL_END,
    leg_state = TANDEM_EVENT_LEG_STATE,
    dtmf = TANDEM_EVENT_DTMF,
    bridge = TANDEM_EVENT_BRIDGE,
    unbridge = TANDEM_EVENT_UNBRIDGE,
    module = TANDEM_EVENT_MODULE,
    dialplan = TANDEM_EVENT_DIALPLAN,
    custom = TANDEM_EVENT_CUSTOM,
};
const char *event_type_name(EventType type);

struct Event {
    EventType type = EventType::custom;
    std::string name; // type name, or the custom name
    uint64_t timestamp_us = 0;
    std::string call_id, leg_id, linked_id;
    std::vector<std::pair<std::string, std::string>> fields;

    const std::string *field(std::string_view key) const;
    Event &with(std::string key, std::string value) {
        fields.emplace_back(std::move(key), std::move(value));
        return *this;
    }
};

// Built with the fields the type needs; the timestamp is taken here.
Event make_event(EventType type, std::string call_id = {}, std::string leg_id = {}, std::string linked_id = {});

class EventBus {
public:
    using Handler = std::function<void(const Event &)>;

    EventBus();
    ~EventBus();
    void start();
    // Delivers everything published so far, then stops the dispatcher.
    void stop();

    // Any thread; never blocks on subscribers.
    void publish(Event event);

    // Any thread. Handlers run on the dispatcher thread. Returns an id.
    uint64_t subscribe(uint64_t type_mask, Handler handler);
    void unsubscribe(uint64_t id);

    // Blocks until everything published before the call has been delivered.
    void flush();

private:
    struct Outbox {
        std::mutex mutex;
        std::vector<Event> events;
    };
    Outbox &local_outbox();
    static uint64_t next_bus_id();
    const uint64_t id_;
    void dispatch_loop();
    bool drain_once();

    int wake_fd_ = -1;
    std::atomic<bool> running_{false};
    std::atomic<bool> wake_pending_{false};
    std::thread thread_;

    std::mutex outboxes_mutex_; // guards the list, not the outboxes' contents
    std::vector<std::shared_ptr<Outbox>> outboxes_;

    struct Subscriber {
        uint64_t id;
        uint64_t mask;
        Handler handler;
    };
    std::mutex subscribers_mutex_;
    std::vector<Subscriber> subscribers_;
    uint64_t next_subscriber_ = 1;

    std::atomic<uint64_t> published_{0};
    std::atomic<uint64_t> delivered_{0};
    std::mutex flush_mutex_;
    std::condition_variable flush_cv_;
};

} // namespace tandem
