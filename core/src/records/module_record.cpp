#include "records/module_record.hpp"

#include "records/json_scan.hpp"
#include "records/json_writer.hpp"

#include <algorithm>

namespace tandem::records {

StampResult stamp_record(std::string_view text, const RecordStamp &stamp, const std::string &new_id,
                         std::string &out, std::string &id) {
    thread_local JsonScan scan;
    thread_local std::vector<JsonScan::Member> members;
    if (!scan.object(text, [](const std::string &name) { return name == "id"; }, members))
        return StampResult::invalid;
    bool has_id = false, has_tenant = false, has_time = false, overrides = false;
    const std::string *own_id = nullptr;
    for (const JsonScan::Member &m : members) {
        if (m.name == "id") {
            overrides = overrides || has_id || !m.is_string; // which one wins, or not a string: the tree's business
            has_id = true;
            own_id = &m.value;
        } else if (m.name == "kind") {
            overrides = true;
        } else if (m.name == "tenant") {
            has_tenant = true;
        } else if (m.name == "time") {
            has_time = true;
        }
    }
    // Raw control characters can only be blanks between tokens here (the
    // scan refuses them inside strings); a record is one line.
    bool one_line = std::none_of(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; });
    if (overrides || !one_line)
        return StampResult::needs_tree;

    id = has_id ? *own_id : new_id;
    out.clear();
    out.reserve(text.size() + 160);
    JsonWriter w(out);
    w.begin_object();
    if (!has_id)
        w.field("id", id);
    w.field("kind", stamp.kind);
    if (!has_tenant)
        w.field("tenant", stamp.tenant);
    if (!has_time)
        w.field("time", stamp.time);
    // The module's members follow, its text as it is after its '{'.
    std::string_view own = text.substr(text.find('{') + 1);
    size_t first = own.find_first_not_of(" \t");
    if (own[first] != '}')
        out += ',';
    out.append(own.substr(first));
    out.resize(out.find_last_not_of(" \t") + 1);
    return StampResult::stamped;
}

} // namespace tandem::records
