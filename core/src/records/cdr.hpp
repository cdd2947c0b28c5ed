#pragma once
// What a call record says (docs/records.md, "The CDR"): built on the call's
// worker from the legs' state and variables when the call ends, and from the
// journalled start when a call was cut by a crash. The per-call records are
// written as JSON text directly (records/json_writer.hpp): they are built
// for every call, on the worker.
#include "config/config.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tandem {
class Call;
}

namespace tandem::records {

// A new unique record id: a UUIDv7 (time-ordered, random tail).
std::string new_record_id();
// "2026-11-22T22:50:37.123456Z" (UTC).
std::string iso_time(uint64_t us);

// The journal entry written when a call starts (JSON text).
std::string call_start_entry(const Call &call, const RecordsConfig &config);
// The CDR (JSON text) of a call that ended at `end_us`.
std::string build_cdr(const Call &call, const RecordsConfig &config, const std::string &record_id, uint64_t end_us);
// The journal entry written when a call's channel answers (JSON text).
std::string call_answer_entry(const Call &call);
// The CDR of a call whose start was journalled but whose end never was: the
// engine stopped (crash, kill, power loss) while it ran. `last_alive_us` is
// the engine's last sign of life, the best known end; `answer_us` 0 when
// no answer was journalled.
nlohmann::json build_interrupted_cdr(const nlohmann::json &start, const std::string &record_id, uint64_t last_alive_us,
                                     uint64_t answer_us);

struct RecordingRecord {
    std::string id;
    std::string json;
};
// Recording metadata records for the files the CDR of `call` (ended at
// `end_us`) names in `recordings` (the variable `recording_file`,
// comma-separated), except those in `described` (comma-separated: the
// channel variable `recording_emitted`, files whose record the record
// module emits itself, with more detail).
std::vector<RecordingRecord> recording_records(const Call &call, const RecordsConfig &config, uint64_t end_us,
                                               const std::string &described);

} // namespace tandem::records
