#pragma once
// Extension patterns, in the notation telecom engineers already know:
//   "600"      matches exactly "600"
//   "_1XXX"    a leading '_' makes a pattern:  X = 0-9, Z = 1-9, N = 2-9,
//              [1-5a] = one character from the set, '.' = one or more of
//              anything, '!' = zero or more of anything; other characters
//              match themselves.
// Several patterns in one context match in order of specificity: an exact
// number first, then the pattern whose first differing position is narrower.
#include <bitset>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::dialplan {

class Pattern {
public:
    // False with a message for a malformed pattern ("_1[3-" ...).
    static bool compile(std::string_view text, Pattern &out, std::string &error);

    bool matches(std::string_view exten) const;
    bool is_exact() const { return exact_; }
    const std::string &text() const { return text_; }
    // Strict weak order: true when *this should be tried before `other`.
    bool more_specific_than(const Pattern &other) const;

private:
    struct Element {
        enum Kind { set, one_or_more, zero_or_more } kind = set;
        std::bitset<256> chars;
        size_t width() const { return kind == set ? chars.count() : 1000; }
    };

    std::string text_;
    bool exact_ = true;
    std::vector<Element> elements_;
};

} // namespace tandem::dialplan
