#include "lua/pattern.hpp"

namespace tandem::dialplan {

namespace {
std::bitset<256> range(char from, char to) {
    std::bitset<256> b;
    for (int c = static_cast<unsigned char>(from); c <= static_cast<unsigned char>(to); ++c)
        b.set(static_cast<size_t>(c));
    return b;
}
std::bitset<256> single(char c) {
    std::bitset<256> b;
    b.set(static_cast<unsigned char>(c));
    return b;
}
} // namespace

bool Pattern::compile(std::string_view text, Pattern &out, std::string &error) {
    out = Pattern{};
    out.text_ = std::string(text);
    if (text.empty()) {
        error = "empty extension";
        return false;
    }
    if (text[0] != '_') {
        for (char c : text) {
            Element e;
            e.chars = single(c);
            out.elements_.push_back(e);
        }
        return true;
    }
    out.exact_ = false;
    if (text.size() == 1) {
        error = "pattern '_' matches nothing";
        return false;
    }
    for (size_t i = 1; i < text.size(); ++i) {
        char c = text[i];
        Element e;
        switch (c) {
        case 'X': e.chars = range('0', '9'); break;
        case 'Z': e.chars = range('1', '9'); break;
        case 'N': e.chars = range('2', '9'); break;
        case '.': e.kind = Element::one_or_more; break;
        case '!': e.kind = Element::zero_or_more; break;
        case '[': {
            size_t close = text.find(']', i + 1);
            if (close == std::string_view::npos || close == i + 1) {
                error = "unterminated or empty [set] in pattern " + std::string(text);
                return false;
            }
            for (size_t j = i + 1; j < close; ++j) {
                if (j + 2 < close && text[j + 1] == '-') {
                    if (text[j] > text[j + 2]) {
                        error = "bad range in pattern " + std::string(text);
                        return false;
                    }
                    e.chars |= range(text[j], text[j + 2]);
                    j += 2;
                } else {
                    e.chars.set(static_cast<unsigned char>(text[j]));
                }
            }
            i = close;
            break;
        }
        default: e.chars = single(c);
        }
        out.elements_.push_back(e);
    }
    return true;
}

// Dynamic programming over (element, position), two rows at a time: the
// dialled number comes from the network, so a pattern with several '.' must
// not backtrack exponentially on a long number.
bool Pattern::matches(std::string_view exten) const {
    const size_t n = exten.size();
    std::vector<char> next(n + 1, 0), cur(n + 1, 0);
    next[n] = 1; // no elements left: matches only the empty rest
    for (size_t i = elements_.size(); i-- > 0;) {
        const Element &e = elements_[i];
        for (size_t j = n + 1; j-- > 0;) {
            bool more = j < n;
            switch (e.kind) {
            case Element::set:
                cur[j] = more && e.chars.test(static_cast<unsigned char>(exten[j])) && next[j + 1];
                break;
            case Element::one_or_more: cur[j] = more && (next[j + 1] || cur[j + 1]); break;
            case Element::zero_or_more: cur[j] = next[j] || (more && cur[j + 1]); break;
            }
        }
        std::swap(cur, next);
    }
    return next[0];
}

bool Pattern::more_specific_than(const Pattern &other) const {
    if (exact_ != other.exact_)
        return exact_;
    size_t n = std::min(elements_.size(), other.elements_.size());
    for (size_t i = 0; i < n; ++i) {
        size_t a = elements_[i].width(), b = other.elements_[i].width();
        if (a != b)
            return a < b;
    }
    if (elements_.size() != other.elements_.size())
        return elements_.size() > other.elements_.size();
    return text_ < other.text_;
}

} // namespace tandem::dialplan
