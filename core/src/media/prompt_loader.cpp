#include "media/prompt_loader.hpp"

#include <pthread.h>

namespace tandem::media {

PromptLoader::PromptLoader() : thread_([this] { run(); }) {}

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
