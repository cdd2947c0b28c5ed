// The ACD's own thread: it owns the Acd, runs what other threads post to it,
// wakes for the Acd's deadlines, and turns what the Acd decides into queue-log
// records and events. Nothing else touches the Acd.
#pragma once

#include "acd/acd.hpp"
#include "acd/stats.hpp"
#include "queue_settings.hpp"
#include "tandem/module.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace tandem::queue {

// Where the ACD's decisions about callers go (queue_calls.cpp): called on
// the ACD's thread, in the order the Acd decides.
class CallerSink {
public:
    virtual ~CallerSink() = default;
    virtual void offer(const acd::Acd &acd, const acd::Offer &offer) = 0;
    virtual void withdraw(const acd::Offer &offer, acd::OfferEnd why) = 0;
    virtual void caller_left(acd::CallerId caller, acd::ExitReason why) = 0;
    // The engine's call id of an ACD caller, for its queue-log rows ("" none).
    virtual std::string call_id(acd::CallerId caller) = 0;
};

class AcdService {
public:
    using Task = std::function<void(acd::Acd &, acd::Ms now)>;

    AcdService(const tandem_host *host, tandem_module *self);
    ~AcdService(); // stops the thread; posted tasks not yet run are dropped
    AcdService(const AcdService &) = delete;
    AcdService &operator=(const AcdService &) = delete;

    // Runs `task` on the ACD thread soon, or once the monotonic clock reaches `when`.
    void post(Task task);
    void post_at(acd::Ms when, Task task);

    // Runs `fn` on the ACD thread and returns its result (console commands).
    template <class Fn> auto call(Fn fn) -> decltype(fn(std::declval<acd::Acd &>(), acd::Ms{})) {
        using R = decltype(fn(std::declval<acd::Acd &>(), acd::Ms{}));
        std::promise<R> done;
        auto result = done.get_future();
        post([&](acd::Acd &acd, acd::Ms now) {
            if constexpr (std::is_void_v<R>) {
                fn(acd, now);
                done.set_value();
            } else {
                done.set_value(fn(acd, now));
            }
        });
        return result.get();
    }

    // Brings the Acd in line with `settings` (load and `module reload`):
    // new queues and agents are added, existing ones take the new settings
    // and members, agents' states and members' counts are kept. A queue or agent no longer in
    // the file loses its members (an agent is logged out) but stays known
    // until the engine restarts, so its history and ids stay valid.
    void apply(const Settings &settings);

    static acd::Ms monotonic_ms();
    // The wall clock (UTC ms) and the local day it falls in, as Stats wants them.
    static std::pair<int64_t, int64_t> wall_and_day();

    // Publishes every queue's `queue_stats` event each `seconds` (0: never).
    void set_stats_interval(int seconds);

    // On the ACD's thread only (inside call() or post()): the live statistics,
    // the members of `queue` logged in and not paused, and where callers'
    // offers go (set once, before any caller enters).
    const acd::Stats &stats() const;
    int staffed(acd::QueueId queue) const;
    void set_caller_sink(CallerSink *sink);
    // What the ACD's thread has spent its time on since it started (`queue
    // acd`), by the monotonic clock: CPU time unless the thread was preempted.
    struct Workload {
        uint64_t tasks = 0;    // posted and timed tasks run
        uint64_t offers = 0;   // offers made: the distribution decisions
        int64_t busy_ns = 0;   // running tasks and the Acd's timers
        int64_t output_ns = 0; // of busy_ns: queue-log rows, events and the messages to workers
    };
    Workload workload() const;
    // On the ACD's thread, around what a task tells others (a reply posted
    // to a worker): its time counts as output in workload(), not as
    // deciding. Nested ones count once.
    class Telling {
    public:
        explicit Telling(AcdService &service);
        ~Telling();
        Telling(const Telling &) = delete;
        Telling &operator=(const Telling &) = delete;

    private:
        AcdService &service_;
        int64_t start_;
    };
    // A queue-log row the Acd does not write itself (callback outcomes).
    void log_row(const acd::LogRow &row);

private:
    class Output;
    void run();
    void publish_stats(acd::Ms now);

    Workload workload_;    // on the ACD's thread
    int telling_depth_ = 0; // Telling's nesting
    std::unique_ptr<Output> output_;
    std::unique_ptr<acd::Acd> acd_;
    std::mutex lock_;
    std::condition_variable wake_;
    std::deque<Task> tasks_;
    std::multimap<acd::Ms, Task> timed_; // post_at's, by when
    bool stopping_ = false;
    acd::Ms stats_interval_ = 0; // under lock_
    acd::Ms next_stats_ = INT64_MAX;
    std::thread thread_;
};

} // namespace tandem::queue
