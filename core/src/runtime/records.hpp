#pragma once
// Ships call records to the registered CDR sinks from its own thread, so a
// slow sink never delays a call. A sink that fails gets the same batch again
// after a back-off. Records wait in memory here; the durable spool in front
// of this queue is the CDR issue's (docs/architecture.md).
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace tandem {

class Engine;

class RecordShipper {
public:
    explicit RecordShipper(Engine &engine);
    ~RecordShipper();
    void start();
    // Tries to deliver what is queued (bounded wait), then stops.
    void stop();
    size_t queued() const;

private:
    struct Record {
        std::string kind, id, json;
    };
    void loop();

    Engine &engine_;
    uint64_t subscription_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Record> queue_;
    bool running_ = false;
    std::thread thread_;
};

} // namespace tandem
