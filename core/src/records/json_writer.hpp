#pragma once
// Writes JSON text straight into a string, for the records built on a
// call's worker every call (the CDR, the journal entries): no value tree,
// no allocation beyond the string's own growth.
//
// The caller keeps the structure right (a key before each member's value,
// begin/end balanced); the writer places the commas and escapes strings:
// '"', '\\' and control characters below 0x20 are escaped (\b \t \n \f \r,
// else \u00xx), everything else is copied, and bytes that are not valid
// UTF-8 become U+FFFD, so the output is always valid JSON (what nlohmann's
// dump with error_handler_t::replace wrote before).
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::records {

class JsonWriter {
public:
    explicit JsonWriter(std::string &out) : out_(out) {}

    JsonWriter &begin_object() { return open('{'); }
    JsonWriter &end_object() { return close('}'); }
    JsonWriter &begin_array() { return open('['); }
    JsonWriter &end_array() { return close(']'); }
    JsonWriter &key(std::string_view name);
    // Reopens the object the text ends with (its closing brace is taken
    // off) to add members to it; end_object() closes it again.
    JsonWriter &reopen_object();

    JsonWriter &value(std::string_view s);
    JsonWriter &value(const char *s) { return value(std::string_view(s)); }
    JsonWriter &value(const std::string &s) { return value(std::string_view(s)); }
    JsonWriter &value(bool b);
    template <std::integral T>
        requires(!std::same_as<T, bool>)
    JsonWriter &value(T n) {
        if constexpr (std::signed_integral<T>)
            return integer(static_cast<int64_t>(n));
        else
            return integer(static_cast<uint64_t>(n));
    }
    // The shortest text that reads back as the same double, with ".0" on
    // whole numbers; NaN and infinities are written as null.
    JsonWriter &value(double d);
    JsonWriter &value(const std::optional<double> &d) { return d ? value(*d) : null(); }
    JsonWriter &null();

    // key(name).value(v) in one call.
    template <typename T> JsonWriter &field(std::string_view name, const T &v) { return key(name).value(v); }

private:
    void separate();
    JsonWriter &open(char bracket);
    JsonWriter &close(char bracket);
    template <typename T> JsonWriter &integer(T n); // int64_t or uint64_t

    std::string &out_;
    bool need_comma_ = false;
};

// The length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) starting at s[0], a byte >= 0x80; or 0
// with `bad` = how many bytes make its maximal invalid prefix (at least 1),
// which append_json_string replaces by one U+FFFD, as Unicode recommends.
size_t utf8_sequence(std::string_view s, size_t &bad);

// `s` as a JSON string literal (quotes included), appended to `out`.
void append_json_string(std::string &out, std::string_view s);

} // namespace tandem::records
