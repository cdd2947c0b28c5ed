#include "runtime/events.hpp"

#include "runtime/ids.hpp"

#include <condition_variable>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <poll.h>

namespace tandem {

const char *event_type_name(EventType type) {
    switch (type) {
    case EventType::call_start: return "call_start";
    case EventType::call_end: return "call_end";
    case EventType::leg_state: return "leg_state";
    case EventType::dtmf: return "dtmf";
    case EventType::bridge: return "bridge";
    case EventType::unbridge: return "unbridge";
    case EventType::module: return "module";
    case EventType::dialplan: return "dialplan";
    case EventType::custom: return "custom";
    }
    return "custom";
}

const std::string *Event::field(std::string_view key) const {
    for (auto &[k, v] : fields)
        if (k == key)
            return &v;
    return nullptr;
}

Event make_event(EventType type, std::string call_id, std::string leg_id, std::string linked_id) {
    Event e;
    e.type = type;
    e.name = event_type_name(type);
    e.timestamp_us = ids::now_us();
    e.call_id = std::move(call_id);
    e.leg_id = std::move(leg_id);
    e.linked_id = std::move(linked_id);
    e.fields.reserve(4); // what most types carry: one allocation, not three
    return e;
}

EventBus::EventBus() : id_(next_bus_id()) { wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

uint64_t EventBus::next_bus_id() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1);
}

EventBus::~EventBus() {
    stop();
    ::close(wake_fd_);
}

void EventBus::start() {
    if (running_.exchange(true))
        return;
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "tandem-events");
        dispatch_loop();
    });
}

void EventBus::stop() {
    if (!running_.exchange(false))
        return;
    uint64_t one = 1;
    ssize_t rc = ::write(wake_fd_, &one, sizeof one);
    (void)rc;
    thread_.join();
    while (drain_once()) {
    }
}

EventBus::Outbox &EventBus::local_outbox() {
    // One outbox per (bus, thread). Buses are few (one per engine), so a small
    // thread-local list is enough.
    // Keyed by a never-reused id: a new bus may live at a dead one's address.
    thread_local std::vector<std::pair<uint64_t, std::shared_ptr<Outbox>>> mine;
    for (auto &[bus, box] : mine)
        if (bus == id_)
            return *box;
    auto box = std::make_shared<Outbox>();
    {
        std::lock_guard lock(outboxes_mutex_);
        auto list = std::make_shared<Outboxes>(*outboxes_);
        list->push_back(box);
        outboxes_ = std::move(list);
    }
    std::erase_if(mine, [](auto &entry) { return entry.second.use_count() == 1; }); // dead buses
    mine.emplace_back(id_, box);
    return *box;
}

void EventBus::publish(Event event) {
    if (!wants(event.type))
        return;
    Outbox &box = local_outbox();
    {
        std::lock_guard lock(box.mutex);
        box.events.push_back(std::move(event));
    }
    published_.fetch_add(1, std::memory_order_release);
    if (box.defer_wake)
        box.wake_owed = true;
    else
        wake();
}

void EventBus::wake() {
    if (!wake_pending_.exchange(true)) {
        uint64_t one = 1;
        ssize_t rc = ::write(wake_fd_, &one, sizeof one);
        (void)rc;
    }
}

void EventBus::defer_wakes_on_this_thread() { local_outbox().defer_wake = true; }

void EventBus::send_owed_wake() {
    Outbox &box = local_outbox();
    if (box.wake_owed) {
        box.wake_owed = false;
        wake();
    }
}

uint64_t EventBus::subscribe(uint64_t type_mask, Handler handler) {
    std::lock_guard lock(subscribers_mutex_);
    uint64_t id = next_subscriber_++;
    auto subs = std::make_shared<Subscribers>(*subscribers_);
    subs->push_back({id, type_mask, std::move(handler)});
    set_subscribers_locked(std::move(subs));
    return id;
}

void EventBus::unsubscribe(uint64_t id) {
    std::lock_guard lock(subscribers_mutex_);
    auto subs = std::make_shared<Subscribers>(*subscribers_);
    std::erase_if(*subs, [id](const Subscriber &s) { return s.id == id; });
    set_subscribers_locked(std::move(subs));
}

void EventBus::set_subscribers_locked(std::shared_ptr<const Subscribers> subs) {
    uint64_t mask = 0;
    for (auto &s : *subs)
        mask |= s.mask;
    subscribers_ = std::move(subs);
    wanted_.store(mask, std::memory_order_release);
}

bool EventBus::drain_once() {
    std::shared_ptr<const Outboxes> boxes;
    {
        std::lock_guard lock(outboxes_mutex_);
        boxes = outboxes_;
    }
    bool any = false;
    std::vector<Event> batch;
    for (auto &box : *boxes) {
        {
            std::lock_guard lock(box->mutex);
            batch.swap(box->events);
        }
        if (batch.empty())
            continue;
        any = true;
        std::shared_ptr<const Subscribers> subs;
        {
            std::lock_guard lock(subscribers_mutex_);
            subs = subscribers_;
        }
        for (auto &event : batch) {
            uint64_t bit = uint64_t(1) << static_cast<uint32_t>(event.type);
            for (auto &s : *subs)
                if (s.mask & bit)
                    s.handler(event);
        }
        delivered_.fetch_add(batch.size(), std::memory_order_release);
        batch.clear();
        // Hand the emptied vector back, capacity and all, so the publisher
        // does not grow a new one for its next events.
        std::lock_guard lock(box->mutex);
        if (box->events.empty())
            batch.swap(box->events);
    }
    if (any) {
        std::lock_guard lock(flush_mutex_);
        flush_cv_.notify_all();
    }
    return any;
}

void EventBus::dispatch_loop() {
    while (running_.load()) {
        pollfd pfd{wake_fd_, POLLIN, 0};
        ::poll(&pfd, 1, 200);
        uint64_t count;
        while (::read(wake_fd_, &count, sizeof count) > 0) {
        }
        wake_pending_.store(false);
        while (drain_once()) {
        }
    }
}

void EventBus::flush() {
    send_owed_wake(); // this thread's own events are among those waited for
    uint64_t target = published_.load(std::memory_order_acquire);
    if (!running_.load()) {
        while (drain_once()) {
        }
        return;
    }
    std::unique_lock lock(flush_mutex_);
    flush_cv_.wait_for(lock, std::chrono::seconds(5),
                       [&] { return delivered_.load(std::memory_order_acquire) >= target; });
}

} // namespace tandem
