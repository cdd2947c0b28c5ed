// What a waiting dialplan function keeps on its call's worker (a caller in
// line, a callback being connected), found from other threads by a token:
// a message for one that has gone finds nothing and is dropped, so no
// thread ever holds a pointer to state that another may free.
#pragma once

#include "queue_module.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace tandem::queue {

template <class T> class WaitingRegistry {
public:
    // Registers `obj` (owned by the caller, on its worker) for `inv`; returns its token.
    uint64_t add(T *obj, tandem_invocation *inv) {
        std::lock_guard<std::mutex> hold(lock_);
        uint64_t token = next_++;
        by_token_[token] = obj;
        by_invocation_[inv] = obj;
        return token;
    }
    void remove(uint64_t token, tandem_invocation *inv) {
        std::lock_guard<std::mutex> hold(lock_);
        by_token_.erase(token);
        by_invocation_.erase(inv);
    }
    // On the object's worker only: it cannot go while the worker runs this task.
    T *find(uint64_t token) {
        std::lock_guard<std::mutex> hold(lock_);
        auto it = by_token_.find(token);
        return it == by_token_.end() ? nullptr : it->second;
    }
    T *find(tandem_invocation *inv) {
        std::lock_guard<std::mutex> hold(lock_);
        auto it = by_invocation_.find(inv);
        return it == by_invocation_.end() ? nullptr : it->second;
    }
    // Any thread: runs fn(obj) on `worker` if `token` is still registered then.
    void post(int worker, uint64_t token, std::function<void(T &)> fn) {
        struct Task {
            WaitingRegistry *registry;
            uint64_t token;
            std::function<void(T &)> fn;
        };
        auto *task = new Task{this, token, std::move(fn)};
        auto run = [](void *arg) {
            std::unique_ptr<Task> t(static_cast<Task *>(arg));
            if (T *obj = t->registry->find(t->token)) t->fn(*obj);
        };
        if (module.host->post(module.self, worker, run, task) != TANDEM_OK) delete task; // stopping: the call goes too
    }

private:
    std::mutex lock_;
    std::unordered_map<uint64_t, T *> by_token_;
    std::unordered_map<tandem_invocation *, T *> by_invocation_;
    uint64_t next_ = 1;
};

} // namespace tandem::queue
