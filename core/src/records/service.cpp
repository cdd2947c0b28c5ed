#include "records/service.hpp"

#include "config/paths.hpp"
#include "log.hpp"
#include "records/cdr.hpp"
#include "records/module_record.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/ids.hpp"

#include <dirent.h>
#include <optional>
#include <pthread.h>

namespace tandem::records {

using nlohmann::json;

namespace {
// Sink names become file names: keep them tame.
std::string file_safe(const std::string &name) {
    std::string out;
    for (char c : name)
        out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
    return out;
}
} // namespace

Service::Service(Engine &engine) : engine_(engine) {}

Service::~Service() { stop(); }

void Service::start() {
    const Config &config = engine_.config();
    const RecordsConfig &rc = config.records;
    SpoolOptions options{config.paths.spool + "/records", rc.commit_interval_ms, rc.commit_records,
                         rc.segment_bytes};
    checkpoint_dir_ = options.dir + "/checkpoints";
    std::string error;
    SpoolRecovery recovery;
    if (!paths::make_dirs(checkpoint_dir_, error) || !spool_.open(options, recovery, error)) {
        log::error("records", "the record spool {} cannot be used: {}; {}", options.dir, error,
                   rc.refuse_on_spool_error ? "new calls are refused until it can be written"
                                            : "calls continue without durable records (on_spool_error = warn)");
    } else if (recovery.records || recovery.truncated_bytes) {
        log::notice("records", "spool {}: {} records found, {} bytes of torn tail cut, {} calls were cut by a stop",
                    options.dir, recovery.records, recovery.truncated_bytes, recovery.unfinished_starts.size());
    }
    spool_.start();
    record_interrupted(recovery);

    if (rc.file_format != "off") {
        file_sink_ = std::make_unique<FileSink>(rc.file_dir, rc.file_format);
        if (!file_sink_->open(error))
            log::error("records", "file sink: {}; it will retry on each batch", error);
        engine_.registry().add_cdr_sink(nullptr, file_sink_->desc());
    }
}

void Service::start_delivery() {
    // Sinks seen before keep their checkpoints (and hold the spool) even
    // when their module is not loaded now.
    if (DIR *d = ::opendir(checkpoint_dir_.c_str())) {
        while (dirent *e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 4 && n.ends_with(".pos"))
                ensure_shipper(n.substr(0, n.size() - 4));
        }
        ::closedir(d);
    }
    {
        std::lock_guard lock(mutex_);
        running_ = true;
    }
    housekeeping_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "tandem-records");
        housekeeping_loop();
    });
}

void Service::record_interrupted(const SpoolRecovery &recovery) {
    for (auto &start : recovery.unfinished_starts) {
        json entry = json::parse(start.json, nullptr, false);
        if (!entry.is_object())
            entry = json::object({{"call_id", start.call_id}});
        uint64_t answer_us = 0;
        if (auto a = recovery.unfinished_answers.find(start.call_id); a != recovery.unfinished_answers.end())
            answer_us = json::parse(a->second.json, nullptr, false).value("answer_us", uint64_t(0));
        std::string id = new_record_id();
        json cdr = build_interrupted_cdr(entry, id, recovery.last_alive_us, answer_us);
        log::warning("records", "call {} was cut by the engine stopping; recorded as interrupted", start.call_id);
        append("cdr", id, start.call_id, cdr.dump(-1, ' ', false, json::error_handler_t::replace));
    }
}

void Service::ensure_shipper(const std::string &sink_name) {
    std::lock_guard lock(mutex_);
    for (auto &s : shippers_)
        if (s->sink_name() == sink_name)
            return;
    auto shipper = std::make_unique<SinkShipper>(spool_, engine_.registry(), sink_name,
                                                 checkpoint_dir_ + "/" + file_safe(sink_name) + ".pos");
    shipper->start();
    shippers_.push_back(std::move(shipper));
}

void Service::housekeeping_loop() {
    // What the last release was computed from: the calls that pin segments
    // change only with an append, which moves the durable position, so an
    // unchanged pair has nothing new to release (no directory scan).
    std::optional<std::pair<SpoolPos, SpoolPos>> released;
    std::unique_lock lock(mutex_);
    while (running_) {
        lock.unlock();
        // Sinks registered by modules (loaded, reloaded) get a shipper.
        for (auto &s : engine_.registry().snapshot()->cdr_sinks)
            ensure_shipper(s.desc->name);
        lock.lock();
        // With no sink at all, nothing may go: a sink configured later gets it.
        bool any_sink = !shippers_.empty();
        SpoolPos durable = spool_.durable(), oldest = durable;
        for (auto &s : shippers_)
            oldest = std::min(oldest, s->checkpoint());
        lock.unlock();
        if (any_sink && released != std::pair{oldest, durable}) {
            spool_.release_before(oldest);
            released = std::pair{oldest, durable};
        }
        lock.lock();
        cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return !running_; });
    }
}

void Service::stop() {
    {
        std::lock_guard lock(mutex_);
        running_ = false;
        cv_.notify_all();
    }
    if (housekeeping_.joinable())
        housekeeping_.join();
    spool_.stop(); // everything appended is durable now (idempotent)
    for (auto &s : shippers_)
        s->stop(std::chrono::milliseconds(2000));
    shippers_.clear();
}

bool Service::admit(std::string &error) {
    if (!engine_.config().records.refuse_on_spool_error || spool_.healthy())
        return true;
    error = "call refused: the record spool cannot be written (" + spool_.last_error() +
            "); records.on_spool_error = \"refuse\"";
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (now - last_refusal_log_ > std::chrono::seconds(1)) {
        last_refusal_log_ = now;
        log::error("records", "{}", error);
    }
    return false;
}

void Service::append(const std::string &kind, const std::string &id, const std::string &call_id, std::string text) {
    std::string error;
    if (!spool_.append({kind, id, call_id, std::move(text)}, error))
        log::error("records", "{} {} of call {} not yet on disk (held in memory, retried): {}", kind, id, call_id,
                   error);
}

void Service::call_started(const Call &call) {
    append("call_start", new_record_id(), call.id, call_start_entry(call, engine_.config().records));
}

void Service::call_answered(const Call &call) {
    append("call_answer", new_record_id(), call.id, call_answer_entry(call));
}

std::string Service::call_ended(const Call &call) {
    const RecordsConfig &config = engine_.config().records;
    uint64_t end_us = ids::now_us();
    std::string id = new_record_id();
    std::string cdr = build_cdr(call, config, id, end_us);
    // Recording metadata first: the CDR closes the call's journal entry.
    auto described = call.channel->vars.find(std::string_view("recording_emitted"));
    for (auto &rec :
         recording_records(call, config, end_us, described == call.channel->vars.end() ? "" : described->second))
        append("recording", rec.id, "", std::move(rec.json));
    append("cdr", id, call.id, cdr);
    return cdr;
}

bool Service::emit(const std::string &kind, std::string_view json_text, std::string &error) {
    std::string time = iso_time(ids::now_us());
    RecordStamp stamp{kind, engine_.config().records.tenant, time};
    std::string text, id;
    switch (stamp_record(json_text, stamp, new_record_id(), text, id)) {
    case StampResult::invalid:
        error = "a record must be one JSON object";
        return false;
    case StampResult::needs_tree:
        stamp_through_tree(kind, json_text, text, id);
        break;
    case StampResult::stamped:
        break;
    }
    if (id.find('\n') != std::string::npos || kind.size() + id.size() + text.size() + 3 > kMaxPayload) {
        error = "record " + kind + " is too large or has a newline in its id";
        return false;
    }
    // Not tied to the call's journal entry: only the CDR closes that.
    append(kind, id, "", std::move(text));
    return true;
}

void Service::stamp_through_tree(const std::string &kind, std::string_view json_text, std::string &text,
                                 std::string &id) {
    json record = json::parse(json_text, nullptr, false);
    if (!record.contains("id") || !record["id"].is_string())
        record["id"] = new_record_id();
    record["kind"] = kind;
    if (!record.contains("tenant"))
        record["tenant"] = engine_.config().records.tenant;
    if (!record.contains("time"))
        record["time"] = iso_time(ids::now_us());
    id = record["id"];
    text = record.dump(-1, ' ', false, json::error_handler_t::replace);
}

json Service::status() const {
    SpoolPos durable = spool_.durable();
    json sinks = json::array();
    {
        std::lock_guard lock(mutex_);
        for (auto &s : shippers_)
            sinks.push_back(s->status());
    }
    return {{"spool",
             {{"dir", spool_.dir()},
              {"healthy", spool_.healthy()},
              {"error", spool_.last_error()},
              {"durable", std::to_string(durable.segment) + ":" + std::to_string(durable.offset)},
              {"segments", spool_.segment_count()},
              {"on_spool_error", engine_.config().records.refuse_on_spool_error ? "refuse" : "warn"}}},
            {"sinks", sinks}};
}

} // namespace tandem::records
