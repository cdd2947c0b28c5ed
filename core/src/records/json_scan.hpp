#pragma once
// A JSON checker for records that are passed on as text (module_record.hpp):
// it accepts exactly what nlohmann's strict parser accepts (RFC 8259, valid
// UTF-8 in strings, paired surrogates in \u escapes, no number that
// overflows a double) without building anything, and reports the members
// at the top level of an object so they can be looked at.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::records {

class JsonScan {
public:
    // A member of the top-level object: its decoded name, whether its value
    // is a string, and that string decoded when `want_value(name)` asked.
    struct Member {
        std::string name;
        bool is_string = false;
        std::string value; // decoded, when asked for and a string
    };

    // True when `text` is exactly one JSON object (blanks around it
    // allowed); `members` are then its top-level members, in order.
    bool object(std::string_view text, const std::function<bool(const std::string &)> &want_value,
                std::vector<Member> &members);

private:
    void blank();
    bool value();                       // any value, nested ones included
    bool scalar();                      // string, number, true, false, null
    bool string(std::string *decoded);  // at '"'
    bool number();
    bool literal(std::string_view word);
    bool hex4(unsigned &code);
    bool key();                         // a member's name and ':'

    const char *p_ = nullptr, *end_ = nullptr;
    std::vector<char> open_; // the containers value() is inside
};

} // namespace tandem::records
