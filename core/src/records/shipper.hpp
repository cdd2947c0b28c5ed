#pragma once
// Delivers the spool to one sink, from its own thread: reads durable records
// from the sink's checkpoint on, hands them over in batches, and moves the
// checkpoint (a small file, replaced atomically) only once the sink said the
// batch is stored. A failing sink gets the same batch again after a back-off
// (0.1 s doubling to 10 s); other sinks do not wait for it.
#include "records/spool.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tandem/module.h"

namespace tandem {
class Registry;
}

namespace tandem::records {

class SinkShipper {
public:
    SinkShipper(Spool &spool, Registry &registry, std::string sink_name, std::string checkpoint_path);
    ~SinkShipper();
    void start();
    // Delivers what is durable (waiting at most `drain`), then stops.
    void stop(std::chrono::milliseconds drain);
    SpoolPos checkpoint() const;
    const std::string &sink_name() const { return name_; }
    nlohmann::json status() const;

    static constexpr size_t kBatch = 1000;
    // Between two deliveries that were not full batches. Each delivery
    // costs the sink a commit (the file sink an fdatasync) and the shipper a
    // checkpoint fsync; at a low record rate that would be two fsyncs per
    // record instead of two per this many ms.
    static constexpr std::chrono::milliseconds kLinger{50};

private:
    void loop();
    // The sink's write() result; nullopt when no such sink is registered now.
    std::optional<int> deliver(std::vector<tandem_record> &records);
    bool save_checkpoint(SpoolPos pos);
    // Waits `d` unless stop() is called; false when stopping.
    bool pause(std::chrono::milliseconds d);

    Spool &spool_;
    Registry &registry_;
    const std::string name_, checkpoint_path_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    SpoolPos cursor_;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point drain_deadline_;
    std::atomic<uint64_t> delivered_{0}, failures_{0};
    std::string last_error_;
    std::thread thread_;
};

// Reads a checkpoint file ("SEGMENT OFFSET\n"); false when absent or malformed.
bool read_checkpoint(const std::string &path, SpoolPos &pos);

} // namespace tandem::records
