#include "records/json_scan.hpp"

#include "records/json_writer.hpp"

#include <charconv>
#include <cstdint>

namespace tandem::records {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

void append_utf8(std::string &out, unsigned code) {
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

// A number whose double would be infinite is refused (nlohmann does: it
// parses what does not fit 64 bits as a double and refuses non-finite ones).
// from_chars reports overflow and underflow alike; underflow reads as zero
// and is fine, so the token's order of magnitude tells the two apart.
bool fits(const char *start, const char *end, bool fractional) {
    if (!fractional) {
        if (*start == '-') {
            int64_t v;
            if (std::from_chars(start, end, v).ec == std::errc()) return true;
        } else {
            uint64_t v;
            if (std::from_chars(start, end, v).ec == std::errc()) return true;
        }
    }
    double d;
    if (std::from_chars(start, end, d).ec != std::errc::result_out_of_range) return true;
    const char *p = start + (*start == '-');
    int64_t magnitude = 0; // the power of ten of the first significant digit, before the exponent
    bool seen = false;
    int64_t int_digits = 0, leading_zeros = 0;
    for (; p < end && digit(*p); ++p)
        if (seen || *p != '0') {
            seen = true;
            ++int_digits;
        }
    if (p < end && *p == '.')
        for (++p; p < end && digit(*p); ++p) {
            if (seen) continue;
            if (*p == '0')
                ++leading_zeros;
            else
                seen = true;
        }
    magnitude = int_digits > 0 ? int_digits - 1 : -(leading_zeros + 1);
    int64_t exponent = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        bool negative = *++p == '-';
        if (*p == '-' || *p == '+') ++p;
        for (; p < end; ++p) exponent = std::min<int64_t>(exponent * 10 + (*p - '0'), INT64_C(1) << 40);
        if (negative) exponent = -exponent;
    }
    return magnitude + exponent < 0; // out of range below: an underflow
}

} // namespace

void JsonScan::blank() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
}

bool JsonScan::literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
}

bool JsonScan::hex4(unsigned &code) {
    if (end_ - p_ < 4) return false;
    code = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
        char c = *p_;
        unsigned v = c >= '0' && c <= '9' ? unsigned(c - '0')
                     : c >= 'a' && c <= 'f' ? unsigned(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? unsigned(c - 'A' + 10)
                                            : 16u;
        if (v == 16) return false;
        code = code * 16 + v;
    }
    return true;
}

bool JsonScan::string(std::string *decoded) {
    ++p_; // the opening quote
    while (p_ < end_) {
        auto c = static_cast<unsigned char>(*p_);
        if (c == '"') {
            ++p_;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            if (++p_ == end_) return false;
            char e = *p_++;
            char plain = e == '"' || e == '\\' || e == '/' ? e
                         : e == 'b'                        ? '\b'
                         : e == 'f'                        ? '\f'
                         : e == 'n'                        ? '\n'
                         : e == 'r'                        ? '\r'
                         : e == 't'                        ? '\t'
                                                           : 0;
            if (plain) {
                if (decoded) *decoded += plain;
                continue;
            }
            unsigned code;
            if (e != 'u' || !hex4(code)) return false;
            if (code >= 0xDC00 && code <= 0xDFFF) return false; // a low surrogate first
            if (code >= 0xD800 && code <= 0xDBFF) {
                unsigned low;
                if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
                p_ += 2;
                if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            }
            if (decoded) append_utf8(*decoded, code);
            continue;
        }
        size_t bad = 0;
        size_t n = c < 0x80 ? 1 : utf8_sequence(std::string_view(p_, static_cast<size_t>(end_ - p_)), bad);
        if (n == 0) return false;
        if (decoded) decoded->append(p_, n);
        p_ += n;
    }
    return false; // no closing quote
}

bool JsonScan::number() {
    const char *start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
        ++p_;
    } else if (digit(*p_)) {
        while (p_ < end_ && digit(*p_)) ++p_;
    } else {
        return false;
    }
    bool fractional = false;
    if (p_ < end_ && *p_ == '.') {
        fractional = true;
        if (++p_ == end_ || !digit(*p_)) return false;
        while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
        fractional = true;
        if (++p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
        if (p_ == end_ || !digit(*p_)) return false;
        while (p_ < end_ && digit(*p_)) ++p_;
    }
    return fits(start, p_, fractional);
}

bool JsonScan::scalar() {
    switch (*p_) {
    case '"': return string(nullptr);
    case 't': return literal("true");
    case 'f': return literal("false");
    case 'n': return literal("null");
    default: return number();
    }
}

bool JsonScan::key() {
    blank();
    if (p_ == end_ || *p_ != '"' || !string(nullptr)) return false;
    blank();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    return true;
}

// Iterative, so that deep nesting costs memory, not the stack.
bool JsonScan::value() {
    open_.clear();
    for (;;) {
        blank();
        if (p_ == end_) return false;
        char c = *p_;
        if (c == '{' || c == '[') {
            ++p_;
            blank();
            char close = c == '{' ? '}' : ']';
            if (p_ < end_ && *p_ == close) {
                ++p_; // empty: a complete value
            } else {
                open_.push_back(close);
                if (c == '{' && !key()) return false;
                continue; // its first value
            }
        } else if (!scalar()) {
            return false;
        }
        // a value is complete: a separator, or the end of its containers
        for (;;) {
            if (open_.empty()) return true;
            blank();
            if (p_ == end_) return false;
            if (*p_ == ',') {
                ++p_;
                if (open_.back() == '}' && !key()) return false;
                break;
            }
            if (*p_ != open_.back()) return false;
            ++p_;
            open_.pop_back();
        }
    }
}

bool JsonScan::object(std::string_view text, const std::function<bool(const std::string &)> &want_value,
                      std::vector<Member> &members) {
    p_ = text.data();
    end_ = p_ + text.size();
    members.clear();
    blank();
    if (p_ == end_ || *p_ != '{') return false;
    ++p_;
    blank();
    if (p_ < end_ && *p_ == '}') {
        ++p_;
    } else {
        for (;;) {
            blank();
            if (p_ == end_ || *p_ != '"') return false;
            Member &m = members.emplace_back();
            if (!string(&m.name)) return false;
            blank();
            if (p_ == end_ || *p_ != ':') return false;
            ++p_;
            blank();
            if (p_ == end_) return false;
            m.is_string = *p_ == '"';
            if (!(m.is_string ? string(want_value(m.name) ? &m.value : nullptr) : value())) return false;
            blank();
            if (p_ < end_ && *p_ == ',') {
                ++p_;
                continue;
            }
            if (p_ == end_ || *p_ != '}') return false;
            ++p_;
            break;
        }
    }
    blank();
    return p_ == end_;
}

} // namespace tandem::records
