#include "records/spool.hpp"

#include "log.hpp"
#include "runtime/ids.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tandem::records {

namespace {

std::string errno_text(const std::string &what) { return what + ": " + std::strerror(errno); }

// A segment is allocated whole when it is opened, so the rest of an open
// (or crashed) segment reads as zeros: a frame length of 0, which no frame
// has, marks where its records end.
bool at_preallocated_end(std::string_view rest) {
    return rest.size() >= 4 && rest[0] == 0 && rest[1] == 0 && rest[2] == 0 && rest[3] == 0;
}

bool read_file(const std::string &path, std::string &out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    out.clear();
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return n == 0;
}

void sync_dir(const std::string &dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

} // namespace

std::string segment_path(const std::string &dir, uint64_t segment) { return fmt::format("{}/{:020}.seg", dir, segment); }

std::vector<uint64_t> list_segments(const std::string &dir) {
    std::vector<uint64_t> out;
    DIR *d = ::opendir(dir.c_str());
    if (!d)
        return out;
    while (dirent *e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() != 24 || name.substr(20) != ".seg" ||
            name.find_first_not_of("0123456789") != 20)
            continue;
        out.push_back(std::stoull(name.substr(0, 20)));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

// ---------------------------------------------------------------------------

SegmentReader::~SegmentReader() {
    if (fd_ >= 0)
        ::close(fd_);
}

bool SegmentReader::open_segment(uint64_t segment) {
    if (fd_ >= 0 && segment_ == segment)
        return true;
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = ::open(segment_path(dir_, segment).c_str(), O_RDONLY | O_CLOEXEC);
    segment_ = segment;
    return fd_ >= 0;
}

SpoolPos SegmentReader::read(SpoolPos from, SpoolPos limit, size_t max, std::vector<SpoolRecord> &out) {
    std::string buf;
    size_t got = 0;
    while (got < max && from < limit) {
        if (from.offset < kSegmentMagic.size())
            from.offset = kSegmentMagic.size();
        struct stat st {};
        if (!open_segment(from.segment) || ::fstat(fd_, &st) != 0) {
            // Released or never written (a number skipped by a failed open): the next one.
            auto segments = list_segments(dir_);
            auto next = std::upper_bound(segments.begin(), segments.end(), from.segment);
            if (next == segments.end() || *next > limit.segment)
                return from;
            from = {*next, kSegmentMagic.size()};
            continue;
        }
        uint64_t end = from.segment == limit.segment ? std::min<uint64_t>(limit.offset, uint64_t(st.st_size))
                                                     : uint64_t(st.st_size);
        if (from.offset >= end) {
            if (from.segment >= limit.segment)
                return from;
            from = {from.segment + 1, kSegmentMagic.size()};
            continue;
        }
        size_t want = static_cast<size_t>(std::min<uint64_t>(end - from.offset, 1u << 20));
        buf.resize(want);
        ssize_t n = ::pread(fd_, buf.data(), want, static_cast<off_t>(from.offset));
        if (n <= 0)
            return from;
        std::string_view view(buf.data(), static_cast<size_t>(n));
        size_t used = 0;
        bool segment_done = false;
        while (got < max && used < view.size()) {
            if (at_preallocated_end(view.substr(used))) {
                segment_done = true; // a closed segment not yet cut to its records
                break;
            }
            SpoolRecord r;
            size_t size = 0;
            FrameStatus s = decode_frame(view.substr(used), r, size);
            if (s == FrameStatus::torn) {
                if (used == 0) {
                    // One frame larger than the chunk: read it whole.
                    SpoolRecord big;
                    uint32_t len = 0;
                    std::memcpy(&len, view.data(), 4); // little-endian hosts only (x86, arm64)
                    buf.resize(kFrameHeader + std::min(len, kMaxPayload));
                    ssize_t m = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(from.offset));
                    if (m == static_cast<ssize_t>(buf.size()) &&
                        decode_frame(buf, big, size) == FrameStatus::ok) {
                        out.push_back(std::move(big));
                        ++got;
                        from.offset += size;
                        break;
                    }
                    log::error("records", "spool segment {} unreadable at offset {}: skipping the rest of it",
                               from.segment, from.offset);
                    from.offset = end;
                }
                break;
            }
            if (s == FrameStatus::corrupt) {
                log::error("records", "spool segment {} corrupt at offset {}: skipping the rest of it", from.segment,
                           from.offset + used);
                from.offset = end;
                used = 0;
                break;
            }
            out.push_back(std::move(r));
            ++got;
            used += size;
        }
        from.offset = segment_done ? end : from.offset + used;
    }
    return from;
}

// ---------------------------------------------------------------------------

// The segment being appended to: allocated whole and mapped, so that an
// append is a copy into the page cache (which a SIGKILL does not lose) and
// not a write() system call; the commit thread's fdatasync makes it durable.
struct Spool::File {
    int fd = -1;
    uint64_t number = 0;
    char *map = nullptr;
    size_t size = 0;   // allocated and mapped
    uint64_t used = 0; // written: the segment is cut to this when closed
    ~File() {
        if (map)
            ::munmap(map, size);
        if (fd >= 0) {
            if (::ftruncate(fd, static_cast<off_t>(used)) != 0) {
                // the rest stays allocated zeros, which readers and recovery skip
            }
            ::close(fd);
        }
    }
};

Spool::~Spool() {
    stop();
    if (alive_fd_ >= 0)
        ::close(alive_fd_);
}

void Spool::heartbeat() {
    if (alive_fd_ < 0)
        return;
    // Survives a crash or SIGKILL (page cache), not a power loss: good enough
    // to end a cut call's record within a second of the crash.
    std::string now = fmt::format("{:020}\n", ids::now_us());
    if (::pwrite(alive_fd_, now.data(), now.size(), 0) != ssize_t(now.size()))
        return; // a full disk shows up in the spool writes themselves
}

bool Spool::open(const SpoolOptions &options, SpoolRecovery &recovery, std::string &error) {
    options_ = options;
    if (scan_and_open(recovery, error))
        return true;
    std::lock_guard lock(mutex_);
    healthy_ = false;
    error_ = error;
    return false;
}

bool Spool::scan_and_open(SpoolRecovery &recovery, std::string &error) {
    std::map<std::string, SpoolRecord> starts, answers;
    uint64_t last = 0;
    auto segments = list_segments(options_.dir);
    if (!segments.empty()) {
        // before cutting the last segment's allocated rest changes it
        struct stat st {};
        if (::stat(segment_path(options_.dir, segments.back()).c_str(), &st) == 0)
            recovery.last_alive_us = uint64_t(st.st_mtim.tv_sec) * 1000000 + uint64_t(st.st_mtim.tv_nsec) / 1000;
    }
    std::string data;
    for (uint64_t seg : segments) {
        std::string path = segment_path(options_.dir, seg);
        if (!read_file(path, data)) {
            error = errno_text("cannot read " + path);
            return false;
        }
        std::string why;
        size_t pos = scan_segment(data, [&](SpoolRecord &&r) {
            ++recovery.records;
            if (r.kind == "call_start") {
                starts[r.call_id] = std::move(r);
            } else if (r.kind == "call_answer") {
                answers[r.call_id] = std::move(r);
            } else if (!r.call_id.empty()) {
                starts.erase(r.call_id);
                answers.erase(r.call_id);
            }
        }, why);
        if (pos < data.size()) {
            bool allocated_rest = std::all_of(data.begin() + static_cast<std::ptrdiff_t>(pos), data.end(),
                                              [](char c) { return c == 0; });
            if (!allocated_rest) {
                log::warning("records", "spool {}: {} at offset {}; truncating {} bytes", path, why, pos,
                             data.size() - pos);
                recovery.truncated_bytes += data.size() - pos;
            }
            if (::truncate(path.c_str(), static_cast<off_t>(pos)) != 0) {
                error = errno_text("cannot truncate " + path);
                return false;
            }
        }
        last = seg;
    }
    for (auto &[call_id, r] : starts) {
        open_call_locked(call_id, 0); // held until its interrupted record is appended
        recovery.unfinished_starts.push_back(r);
        if (auto a = answers.find(call_id); a != answers.end())
            recovery.unfinished_answers[call_id] = a->second;
    }
    std::string alive;
    if (read_file(options_.dir + "/alive", alive) && !alive.empty())
        recovery.last_alive_us = std::max<uint64_t>(recovery.last_alive_us, std::strtoull(alive.c_str(), nullptr, 10));
    alive_fd_ = ::open((options_.dir + "/alive").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    std::lock_guard lock(mutex_);
    first_ = {segments.empty() ? last + 1 : segments.front(), kSegmentMagic.size()};
    next_segment_ = last + 1;
    return open_segment_locked(last + 1, 0, error);
}

bool Spool::open_segment_locked(uint64_t number, size_t frame_bytes, std::string &error) {
    std::string path = segment_path(options_.dir, number);
    auto f = std::make_shared<File>();
    f->number = number;
    f->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (f->fd < 0) {
        error = errno_text("cannot create " + path);
        return false;
    }
    // All of it now: a full disk shows here, never as a fault in a copy.
    size_t size = std::max<size_t>(options_.segment_bytes, kSegmentMagic.size() + frame_bytes);
    int rc = ::posix_fallocate(f->fd, 0, static_cast<off_t>(size));
    void *map = rc == 0 ? ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0) : MAP_FAILED;
    if (rc != 0 || map == MAP_FAILED) {
        errno = rc != 0 ? rc : errno;
        error = errno_text("cannot allocate " + path);
        f.reset();
        ::unlink(path.c_str());
        return false;
    }
    f->map = static_cast<char *>(map);
    f->size = size;
    std::memcpy(f->map, kSegmentMagic.data(), kSegmentMagic.size());
    f->used = kSegmentMagic.size();
    if (::fdatasync(f->fd) != 0) {
        error = errno_text("cannot write " + path);
        f.reset();
        ::unlink(path.c_str());
        return false;
    }
    sync_dir(options_.dir);
    file_ = std::move(f);
    next_segment_ = number + 1;
    written_ = durable_ = {number, kSegmentMagic.size()};
    durable_cv_.notify_all();
    return true;
}

void Spool::start() {
    std::lock_guard lock(mutex_);
    if (running_)
        return;
    running_ = true;
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "tandem-spool");
        commit_loop();
    });
}

void Spool::stop() {
    {
        std::lock_guard lock(mutex_);
        if (!running_)
            return;
        running_ = false;
        commit_cv_.notify_all();
    }
    thread_.join();
    commit_once();
    std::lock_guard lock(mutex_);
    durable_cv_.notify_all();
    if (!pending_.empty())
        log::error("records", "{} records could not be written to the spool before shutdown: {}", pending_.size(),
                   error_);
}

bool Spool::append(const SpoolRecord &record, std::string &error) {
    std::string frame;
    if (!encode_frame(record, frame)) {
        error = "record " + record.id + " cannot be framed (newline in a field or too large)";
        return false;
    }
    std::lock_guard lock(mutex_);
    track_locked(record);
    if (!pending_.empty() || !write_locked(frame, error)) {
        pending_.push_back(std::move(frame));
        if (pending_.size() == 1)
            commit_cv_.notify_one(); // the committer retries it
        error = error_;
        return false;
    }
    // The first record wakes the idle committer, which then gathers for
    // one interval; a full group is committed at once.
    if (++uncommitted_ == 1 || uncommitted_ >= options_.commit_records)
        commit_cv_.notify_one();
    return true;
}

void Spool::track_locked(const SpoolRecord &r) {
    if (r.call_id.empty())
        return;
    if (r.kind == "call_start")
        open_call_locked(r.call_id, file_ ? file_->number : 0);
    else if (!is_journal(r.kind))
        close_call_locked(r.call_id);
}

void Spool::open_call_locked(const std::string &call_id, uint64_t segment) {
    close_call_locked(call_id);
    open_calls_[call_id] = segment;
    ++pinned_[segment];
}

void Spool::close_call_locked(const std::string &call_id) {
    auto it = open_calls_.find(call_id);
    if (it == open_calls_.end())
        return;
    auto pin = pinned_.find(it->second);
    if (--pin->second == 0)
        pinned_.erase(pin);
    open_calls_.erase(it);
}

bool Spool::write_locked(const std::string &frame, std::string &error) {
    if (!file_ || file_->used + frame.size() > file_->size) {
        // Rotate: the full segment becomes durable and read-only (and is cut
        // to its records when the last reference to it goes).
        std::string why;
        if (file_ && ::fdatasync(file_->fd) != 0)
            why = errno_text("fdatasync of the spool failed");
        else
            open_segment_locked(file_ ? file_->number + 1 : next_segment_, frame.size(), why);
        if (!why.empty()) {
            if (healthy_)
                log::error("records", "spool write failed: {}", why);
            healthy_ = false;
            error = error_ = why;
            return false;
        }
    }
    std::memcpy(file_->map + file_->used, frame.data(), frame.size());
    file_->used += frame.size();
    written_.offset = file_->used;
    return true;
}

bool Spool::healthy() const {
    std::lock_guard lock(mutex_);
    return healthy_;
}

std::string Spool::last_error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

SpoolPos Spool::durable() const {
    std::lock_guard lock(mutex_);
    return durable_;
}

SpoolPos Spool::first() const {
    std::lock_guard lock(mutex_);
    return first_;
}

void Spool::wait_durable_beyond(SpoolPos pos, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    durable_cv_.wait_for(lock, timeout, [&] { return durable_ > pos || !running_; });
}

bool Spool::commit_once() {
    std::unique_lock lock(mutex_);
    // Frames the disk refused earlier go first, in order.
    while (!pending_.empty()) {
        std::string err;
        if (!write_locked(pending_.front(), err))
            break;
        pending_.pop_front();
        ++uncommitted_;
        if (pending_.empty()) {
            healthy_ = true;
            log::notice("records", "spool writable again; the records held in memory are written");
        }
    }
    if (written_ == durable_)
        return true;
    auto file = file_;
    SpoolPos target = written_;
    uncommitted_ = 0;
    lock.unlock();
    bool ok = ::fdatasync(file->fd) == 0;
    std::string why = ok ? "" : errno_text("fdatasync of the spool failed");
    lock.lock();
    if (!ok) {
        if (healthy_)
            log::error("records", "{}", why);
        healthy_ = false;
        error_ = why;
        return false;
    }
    if (target > durable_)
        durable_ = target;
    durable_cv_.notify_all();
    return true;
}

void Spool::commit_loop() {
    auto next_beat = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    while (running_) {
        // Idle (everything written is durable): sleep until a record comes
        // or the heartbeat is due, not a wake-up every commit interval.
        auto idle = [this] { return uncommitted_ == 0 && pending_.empty() && written_ == durable_; };
        if (idle())
            commit_cv_.wait_until(lock, next_beat, [&] { return !running_ || !idle(); });
        if (!idle()) // gather a group, or retry what the disk refused, for one interval
            commit_cv_.wait_for(lock, std::chrono::milliseconds(options_.commit_interval_ms),
                                [this] { return !running_ || uncommitted_ >= options_.commit_records; });
        lock.unlock();
        commit_once();
        if (std::chrono::steady_clock::now() >= next_beat) {
            heartbeat();
            next_beat += std::chrono::seconds(1);
        }
        lock.lock();
    }
}

void Spool::release_before(SpoolPos pos) {
    std::lock_guard lock(mutex_);
    uint64_t keep = std::min(pos.segment, file_ ? file_->number : 0);
    if (!pinned_.empty())
        keep = std::min(keep, pinned_.begin()->first == 0 ? first_.segment : pinned_.begin()->first);
    for (uint64_t seg : list_segments(options_.dir)) {
        if (seg >= keep)
            break;
        ::unlink(segment_path(options_.dir, seg).c_str());
        first_ = {seg + 1, kSegmentMagic.size()};
    }
}

size_t Spool::segment_count() const { return list_segments(options_.dir).size(); }

} // namespace tandem::records
