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

    // Any thread; never blocks on subscribers. An event of a type no
    // subscriber wants is dropped here: a subscriber receives what is
    // published after its subscribe() returned.
    void publish(Event event);
    // Any thread: does a subscriber want events of this type? Lets a
    // publisher skip building an event (or its costly fields) nobody gets.
    bool wants(EventType type) const {
        return wanted_.load(std::memory_order_acquire) & (uint64_t(1) << static_cast<uint32_t>(type));
    }

    // Any thread. Handlers run on the dispatcher thread. Returns an id.
    uint64_t subscribe(uint64_t type_mask, Handler handler);
    void unsubscribe(uint64_t id);

    // Blocks until everything published before the call has been delivered.
    void flush();

    // The calling thread (a worker, whose reactor calls send_owed_wake()
    // after each round) wakes the dispatcher once per round of its loop
    // rather than once per event: publish() only notes the wake-up owed.
    void defer_wakes_on_this_thread();
    void send_owed_wake();

private:
    struct Outbox {
        std::mutex mutex;
        std::vector<Event> events;
        // The owning thread's own: see defer_wakes_on_this_thread().
        bool defer_wake = false;
        bool wake_owed = false;
    };
    Outbox &local_outbox();
    static uint64_t next_bus_id();
    const uint64_t id_;
    void dispatch_loop();
    bool drain_once();
    void wake();

    int wake_fd_ = -1;
    std::atomic<bool> running_{false};
    std::atomic<bool> wake_pending_{false};
    std::thread thread_;

    using Outboxes = std::vector<std::shared_ptr<Outbox>>;
    std::mutex outboxes_mutex_; // guards the list, not the outboxes' contents
    std::shared_ptr<const Outboxes> outboxes_ = std::make_shared<Outboxes>(); // replaced whole

    struct Subscriber {
        uint64_t id;
        uint64_t mask;
        Handler handler;
    };
    // Replaced whole on (un)subscribe, so the dispatcher takes a snapshot
    // with a reference count, not a copy of every handler.
    using Subscribers = std::vector<Subscriber>;
    std::mutex subscribers_mutex_;
    std::shared_ptr<const Subscribers> subscribers_ = std::make_shared<Subscribers>();
    uint64_t next_subscriber_ = 1;
    std::atomic<uint64_t> wanted_{0}; // the union of the subscribers' masks
    void set_subscribers_locked(std::shared_ptr<const Subscribers> subs);

    std::atomic<uint64_t> published_{0};
    std::atomic<uint64_t> delivered_{0};
    std::mutex flush_mutex_;
    std::condition_variable flush_cv_;
};

} // namespace tandem
