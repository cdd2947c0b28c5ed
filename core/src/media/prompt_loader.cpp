#include "media/prompt_loader.hpp"

#include <pthread.h>
#include <csignal>

namespace tandem::media {

PromptLoader::PromptLoader() {
    // Built with the engine, before Engine::start() blocks the signals it
    // reads from a signalfd: the thread must never take a SIGTERM, whose
    // default action would kill the process instead of a graceful shutdown.
    // A thread inherits its creator's mask.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    thread_ = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

PromptLoader::~PromptLoader() { stop(); }

bool PromptLoader::submit(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return false;
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

void PromptLoader::stop() {
    std::deque<std::function<void()>> dropped; // destroyed outside the lock
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        dropped.swap(jobs_);
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
}

void PromptLoader::run() {
    pthread_setname_np(pthread_self(), "tandem-prompts");
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_)
                return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job();
    }
}

} // namespace tandem::media
