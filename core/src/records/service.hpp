#pragma once
// The records subsystem (docs/records.md): every call's start is journalled
// and its record written to the durable spool on the call's worker; one
// shipper per sink delivers from there. Owns the spool, the shippers and the
// built-in file sink, and decides whether new calls may start.
#include "records/file_sink.hpp"
#include "records/shipper.hpp"
#include "records/spool.hpp"

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace tandem {
class Engine;
class Call;
} // namespace tandem

namespace tandem::records {

class Service {
public:
    explicit Service(Engine &engine);
    ~Service();
    // Opens the spool (repairing it and recording calls a crash cut) and
    // starts the commit thread. Problems are logged; an unusable spool makes
    // admit() refuse calls rather than stop startup.
    void start();
    // After the modules loaded (so every configured sink is registered):
    // starts the file sink, one shipper per sink and segment clean-up.
    void start_delivery();
    // Delivers what it can within a short grace, makes the spool durable, stops.
    void stop();

    // Any thread: may a new call start? False with the reason when the spool
    // cannot be written and records.on_spool_error is "refuse".
    bool admit(std::string &error);
    // Worker thread: journal a call's start / its channel's answer / write its
    // record. call_ended returns the CDR (JSON text).
    void call_started(const Call &call);
    void call_answered(const Call &call);
    std::string call_ended(const Call &call);
    // Any thread: a module's record of another kind ("queue_log", ...), JSON
    // text that must be one object (module_record.hpp). The engine adds
    // "kind", and "id", "tenant" and "time" when absent. False with the
    // reason when the record is refused: not one JSON object, too large, or
    // a newline in its id. One the disk does not take yet is held and
    // retried, as a CDR is.
    bool emit(const std::string &kind, std::string_view json_text, std::string &error);

    // For `tandem ctl records`.
    nlohmann::json status() const;

private:
    void stamp_through_tree(const std::string &kind, std::string_view json_text, std::string &text, std::string &id);
    void append(const std::string &kind, const std::string &id, const std::string &call_id, std::string text);
    void record_interrupted(const SpoolRecovery &recovery);
    void ensure_shipper(const std::string &sink_name);
    void housekeeping_loop();

    Engine &engine_;
    Spool spool_;
    std::unique_ptr<FileSink> file_sink_;
    std::string checkpoint_dir_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<SinkShipper>> shippers_;
    bool running_ = false;
    std::chrono::steady_clock::time_point last_refusal_log_;
    std::thread housekeeping_;
};

} // namespace tandem::records
