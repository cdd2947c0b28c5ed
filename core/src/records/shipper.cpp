#include "records/shipper.hpp"

#include "log.hpp"
#include "modules/registry.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

namespace tandem::records {

bool read_checkpoint(const std::string &path, SpoolPos &pos) {
    FILE *f = std::fopen(path.c_str(), "r");
    if (!f)
        return false;
    unsigned long long seg = 0, off = 0;
    bool ok = std::fscanf(f, "%llu %llu", &seg, &off) == 2;
    std::fclose(f);
    if (ok)
        pos = {seg, off};
    return ok;
}

SinkShipper::SinkShipper(Spool &spool, Registry &registry, std::string sink_name, std::string checkpoint_path)
    : spool_(spool), registry_(registry), name_(std::move(sink_name)), checkpoint_path_(std::move(checkpoint_path)) {
    if (!read_checkpoint(checkpoint_path_, cursor_) || cursor_ < spool_.first()) {
        cursor_ = spool_.first();
        save_checkpoint(cursor_); // from now on it holds the spool for this sink
    }
}

SinkShipper::~SinkShipper() { stop(std::chrono::milliseconds(0)); }

void SinkShipper::start() {
    thread_ = std::thread([this] {
        // "tandem-sink-pgsql": the kernel keeps 15 characters
        pthread_setname_np(pthread_self(), ("tandem-sink-" + name_).substr(0, 15).c_str());
        loop();
    });
}

void SinkShipper::stop(std::chrono::milliseconds drain) {
    if (!thread_.joinable())
        return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        drain_deadline_ = std::chrono::steady_clock::now() + drain;
        cv_.notify_all();
    }
    thread_.join();
}

SpoolPos SinkShipper::checkpoint() const {
    std::lock_guard lock(mutex_);
    return cursor_;
}

nlohmann::json SinkShipper::status() const {
    std::lock_guard lock(mutex_);
    SpoolPos durable = spool_.durable();
    return {{"name", name_},
            {"checkpoint", fmt::format("{}:{}", cursor_.segment, cursor_.offset)},
            {"caught_up", cursor_ >= durable},
            {"delivered", delivered_.load()},
            {"failures", failures_.load()},
            {"last_error", last_error_}};
}

bool SinkShipper::save_checkpoint(SpoolPos pos) {
    std::string tmp = checkpoint_path_ + ".tmp";
    std::string text = fmt::format("{} {}\n", pos.segment, pos.offset);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fdatasync(fd) == 0;
    if (fd >= 0)
        ::close(fd);
    ok = ok && std::rename(tmp.c_str(), checkpoint_path_.c_str()) == 0;
    if (!ok)
        log::error("records", "cannot save checkpoint {}: {}; records may be offered to '{}' again",
                   checkpoint_path_, std::strerror(errno), name_);
    return ok;
}

std::optional<int> SinkShipper::deliver(std::vector<tandem_record> &records) {
    const tandem_cdr_sink *sink = nullptr;
    std::shared_ptr<tandem_module> owner;
    auto snapshot = registry_.snapshot();
    for (auto &s : snapshot->cdr_sinks)
        if (name_ == s.desc->name) {
            sink = s.desc;
            owner = s.owner;
        }
    // The module stays loaded for the call, and only for the call: a sink
    // waiting out a back-off must not block `module unload`.
    ModuleUse use = sink ? ModuleUse::acquire(owner.get()) : ModuleUse();
    if (!sink || !use)
        return std::nullopt;
    return sink->write(sink->user, records.data(), records.size());
}

bool SinkShipper::pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, d, [this] { return stopping_; });
    return !stopping_;
}

void SinkShipper::loop() {
    SegmentReader reader(spool_.dir());
    auto backoff = std::chrono::milliseconds(100);
    std::vector<SpoolRecord> batch;
    std::vector<tandem_record> records;
    std::chrono::steady_clock::time_point last_delivery{};
    bool backlog = false;
    while (true) {
        SpoolPos cursor, durable = spool_.durable();
        bool stopping;
        {
            std::lock_guard lock(mutex_);
            cursor = cursor_;
            stopping = stopping_;
            if (stopping && (cursor >= durable || std::chrono::steady_clock::now() >= drain_deadline_))
                return;
        }
        if (cursor >= durable) {
            spool_.wait_durable_beyond(cursor, std::chrono::milliseconds(200));
            std::lock_guard lock(mutex_);
            if (stopping_ && spool_.durable() <= cursor)
                return;
            continue;
        }
        if (!backlog && !stopping) {
            auto now = std::chrono::steady_clock::now();
            if (now < last_delivery + kLinger) {
                pause(std::chrono::ceil<std::chrono::milliseconds>(last_delivery + kLinger - now));
                continue;
            }
        }
        batch.clear();
        SpoolPos next = reader.read(cursor, durable, kBatch, batch);
        backlog = batch.size() >= kBatch;
        records.clear();
        for (auto &r : batch)
            if (!is_journal(r.kind)) // the journal is the spool's own business
                records.push_back({sizeof(tandem_record), r.kind.c_str(), r.id.c_str(), r.json.c_str(), r.json.size()});
        std::optional<int> delivered = records.empty() ? TANDEM_OK : deliver(records);
        if (!delivered) { // its module is not loaded (yet, or any more)
            if (!pause(std::chrono::milliseconds(200)))
                return;
            continue;
        }
        int rc = *delivered;
        if (rc == TANDEM_OK) {
            if (!records.empty() || next.segment != cursor.segment)
                save_checkpoint(next);
            last_delivery = std::chrono::steady_clock::now();
            std::lock_guard lock(mutex_);
            cursor_ = next;
            delivered_ += records.size();
            if (failures_ && !last_error_.empty()) {
                log::notice("records", "sink '{}' accepts records again", name_);
                last_error_.clear();
            }
            backoff = std::chrono::milliseconds(100);
            continue;
        }
        ++failures_;
        {
            std::lock_guard lock(mutex_);
            if (last_error_.empty())
                log::warning("records", "sink '{}' refused {} records (error {}); retrying with back-off", name_,
                             records.size(), rc);
            last_error_ = fmt::format("write returned {}", rc);
        }
        if (!pause(backoff))
            return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
    }
}

} // namespace tandem::records
