// Selectors: the available members of one queue tier, ordered the way the
// queue's strategy offers calls. A member is added when its agent becomes
// available and removed before anything its key depends on changes, so
// add, remove and pick cost O(log n) (random: O(1)) whatever the count.
#pragma once

#include "acd/model.hpp"

#include <functional>
#include <memory>
#include <random>
#include <utility>
#include <vector>

namespace tandem::acd {

// Skill requirements of one caller at one moment, after relaxing: (skill id,
// minimum level), the first being the primary skill.
using Needs = std::vector<std::pair<int, int>>;

bool meets(const AgentRec &agent, const Needs &needs);

class Selector {
public:
    virtual ~Selector() = default;
    virtual void add(Member &member) = 0;
    virtual void remove(Member &member) = 0;
    // The member to offer the next call to, or nullptr. `needs` matters to
    // the skills strategy only.
    virtual Member *pick(const Needs &needs) = 0;
    // The queue offered `member` a call (round robin remembers it).
    virtual void picked(const Member &) {}
    // Every indexed member in offer order (ring-all).
    virtual void each(const std::function<void(Member &)> &fn) = 0;
    virtual size_t size() const = 0;
};

std::unique_ptr<Selector> make_selector(Strategy strategy, std::mt19937_64 &random);

} // namespace tandem::acd
