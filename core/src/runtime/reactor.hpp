#pragma once
// One event loop (epoll + eventfd mailbox + timerfd) owned by one thread.
// Other threads reach it only through post(); everything else is loop-only.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tandem {

class Reactor {
public:
    using Task = std::function<void()>;
    using FdHandler = std::function<void(uint32_t events)>;
    // A module's handler as the C ABI's fd_watch gives it: called directly,
    // with no std::function (and its heap closure) in between per event.
    using RawFdHandler = void (*)(int fd, uint32_t events, void *arg);
    using Clock = std::chrono::steady_clock;

    Reactor();
    ~Reactor();
    Reactor(const Reactor &) = delete;
    Reactor &operator=(const Reactor &) = delete;

    // Runs until stop(); binds the loop to the calling thread.
    void run();
    // Any thread. Pending posted tasks still run before run() returns.
    void stop();
    // Any thread. False (task dropped) once the loop has stopped. A task
    // posted from the loop's own thread runs at the end of the current
    // round (no eventfd round trip); one it posts in turn, in the next.
    bool post(Task task);
    bool in_loop_thread() const { return std::this_thread::get_id() == owner_.load(); }

    // Loop-only. One-shot timer; returns an id > 0.
    uint64_t add_timer(std::chrono::milliseconds delay, Task task);
    void cancel_timer(uint64_t id);
    // Loop-only. A drift-free periodic tick on its own timerfd; `task` gets
    // the number of periods elapsed (more than 1 after an overrun).
    int add_ticker(std::chrono::milliseconds period, std::function<void(uint64_t)> task);
    void remove_ticker(int id);

    // Loop-only. Level-triggered epoll watch; a handler may unwatch or
    // re-watch its own fd (or any other) while it runs.
    void watch_fd(int fd, uint32_t events, FdHandler handler);
    // The same for a raw handler; `hold` is kept as long as the watch (a
    // module's use count).
    void watch_fd(int fd, uint32_t events, RawFdHandler fn, void *arg, std::shared_ptr<void> hold);
    void unwatch_fd(int fd);

    // Loop-only. Runs after each round of ready events has been handled,
    // and once more as run() returns: where work batched during a round
    // (the event bus's wake-up) is sent.
    void on_round_end(Task task) { round_end_ = std::move(task); }
    // Loop-only statistics.
    uint64_t tasks_run() const { return tasks_run_; }

private:
    // One watched descriptor, found through epoll's data.ptr (no lookup per
    // event). An unwatched one is retired, not freed, until the dispatch
    // round ends: events already returned for it are skipped, and a handler
    // that unwatches itself is not destroyed while it runs.
    // What an event needs comes first: one cache line for a raw handler.
    struct Watch {
        int fd;
        bool live = true;
        RawFdHandler raw = nullptr;              // a module's descriptor
        void *raw_arg = nullptr;
        FdHandler on_ready;                      // or the engine's own
        std::function<void(uint64_t)> on_tick;   // or a ticker's timerfd
        std::shared_ptr<void> hold;
    };
    void retire(int fd);
    void add_watch(int fd, uint32_t events, std::unique_ptr<Watch> w);
    void drain_mailbox(bool signalled);
    void arm_timerfd();
    void fire_timers();

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    int timer_fd_ = -1;
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> accepting_{true};
    std::atomic<std::thread::id> owner_{};

    std::mutex mailbox_mutex_;
    std::vector<Task> mailbox_;
    std::vector<Task> draining_;
    // Loop-only: the loop thread posted to itself this round (no eventfd
    // was written for it); the round's end (that drain, round_end_) is on.
    bool posted_to_self_ = false;
    bool round_closing_ = false;

    struct TimerEntry {
        Clock::time_point deadline;
        uint64_t id;
        bool operator>(const TimerEntry &o) const { return deadline > o.deadline; }
    };
    std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timer_heap_;
    std::unordered_map<uint64_t, Task> timers_;
    uint64_t next_timer_id_ = 1;
    Clock::time_point armed_for_{};

    std::unordered_map<int, std::unique_ptr<Watch>> watches_;
    std::vector<std::unique_ptr<Watch>> retired_;
    // epoll's data.ptr for the two descriptors the loop itself owns
    char wake_tag_ = 0, timer_tag_ = 0;
    uint64_t tasks_run_ = 0;
    Task round_end_;
};

} // namespace tandem
