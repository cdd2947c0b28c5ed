#include "records/json_writer.hpp"

#include <charconv>
#include <cmath>

namespace tandem::records {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

bool plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

void append_escaped(std::string &out, unsigned char c) {
    switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\t': out += "\\t"; return;
    case '\n': out += "\\n"; return;
    case '\f': out += "\\f"; return;
    case '\r': out += "\\r"; return;
    default: {
        static constexpr char hex[] = "0123456789abcdef";
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
        out.append(u, sizeof u);
    }
    }
}

} // namespace

size_t utf8_sequence(std::string_view s, size_t &bad) {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char lead = byte(0);
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; // the range allowed for the second byte
    if (lead >= 0xC2 && lead <= 0xDF)
        len = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) {
        len = 3;
        if (lead == 0xE0)
            lo = 0xA0; // no overlong forms
        else if (lead == 0xED)
            hi = 0x9F; // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        len = 4;
        if (lead == 0xF0)
            lo = 0x90;
        else if (lead == 0xF4)
            hi = 0x8F; // nothing above U+10FFFF
    } else {
        bad = 1;
        return 0;
    }
    for (size_t i = 1; i < len; ++i) {
        unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;
        if (i >= s.size() || byte(i) < min || byte(i) > max) {
            bad = i;
            return 0;
        }
    }
    return len;
}

void append_json_string(std::string &out, std::string_view s) {
    out.push_back('"');
    size_t i = 0;
    while (i < s.size()) {
        size_t run = i;
        while (run < s.size() && plain(static_cast<unsigned char>(s[run])))
            ++run;
        out.append(s.data() + i, run - i);
        i = run;
        if (i == s.size())
            break;
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            append_escaped(out, c);
            ++i;
            continue;
        }
        size_t bad = 0;
        if (size_t len = utf8_sequence(s.substr(i), bad)) {
            out.append(s.data() + i, len);
            i += len;
        } else {
            out.append(kReplacement);
            i += bad;
        }
    }
    out.push_back('"');
}

void JsonWriter::separate() {
    if (need_comma_)
        out_.push_back(',');
    need_comma_ = true;
}

JsonWriter &JsonWriter::open(char bracket) {
    separate();
    out_.push_back(bracket);
    need_comma_ = false;
    return *this;
}

JsonWriter &JsonWriter::close(char bracket) {
    out_.push_back(bracket);
    need_comma_ = true;
    return *this;
}

JsonWriter &JsonWriter::reopen_object() {
    out_.pop_back();
    need_comma_ = out_.back() != '{';
    return *this;
}

JsonWriter &JsonWriter::key(std::string_view name) {
    separate();
    append_json_string(out_, name);
    out_.push_back(':');
    need_comma_ = false; // the member's value follows
    return *this;
}

JsonWriter &JsonWriter::value(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
}

JsonWriter &JsonWriter::value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
}

template <typename T> JsonWriter &JsonWriter::integer(T n) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, r.ptr);
    return *this;
}
template JsonWriter &JsonWriter::integer(int64_t);
template JsonWriter &JsonWriter::integer(uint64_t);

JsonWriter &JsonWriter::value(double d) {
    if (!std::isfinite(d))
        return null();
    separate();
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
    out_.append(text);
    // Keep a whole number a JSON float, as before ("200.0", not "200").
    if (text.find_first_of(".e") == std::string_view::npos)
        out_ += ".0";
    return *this;
}

JsonWriter &JsonWriter::null() {
    separate();
    out_ += "null";
    return *this;
}

} // namespace tandem::records
