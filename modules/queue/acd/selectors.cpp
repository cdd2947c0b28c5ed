#include "acd/selectors.hpp"

#include <algorithm>
#include <bit>
#include <map>

namespace tandem::acd {

bool meets(const AgentRec &agent, const Needs &needs) {
    for (const auto &[skill, level] : needs) {
        auto it = std::lower_bound(agent.skills.begin(), agent.skills.end(), std::pair<int, int>{skill, INT32_MIN});
        if (it == agent.skills.end() || it->first != skill || it->second < level) return false;
    }
    return true;
}

namespace {

// Members ordered by a key computed from the member when it is added.
class OrderedSelector : public Selector {
public:
    explicit OrderedSelector(std::function<SortKey(const Member &)> key) : key_(std::move(key)) {}

    void add(Member &m) override {
        m.key = key_(m);
        m.key.agent = m.agent->id;
        index_.emplace(m.key, &m);
    }
    void remove(Member &m) override { index_.erase(m.key); }
    Member *pick(const Needs &) override { return index_.empty() ? nullptr : index_.begin()->second; }
    void each(const std::function<void(Member &)> &fn) override {
        for (auto &[key, m] : index_) fn(*m);
    }
    size_t size() const override { return index_.size(); }

protected:
    std::function<SortKey(const Member &)> key_;
    std::map<SortKey, Member *> index_;
};

// Member order, starting after the member offered last and wrapping.
class RoundRobinSelector : public OrderedSelector {
public:
    RoundRobinSelector() : OrderedSelector([](const Member &m) { return SortKey{m.membership.order, 0, 0}; }) {}

    Member *pick(const Needs &) override {
        if (index_.empty()) return nullptr;
        auto it = has_last_ ? index_.upper_bound(last_) : index_.begin();
        return (it == index_.end() ? index_.begin() : it)->second;
    }
    void picked(const Member &m) override {
        last_ = SortKey{m.membership.order, 0, m.agent->id};
        has_last_ = true;
    }

private:
    SortKey last_;
    bool has_last_ = false;
};

class RandomSelector : public Selector {
public:
    explicit RandomSelector(std::mt19937_64 &random) : random_(random) {}

    void add(Member &m) override {
        m.slot = members_.size();
        members_.push_back(&m);
    }
    void remove(Member &m) override {
        Member *last = members_.back();
        members_[m.slot] = last;
        last->slot = m.slot;
        members_.pop_back();
    }
    Member *pick(const Needs &) override {
        if (members_.empty()) return nullptr;
        return members_[std::uniform_int_distribution<size_t>(0, members_.size() - 1)(random_)];
    }
    void each(const std::function<void(Member &)> &fn) override {
        for (Member *m : members_) fn(*m);
    }
    size_t size() const override { return members_.size(); }

private:
    std::mt19937_64 &random_;
    std::vector<Member *> members_;
};

// A Fenwick tree of weights over slots; a removed member's slot is reused.
class WeightedSelector : public Selector {
public:
    explicit WeightedSelector(std::mt19937_64 &random) : random_(random) {}

    void add(Member &m) override {
        if (free_.empty()) grow();
        m.slot = free_.back();
        free_.pop_back();
        slots_[m.slot] = &m;
        bump(m.slot, std::max(1u, m.membership.weight));
        ++count_;
    }
    void remove(Member &m) override {
        bump(m.slot, -static_cast<int64_t>(std::max(1u, m.membership.weight)));
        slots_[m.slot] = nullptr;
        free_.push_back(m.slot);
        --count_;
    }
    Member *pick(const Needs &) override {
        if (count_ == 0) return nullptr;
        int64_t target = std::uniform_int_distribution<int64_t>(0, total_ - 1)(random_);
        // the first slot whose prefix sum passes target
        size_t pos = 0;
        for (size_t step = std::bit_floor(tree_.size() - 1); step; step >>= 1) {
            if (pos + step < tree_.size() && tree_[pos + step] <= target) {
                pos += step;
                target -= tree_[pos];
            }
        }
        return slots_[pos];
    }
    void each(const std::function<void(Member &)> &fn) override {
        for (Member *m : slots_)
            if (m) fn(*m);
    }
    size_t size() const override { return count_; }

private:
    void bump(size_t slot, int64_t delta) {
        total_ += delta;
        for (size_t i = slot + 1; i < tree_.size(); i += i & (~i + 1)) tree_[i] += delta;
    }
    void grow() {
        size_t old = slots_.size(), size = std::max<size_t>(8, old * 2);
        std::vector<Member *> slots = std::move(slots_);
        slots_.assign(size, nullptr);
        tree_.assign(size + 1, 0);
        total_ = 0;
        for (size_t i = 0; i < old; ++i) {
            slots_[i] = slots[i];
            if (slots[i]) bump(i, std::max(1u, slots[i]->membership.weight));
        }
        for (size_t i = size; i-- > old;) free_.push_back(i);
    }

    std::mt19937_64 &random_;
    std::vector<Member *> slots_;
    std::vector<int64_t> tree_{0}; // 1-based Fenwick tree
    std::vector<size_t> free_;
    int64_t total_ = 0;
    size_t count_ = 0;
};

// Skills: per skill, members by level (highest first), then longest idle;
// callers without requirements get the longest idle member.
class SkillsSelector : public Selector {
public:
    void add(Member &m) override {
        m.key = SortKey{m.agent->idle_since, 0, m.agent->id};
        idle_.emplace(m.key, &m);
        for (const auto &[skill, level] : m.agent->skills) by_skill_[skill].emplace(SortKey{-level, m.key.first, m.agent->id}, &m);
    }
    void remove(Member &m) override {
        idle_.erase(m.key);
        for (const auto &[skill, level] : m.agent->skills) {
            auto it = by_skill_.find(skill);
            it->second.erase(SortKey{-level, m.key.first, m.agent->id});
            if (it->second.empty()) by_skill_.erase(it);
        }
    }
    Member *pick(const Needs &needs) override {
        if (needs.empty()) return idle_.empty() ? nullptr : idle_.begin()->second;
        auto skill = by_skill_.find(needs.front().first);
        if (skill == by_skill_.end()) return nullptr;
        for (auto &[key, m] : skill->second) {
            if (-key.first < needs.front().second) break; // levels only fall from here
            if (meets(*m->agent, needs)) return m;
        }
        return nullptr;
    }
    void each(const std::function<void(Member &)> &fn) override {
        for (auto &[key, m] : idle_) fn(*m);
    }
    size_t size() const override { return idle_.size(); }

private:
    std::map<SortKey, Member *> idle_;
    std::map<int, std::map<SortKey, Member *>> by_skill_;
};

} // namespace

std::unique_ptr<Selector> make_selector(Strategy strategy, std::mt19937_64 &random) {
    switch (strategy) {
    case Strategy::RoundRobin: return std::make_unique<RoundRobinSelector>();
    case Strategy::Random: return std::make_unique<RandomSelector>(random);
    case Strategy::WeightedRandom: return std::make_unique<WeightedSelector>(random);
    case Strategy::Skills: return std::make_unique<SkillsSelector>();
    case Strategy::LongestIdle:
        return std::make_unique<OrderedSelector>([](const Member &m) { return SortKey{m.agent->idle_since, 0, 0}; });
    case Strategy::LeastRecent:
        return std::make_unique<OrderedSelector>([](const Member &m) { return SortKey{m.agent->last_offer, 0, 0}; });
    case Strategy::FewestCalls:
        return std::make_unique<OrderedSelector>(
            [](const Member &m) { return SortKey{static_cast<int64_t>(m.calls), m.agent->idle_since, 0}; });
    case Strategy::LeastTalkTime:
        return std::make_unique<OrderedSelector>([](const Member &m) { return SortKey{m.talk_ms, m.agent->idle_since, 0}; });
    case Strategy::RingAll:
    case Strategy::Linear:
    case Strategy::RingProgressively:
        return std::make_unique<OrderedSelector>([](const Member &m) { return SortKey{m.membership.order, 0, 0}; });
    }
    return nullptr;
}

} // namespace tandem::acd
