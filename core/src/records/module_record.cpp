#include "records/module_record.hpp"

#include "records/json_writer.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace tandem::records {

namespace {

using nlohmann::json;

// Notes which of the engine's members the object has at its top level; any
// other event only has to be well formed, which the parser checks.
class TopLevelScan : public nlohmann::json_sax<json> {
public:
    bool root_is_object = false;
    bool has_id = false, has_tenant = false, has_time = false;
    bool overrides = false; // a "kind", or an "id" that is not a string
    std::string id;

    bool null() override { return scalar(); }
    bool boolean(bool) override { return scalar(); }
    bool number_integer(number_integer_t) override { return scalar(); }
    bool number_unsigned(number_unsigned_t) override { return scalar(); }
    bool number_float(number_float_t, const string_t &) override { return scalar(); }
    bool string(string_t &value) override {
        if (depth_ == 1 && member_ == Member::id) {
            id = value;
            member_ = Member::other;
            return true;
        }
        return scalar();
    }
    bool binary(binary_t &) override { return scalar(); }
    bool start_object(std::size_t) override { return open(true); }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(false); }
    bool end_array() override { return close(); }
    bool key(string_t &name) override {
        if (depth_ != 1)
            return true;
        member_ = Member::other;
        if (name == "id") {
            if (has_id)
                overrides = true; // which one wins is the tree's business
            has_id = true;
            member_ = Member::id;
        } else if (name == "kind") {
            overrides = true;
        } else if (name == "tenant") {
            has_tenant = true;
        } else if (name == "time") {
            has_time = true;
        }
        return true;
    }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) override { return false; }

private:
    enum class Member { other, id };

    bool scalar() {
        if (depth_ == 0)
            return false; // a bare value, not an object
        if (depth_ == 1 && member_ == Member::id)
            overrides = true;
        member_ = Member::other;
        return true;
    }
    bool open(bool object) {
        if (depth_ == 0)
            root_is_object = object;
        else if (depth_ == 1 && member_ == Member::id)
            overrides = true;
        member_ = Member::other;
        ++depth_;
        return root_is_object;
    }
    bool close() {
        --depth_;
        return true;
    }

    int depth_ = 0;
    Member member_ = Member::other;
};

} // namespace

StampResult stamp_record(std::string_view text, const RecordStamp &stamp, const std::string &new_id,
                         std::string &out, std::string &id) {
    TopLevelScan scan;
    // strict: nothing may follow the object
    if (!json::sax_parse(text.begin(), text.end(), &scan, json::input_format_t::json, true) ||
        !scan.root_is_object)
        return StampResult::invalid;
    // Raw control characters can only be whitespace between tokens here
    // (the parser refuses them inside strings); a record is one line.
    bool one_line = std::none_of(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; });
    if (scan.overrides || !one_line)
        return StampResult::needs_tree;

    id = scan.has_id ? scan.id : new_id;
    out.clear();
    out.reserve(text.size() + 160);
    JsonWriter w(out);
    w.begin_object();
    if (!scan.has_id)
        w.field("id", id);
    w.field("kind", stamp.kind);
    if (!scan.has_tenant)
        w.field("tenant", stamp.tenant);
    if (!scan.has_time)
        w.field("time", stamp.time);
    // The module's members follow, its text as it is after its '{'.
    std::string_view members = text.substr(text.find('{') + 1);
    size_t first = members.find_first_not_of(" \t");
    if (members[first] != '}')
        out += ',';
    out.append(members.substr(first));
    out.resize(out.find_last_not_of(" \t") + 1);
    return StampResult::stamped;
}

} // namespace tandem::records
