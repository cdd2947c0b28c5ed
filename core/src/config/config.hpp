#pragma once
// The instance configuration: one Lua file (tandem.lua) that returns a table.
// Loaded in a sandboxed Lua state; every unknown key or wrong type is an
// error naming the key, so `tandem check` catches typos before a deploy.
#include "log.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tandem {

struct Paths {
    std::vector<std::string> modules; // searched in order
    std::string data, spool, recordings, logs, sounds, control_socket;
};

struct Limits {
    uint64_t instructions = 10'000'000; // per call, Lua VM instructions
    uint64_t memory_bytes = 1 << 20;    // per call, Lua heap
    uint32_t max_calls = 0;             // 0 = unlimited
};

struct OriginateSpec {
    std::string dest;          // dial string of the leg to call ("local/100@demo")
    std::string exten;         // where the answered leg enters the dialplan
    std::string context;
    uint32_t every_s = 0;      // repeat period; 0 = once
    uint32_t delay_s = 1;      // first call after start
    std::map<std::string, std::string> vars;
};

// Call records: spool, built-in file sink and CDR content (docs/records.md).
struct RecordsConfig {
    std::string tenant;                  // default: the instance name
    uint32_t commit_interval_ms = 10;    // group commit: fsync at least this often...
    uint32_t commit_records = 256;       // ...or after this many records
    uint64_t segment_bytes = 16u << 20;  // spool segment size before rotation
    bool refuse_on_spool_error = true;   // on_spool_error = "refuse" | "warn"
    std::string file_format = "jsonl";   // file sink: "jsonl", "csv", "both" or "off"
    std::string file_dir;                // default: <data>/records
    std::vector<std::string> variables;  // dialplan variables copied into each CDR
};

// Command-line overrides, applied after the file (empty = keep).
struct ConfigOverrides {
    std::vector<std::string> module_dirs; // prepended to the search path
    std::string data_dir, spool_dir, recordings_dir, log_dir, sounds_dir, control_socket, dialplan;
    std::optional<int> workers;
    std::optional<std::string> log_level;
    std::optional<bool> log_json;
};

struct Config {
    std::string file;       // absolute path of tandem.lua
    std::string dir;        // its directory: relative paths resolve here
    std::string instance = "tandem";
    int workers = 0;        // 0 = one per core
    std::vector<std::string> modules;
    std::string dialplan;   // absolute path of the dialplan file
    bool dialplan_from_command_line = false; // then reload keeps it
    ConfigOverrides log_overrides;           // --log-level/--log-json, kept on reload
    Paths paths;
    log::Options log;
    std::string log_file;
    Limits limits;
    uint32_t shutdown_grace_s = 10;
    std::map<std::string, std::map<std::string, std::string>> module_config;
    std::vector<OriginateSpec> originate;
    RecordsConfig records;
};

// Loads and validates. On failure returns nullopt and appends one line per
// problem ("FILE:LINE: message" where a line is known) to `errors`.
std::optional<Config> load_config(const std::string &file, const ConfigOverrides &overrides,
                                  std::vector<std::string> &errors);

} // namespace tandem
