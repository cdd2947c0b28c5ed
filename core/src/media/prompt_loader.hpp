#pragma once
// One background thread that decodes prompt files, so that a first play
// (or a changed file) never stalls a worker's media tick: the worker hands
// the decode over and the call's script waits, like for any operation.
//
// Thread-safety: submit() from any thread. Jobs run one at a time, in
// order, on the loader's thread. stop() (or the destructor) waits for the
// running job and drops the queued ones; jobs must not outlive what they
// capture, so the owner stops the loader before freeing any of it.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace tandem::media {

class PromptLoader {
public:
    PromptLoader();
    ~PromptLoader();
    PromptLoader(const PromptLoader &) = delete;
    PromptLoader &operator=(const PromptLoader &) = delete;

    // False once stopped (the job is dropped).
    bool submit(std::function<void()> job);
    void stop();

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace tandem::media
