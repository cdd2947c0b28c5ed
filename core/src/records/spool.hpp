#pragma once
// The durable record spool: append-only segment files in the instance's
// spool directory. Calls append on their worker thread (a copy into the
// segment, allocated and mapped when it is opened: no system call, never an
// fsync); a commit thread makes appended records durable in groups (every
// commit_interval_ms or commit_records, whichever first). Sinks only ever
// read durable records, so "acknowledged" = on disk = visible to a sink.
//
// The spool also journals call starts and answers: a start with no record
// after a crash becomes an "interrupted" record when the spool is next
// opened, ending at the engine's last heartbeat (SPOOL/alive, every second).
#include "records/frame.hpp"

#include <compare>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tandem::records {

struct SpoolPos {
    uint64_t segment = 0; // segment number (file name)
    uint64_t offset = 0;  // byte offset in it
    auto operator<=>(const SpoolPos &) const = default;
};

struct SpoolOptions {
    std::string dir;
    uint32_t commit_interval_ms = 10;
    uint32_t commit_records = 256;
    uint64_t segment_bytes = 16u << 20;
};

// What open() found and repaired.
struct SpoolRecovery {
    size_t records = 0;          // valid frames found
    size_t truncated_bytes = 0;  // torn or corrupt tails cut off
    std::vector<SpoolRecord> unfinished_starts; // call_start frames with no record
    std::map<std::string, SpoolRecord> unfinished_answers; // their call_answer frames, by call id
    uint64_t last_alive_us = 0;  // the engine's last sign of life: heartbeat or newest segment write
};

// Reads frames of one spool directory; used by the sinks' shippers, replay
// and the fuzz target (through decode_frame).
class SegmentReader {
public:
    explicit SegmentReader(std::string dir) : dir_(std::move(dir)) {}
    ~SegmentReader();
    // Reads records in [from, limit), at most `max` of them (journal frames
    // included). Returns the position after the last one read.
    SpoolPos read(SpoolPos from, SpoolPos limit, size_t max, std::vector<SpoolRecord> &out);

private:
    bool open_segment(uint64_t segment);
    std::string dir_;
    int fd_ = -1;
    uint64_t segment_ = 0;
};

std::string segment_path(const std::string &dir, uint64_t segment);
// Segment numbers present in `dir`, ascending.
std::vector<uint64_t> list_segments(const std::string &dir);

class Spool {
public:
    Spool() = default;
    ~Spool();
    Spool(const Spool &) = delete;
    Spool &operator=(const Spool &) = delete;

    // Scans every segment, truncates torn or corrupt tails (logging each),
    // and opens a new segment for appending. False with `error` when the
    // directory cannot be used.
    bool open(const SpoolOptions &options, SpoolRecovery &recovery, std::string &error);
    // Starts the commit thread.
    void start();
    // Makes everything appended durable, then stops the commit thread.
    void stop();

    // Any thread. Appends one record. False (with `error`) when it could not
    // be written: the record is then kept in memory and written again by
    // the commit thread until the disk accepts it; nothing partial stays on
    // disk. healthy() stays false until such a retry succeeds.
    bool append(const SpoolRecord &record, std::string &error);
    bool healthy() const;
    std::string last_error() const;

    // Everything before this is on disk (fsynced).
    SpoolPos durable() const;
    // Position of the first frame still on disk.
    SpoolPos first() const;
    // Waits until durable() > pos or the timeout passes or stop().
    void wait_durable_beyond(SpoolPos pos, std::chrono::milliseconds timeout);
    const std::string &dir() const { return options_.dir; }

    // Deletes closed segments wholly before `pos` whose calls are finished.
    void release_before(SpoolPos pos);
    size_t segment_count() const;

private:
    bool scan_and_open(SpoolRecovery &recovery, std::string &error);
    bool write_locked(const std::string &frame, std::string &error);
    // Creates segment `number`, allocated whole (segment_bytes, or more for
    // one frame of `frame_bytes`) and mapped; makes it file_.
    bool open_segment_locked(uint64_t number, size_t frame_bytes, std::string &error);
    void track_locked(const SpoolRecord &r);
    // An open call holds its start frame's segment (0: the first there is);
    // the oldest such segment is pinned_'s first, so release need not walk calls.
    void open_call_locked(const std::string &call_id, uint64_t segment);
    void close_call_locked(const std::string &call_id);
    void commit_loop();
    bool commit_once();
    void heartbeat();

    struct File;
    SpoolOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable commit_cv_;
    mutable std::condition_variable durable_cv_;
    std::shared_ptr<File> file_; // the segment being appended to
    uint64_t next_segment_ = 1;  // opened when file_ is null (the spool could not be opened)
    SpoolPos written_, durable_, first_;
    uint32_t uncommitted_ = 0;
    std::deque<std::string> pending_;              // frames the disk refused, in order
    std::map<std::string, uint64_t> open_calls_;   // call id -> segment of its start frame
    std::map<uint64_t, size_t> pinned_;            // segment -> open calls that started in it
    bool healthy_ = true;
    std::string error_;
    bool running_ = false;
    int alive_fd_ = -1; // SPOOL/alive: the time, rewritten every second (no fsync)
    std::thread thread_;
};

} // namespace tandem::records
