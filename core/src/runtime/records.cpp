#include "runtime/records.hpp"

#include "log.hpp"
#include "runtime/engine.hpp"

#include <vector>

namespace tandem {

RecordShipper::RecordShipper(Engine &engine) : engine_(engine) {}

RecordShipper::~RecordShipper() { stop(); }

void RecordShipper::start() {
    subscription_ = engine_.events().subscribe(TANDEM_EVENT_MASK(TANDEM_EVENT_CALL_END), [this](const Event &e) {
        if (const std::string *cdr = e.field("cdr")) {
            std::lock_guard lock(mutex_);
            queue_.push_back({"cdr", e.call_id, *cdr});
            cv_.notify_one();
        }
    });
    running_ = true;
    thread_ = std::thread([this] { loop(); });
}

void RecordShipper::stop() {
    if (!thread_.joinable())
        return;
    engine_.events().unsubscribe(subscription_);
    {
        std::lock_guard lock(mutex_);
        running_ = false;
        cv_.notify_one();
    }
    thread_.join();
}

size_t RecordShipper::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void RecordShipper::loop() {
    auto backoff = std::chrono::milliseconds(100);
    std::unique_lock lock(mutex_);
    while (true) {
        cv_.wait(lock, [this] { return !queue_.empty() || !running_; });
        if (queue_.empty())
            return;
        std::vector<Record> batch(queue_.begin(), queue_.end());
        lock.unlock();
        std::vector<tandem_record> records;
        for (auto &r : batch)
            records.push_back({sizeof(tandem_record), r.kind.c_str(), r.id.c_str(), r.json.c_str(), r.json.size()});
        bool all_ok = true;
        for (auto &sink : engine_.registry().snapshot()->cdr_sinks) {
            ModuleUse use = ModuleUse::acquire(sink.owner.get());
            if (!use)
                continue;
            if (sink.desc->write(sink.desc->user, records.data(), records.size()) != TANDEM_OK) {
                all_ok = false;
                log::warning("records", "sink '{}' refused {} records; retrying", sink.desc->name, records.size());
            }
        }
        lock.lock();
        if (all_ok) {
            queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(batch.size()));
            backoff = std::chrono::milliseconds(100);
        } else {
            if (!running_)
                return; // shutting down: the spool (CDR issue) will keep them
            cv_.wait_for(lock, backoff);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
        }
    }
}

} // namespace tandem
