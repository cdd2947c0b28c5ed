#include "runtime/reactor.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace tandem {

namespace {
[[noreturn]] void fail(const char *what) { throw std::runtime_error(std::string(what) + ": " + std::strerror(errno)); }

timespec to_timespec(std::chrono::nanoseconds ns) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(ns.count() / 1000000000);
    ts.tv_nsec = static_cast<long>(ns.count() % 1000000000);
    return ts;
}
} // namespace

Reactor::Reactor() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0)
        fail("epoll_create1");
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0)
        fail("eventfd");
    timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timer_fd_ < 0)
        fail("timerfd_create");
    for (auto [fd, tag] : {std::pair{wake_fd_, &wake_tag_}, std::pair{timer_fd_, &timer_tag_}}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = tag;
        if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0)
            fail("epoll_ctl");
    }
}

Reactor::~Reactor() {
    for (auto &[fd, w] : watches_)
        if (w->on_tick)
            ::close(fd);
    ::close(timer_fd_);
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

bool Reactor::post(Task task) {
    // The loop's own thread drains before it sleeps again: a call started
    // by a task of this round costs no eventfd write, read and extra wake.
    // Once in that drain, what it posts waits for the next round, so a task
    // that keeps re-posting itself cannot starve the sockets.
    bool to_self = in_loop_thread() && !round_closing_;
    {
        std::lock_guard lock(mailbox_mutex_);
        if (!accepting_.load(std::memory_order_relaxed))
            return false;
        mailbox_.push_back(std::move(task));
        if (to_self) {
            posted_to_self_ = true;
            return true;
        }
        // A non-empty mailbox has a wake-up pending already (or the loop
        // thread's own drain at the end of this round): drain_mailbox()
        // takes the mailbox after it reads the eventfd, so it will see this.
        if (mailbox_.size() > 1)
            return true;
    }
    uint64_t one = 1;
    ssize_t rc = ::write(wake_fd_, &one, sizeof one);
    (void)rc;
    return true;
}

void Reactor::stop() {
    // Sticky: a stop() that comes before run() starts still stops it.
    stop_requested_.store(true);
    uint64_t one = 1;
    ssize_t rc = ::write(wake_fd_, &one, sizeof one);
    (void)rc;
}

void Reactor::drain_mailbox(bool signalled) {
    uint64_t count; // one read takes the whole eventfd counter
    if (signalled && ::read(wake_fd_, &count, sizeof count) < 0) {
    }
    {
        std::lock_guard lock(mailbox_mutex_);
        draining_.swap(mailbox_);
    }
    for (auto &task : draining_) {
        task();
        ++tasks_run_;
    }
    draining_.clear();
}

uint64_t Reactor::add_timer(std::chrono::milliseconds delay, Task task) {
    uint64_t id = next_timer_id_++;
    timers_.emplace(id, std::move(task));
    timer_heap_.push({Clock::now() + delay, id});
    arm_timerfd();
    return id;
}

void Reactor::cancel_timer(uint64_t id) { timers_.erase(id); }

void Reactor::arm_timerfd() {
    while (!timer_heap_.empty() && !timers_.count(timer_heap_.top().id))
        timer_heap_.pop();
    if (timer_heap_.empty() || timer_heap_.top().deadline == armed_for_)
        return;
    armed_for_ = timer_heap_.top().deadline;
    itimerspec spec{};
    spec.it_value = to_timespec(armed_for_.time_since_epoch());
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
        spec.it_value.tv_nsec = 1;
    timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void Reactor::fire_timers() {
    uint64_t expirations; // one read takes the whole count
    if (::read(timer_fd_, &expirations, sizeof expirations) < 0) {
    }
    armed_for_ = {};
    auto now = Clock::now();
    while (!timer_heap_.empty() && timer_heap_.top().deadline <= now) {
        auto id = timer_heap_.top().id;
        timer_heap_.pop();
        auto it = timers_.find(id);
        if (it == timers_.end())
            continue;
        Task task = std::move(it->second);
        timers_.erase(it);
        task();
        ++tasks_run_;
    }
    arm_timerfd();
}

int Reactor::add_ticker(std::chrono::milliseconds period, std::function<void(uint64_t)> task) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0)
        fail("timerfd_create");
    itimerspec spec{};
    spec.it_value = to_timespec(period);
    spec.it_interval = to_timespec(period);
    timerfd_settime(fd, 0, &spec, nullptr);
    auto w = std::make_unique<Watch>();
    w->on_tick = std::move(task);
    add_watch(fd, EPOLLIN, std::move(w));
    return fd;
}

void Reactor::remove_ticker(int id) {
    auto it = watches_.find(id);
    if (it == watches_.end() || !it->second->on_tick)
        return;
    retire(id);
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, id, nullptr);
    ::close(id);
}

void Reactor::retire(int fd) {
    auto it = watches_.find(fd);
    it->second->live = false;
    retired_.push_back(std::move(it->second));
    watches_.erase(it);
}

void Reactor::watch_fd(int fd, uint32_t events, FdHandler handler) {
    auto w = std::make_unique<Watch>();
    w->on_ready = std::move(handler);
    add_watch(fd, events, std::move(w));
}

void Reactor::watch_fd(int fd, uint32_t events, RawFdHandler fn, void *arg, std::shared_ptr<void> hold) {
    auto w = std::make_unique<Watch>();
    w->raw = fn;
    w->raw_arg = arg;
    w->hold = std::move(hold);
    add_watch(fd, events, std::move(w));
}

void Reactor::add_watch(int fd, uint32_t events, std::unique_ptr<Watch> watch) {
    bool existing = watches_.count(fd) != 0;
    if (existing)
        retire(fd);
    watch->fd = fd;
    auto &w = watches_[fd] = std::move(watch);
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = w.get();
    if (epoll_ctl(epoll_fd_, existing ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
        watches_.erase(fd);
        fail("epoll_ctl(watch)");
    }
}

void Reactor::unwatch_fd(int fd) {
    if (watches_.count(fd) == 0)
        return;
    retire(fd);
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void Reactor::run() {
    owner_.store(std::this_thread::get_id());
    epoll_event events[64];
    while (!stop_requested_.load(std::memory_order_relaxed)) {
        int n = epoll_wait(epoll_fd_, events, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("epoll_wait");
        }
        // Each watch is a cache miss of its own: start them all at once.
        for (int i = 0; i < n; ++i)
            __builtin_prefetch(events[i].data.ptr);
        for (int i = 0; i < n; ++i) {
            void *tag = events[i].data.ptr;
            if (tag == &wake_tag_) {
                drain_mailbox(true);
            } else if (tag == &timer_tag_) {
                fire_timers();
            } else if (auto *w = static_cast<Watch *>(tag); !w->live) {
                continue; // unwatched earlier in this round
            } else if (w->raw) {
                w->raw(w->fd, events[i].events, w->raw_arg);
            } else if (w->on_tick) {
                uint64_t periods = 0;
                if (::read(w->fd, &periods, sizeof periods) == sizeof periods && periods > 0)
                    w->on_tick(periods);
            } else {
                w->on_ready(events[i].events);
            }
        }
        // From here to the end of the round, posts to self go through the
        // eventfd: the loop may sleep next.
        round_closing_ = true;
        if (posted_to_self_) {
            posted_to_self_ = false;
            drain_mailbox(false);
        }
        retired_.clear();
        if (round_end_)
            round_end_();
        round_closing_ = false;
    }
    {
        std::lock_guard lock(mailbox_mutex_);
        accepting_.store(false);
    }
    drain_mailbox(true);
    if (round_end_)
        round_end_();
}

} // namespace tandem
