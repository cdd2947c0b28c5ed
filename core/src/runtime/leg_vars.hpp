#pragma once
// A leg's channel variables: a sorted map that counts its changes, so that a
// flag derived from a variable (in-band DTMF detection, asked for every
// relayed packet) is looked up again only after some variable changed.
#include <cstdint>
#include <map>
#include <string>

namespace tandem {

class LegVars : public std::map<std::string, std::string, std::less<>> {
    using Base = std::map<std::string, std::string, std::less<>>;

public:
    LegVars() = default;
    LegVars(const LegVars &) = default;
    LegVars &operator=(const LegVars &other) {
        Base::operator=(other);
        ++changes_;
        return *this;
    }
    // The mutators callers use; each counts as a change (a read through
    // operator[] too: it may insert).
    std::string &operator[](const std::string &name) {
        ++changes_;
        return Base::operator[](name);
    }
    size_type erase(const std::string &name) {
        ++changes_;
        return Base::erase(name);
    }
    iterator erase(const_iterator it) {
        ++changes_;
        return Base::erase(it);
    }
    template <class It> void insert(It first, It last) {
        ++changes_;
        Base::insert(first, last);
    }

    uint64_t changes() const { return changes_; }

private:
    uint64_t changes_ = 0;
};

} // namespace tandem
