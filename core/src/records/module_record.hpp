#pragma once
// A module's record (host->record_emit) arrives as JSON text and leaves for
// the spool as JSON text with the engine's members added. Doing that through
// a value tree (parse, insert, dump) cost more than everything else the
// queue module does per row, so the text is only checked (json_scan.hpp)
// and the members are written in front of the module's own.
#include <string>
#include <string_view>

namespace tandem::records {

// What the engine adds: "kind" always; "id", "tenant" and "time" unless the
// record has them (an "id" must then be a string).
struct RecordStamp {
    std::string_view kind;
    std::string_view tenant;
    std::string_view time; // ISO 8601, UTC
};

enum class StampResult {
    stamped,    // `out` is the record to spool, `id` its id
    needs_tree, // valid, but not one line or with members the engine overrides:
                // stamp it through a value tree (rare, so kept simple)
    invalid,    // not exactly one JSON object of valid UTF-8
};

// `new_id` is used when the record has no "id".
StampResult stamp_record(std::string_view text, const RecordStamp &stamp, const std::string &new_id,
                         std::string &out, std::string &id);

} // namespace tandem::records
