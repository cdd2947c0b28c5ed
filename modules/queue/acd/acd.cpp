#include "acd/acd.hpp"

#include "acd/model.hpp"
#include "acd/selectors.hpp"

#include <algorithm>
#include <climits>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <tuple>

namespace tandem::acd {

namespace {

// How many callers from the head of the line an agent who just became free
// looks at for one it may take (tiers and skills can rule the first out).
constexpr int kAgentLookahead = 32;
constexpr int kMaxTier = 9;

enum class TimerKind { OfferTimeout, AgentWake, CallerCheck };
using TimerKey = std::tuple<Ms, TimerKind, uint64_t>;

LogRow row(Ms time, QueueId queue, CallerId caller, AgentId agent, std::string_view event, int64_t a = 0,
           int64_t b = 0, int64_t c = 0, std::string_view info = {}) {
    return LogRow{time, queue, caller, agent, event, a, b, c, info};
}

struct OfferRec {
    Offer offer;
    Ms timeout_at;
};

} // namespace

struct QueueRec {
    QueueId id;
    QueueConfig config;
    std::vector<std::unique_ptr<Member>> members;
    std::vector<std::unique_ptr<Selector>> tiers; // tier N at N-1
    mutable Line line;                             // everyone waiting (a look-up reorganises it)
    Line ready;                                    // waiting with no offer ringing
    int logged_in = 0;                             // members logged in
    int unpaused = 0;                              // ... and not paused

    Selector &tier(int n) { return *tiers[static_cast<size_t>(n - 1)]; }
    bool empty_by(EmptyPolicy policy) const {
        switch (policy) {
        case EmptyPolicy::Never: return false;
        case EmptyPolicy::NoneLoggedIn: return logged_in == 0;
        case EmptyPolicy::NoneReady: return unpaused == 0;
        }
        return false;
    }
    bool rings_many() const {
        return config.strategy == Strategy::RingAll || config.strategy == Strategy::RingProgressively;
    }
};

struct Acd::Impl {
    Listener &out;
    std::mt19937_64 random;
    std::vector<std::unique_ptr<QueueRec>> queues;  // id N at N-1
    std::vector<std::unique_ptr<AgentRec>> agents;  // id N at N-1
    std::map<std::string, int, std::less<>> skill_ids;
    std::unordered_map<CallerId, CallerRec> callers;
    std::unordered_map<OfferId, OfferRec> offers;
    std::set<TimerKey> timers;
    CallerId next_caller = 1;
    OfferId next_offer = 1;

    Impl(Listener &listener, uint64_t seed) : out(listener), random(seed) {}

    QueueRec &queue(QueueId id) {
        if (id == 0 || id > queues.size()) throw std::out_of_range("no such queue");
        return *queues[id - 1];
    }
    AgentRec &agent(AgentId id) {
        if (id == 0 || id > agents.size()) throw std::out_of_range("no such agent");
        return *agents[id - 1];
    }
    // Through the agent's few memberships, not the queue's many members:
    // answered() and hung_up() ask on every call.
    static Member *member_of(const AgentRec &a, QueueId q) {
        for (Member *m : a.memberships)
            if (m->queue == q) return m;
        return nullptr;
    }

    std::vector<std::pair<int, int>> skill_list(const std::vector<SkillLevel> &skills, bool sort) {
        std::vector<std::pair<int, int>> out_list;
        for (const auto &s : skills) {
            auto it = skill_ids.try_emplace(s.skill, static_cast<int>(skill_ids.size())).first;
            out_list.emplace_back(it->second, s.level);
        }
        if (sort) std::sort(out_list.begin(), out_list.end());
        return out_list;
    }

    // --- agent state and indexes ---

    bool available(const AgentRec &a, Ms now) const {
        return a.logged_in && !a.paused && a.offers + a.calls < a.config.capacity && now >= a.wrapup_until &&
               now >= a.resting_until;
    }

    AgentState derived(const AgentRec &a, Ms now) const {
        if (!a.logged_in) return AgentState::LoggedOut;
        if (a.calls > 0) return AgentState::OnCall;
        if (a.offers > 0) return AgentState::Reserved;
        if (now < a.wrapup_until) return AgentState::WrapUp;
        if (a.paused) return AgentState::Paused;
        return AgentState::Available;
    }

    void index(Member &m, bool on) {
        if (m.indexed == on) return;
        QueueRec &q = queue(m.queue);
        if (on)
            q.tier(m.membership.tier).add(m);
        else
            q.tier(m.membership.tier).remove(m);
        m.indexed = on;
    }

    void schedule_agent_wake(AgentRec &a, Ms now) {
        Ms wake = std::max(a.wrapup_until, a.resting_until);
        if (wake > now) timers.emplace(wake, TimerKind::AgentWake, a.id);
    }

    // After anything about `a` changed: report a new state, fix its indexes,
    // and if it just became free, give it a caller.
    void refresh(AgentRec &a, Ms now, std::string_view reason = {}, bool dispatch = true) {
        AgentState s = derived(a, now);
        if (s != a.reported) {
            AgentState from = a.reported;
            a.reported = s;
            out.agent_state(a.id, from, s, reason, now);
        }
        bool on = available(a, now), was = false;
        for (Member *m : a.memberships) {
            was = was || m->indexed;
            index(*m, on);
        }
        if (on && !was && dispatch) dispatch_for_agent(a, now);
    }

    void count_presence(AgentRec &a, int sign) {
        for (Member *m : a.memberships) {
            QueueRec &q = queue(m->queue);
            if (a.logged_in) q.logged_in += sign;
            if (a.logged_in && !a.paused) q.unpaused += sign;
        }
    }

    // --- callers ---

    Needs needs_now(const CallerRec &c, const QueueRec &q, Ms now) const {
        if (q.config.strategy != Strategy::Skills) return {};
        int lower = 0;
        for (const auto &step : q.config.relax)
            if (now - c.key.entered >= step.after) lower = step.lower_by;
        Needs needs = c.needs;
        for (auto &[skill, level] : needs) level = std::max(0, level - lower);
        return needs;
    }

    int tiers_open(const CallerRec &c, const QueueRec &q, Ms now) const {
        int open = q.config.tier_wait > 0 ? static_cast<int>(1 + (now - c.key.entered) / q.config.tier_wait) : kMaxTier;
        return std::min<int>(open, static_cast<int>(q.tiers.size()));
    }

    void schedule_caller(CallerRec &c, Ms now) {
        if (c.next_check != INT64_MAX) timers.erase({c.next_check, TimerKind::CallerCheck, c.id});
        c.next_check = INT64_MAX;
        if (c.connected) return;
        const QueueRec &q = *queues[c.queue - 1];
        const Ms waited = now - c.key.entered;
        Ms next = INT64_MAX;
        if (q.config.max_wait > 0 && !c.info.callback) next = std::min(next, c.key.entered + q.config.max_wait);
        int open = tiers_open(c, q, now);
        if (open < static_cast<int>(q.tiers.size()) && q.config.tier_wait > 0)
            next = std::min(next, c.key.entered + open * q.config.tier_wait);
        if (q.config.strategy == Strategy::Skills)
            for (const auto &step : q.config.relax)
                if (step.after > waited) {
                    next = std::min(next, c.key.entered + step.after);
                    break;
                }
        if (q.config.strategy == Strategy::RingProgressively && !c.offers.empty() && q.config.progressive_step > 0) {
            Ms first = offers.at(c.offers.front()).offer.started;
            Ms step = q.config.progressive_step;
            next = std::min(next, first + ((now - first) / step + 1) * step);
        }
        if (next != INT64_MAX) {
            c.next_check = std::max(next, now + 1);
            timers.emplace(c.next_check, TimerKind::CallerCheck, c.id);
        }
    }

    int position(const CallerRec &c) const {
        // Finding the caller splays it to the root, where its rank is the
        // size of the root's left side; a rank taken without it walks
        // whatever shape the tree is in, such as the long chain callers
        // arriving one after another leave, and leaves it so.
        Line &line = queues[c.queue - 1]->line;
        line.find(c.key);
        return static_cast<int>(line.order_of_key(c.key)) + 1;
    }

    bool rings_for(const AgentRec &a, const CallerRec &c) const {
        for (OfferId id : a.ringing)
            if (offers.at(id).offer.caller == c.id) return true;
        return false;
    }

    // Offer `c` to whoever its queue's strategy picks, if anyone may take it now.
    void dispatch_for_caller(CallerRec &c, Ms now) {
        if (c.connected) return;
        QueueRec &q = queue(c.queue);
        Strategy strategy = q.config.strategy;
        int open = tiers_open(c, q, now);
        Needs needs = needs_now(c, q, now);
        if (strategy == Strategy::RingAll) {
            std::vector<Member *> all;
            for (int t = 1; t <= open; ++t) q.tier(t).each([&](Member &m) { all.push_back(&m); });
            for (Member *m : all)
                if (m->indexed && !rings_for(*m->agent, c)) make_offer(c, *m, now);
            return;
        }
        if (!c.offers.empty()) {
            if (strategy != Strategy::RingProgressively) return;
            Ms first = offers.at(c.offers.front()).offer.started;
            size_t due = q.config.progressive_step > 0 ? static_cast<size_t>(1 + (now - first) / q.config.progressive_step) : SIZE_MAX;
            if (c.progressive_rung >= due) return;
        }
        for (int t = 1; t <= open; ++t)
            if (Member *m = q.tier(t).pick(needs)) {
                make_offer(c, *m, now);
                return;
            }
    }

    // The best caller, across the queues `a` serves, that `a` may take, and
    // the membership it would take it through; {nullptr, nullptr} if none.
    std::pair<CallerRec *, Member *> best_caller_for(AgentRec &a, Ms now) {
        CallerRec *best = nullptr;
        Member *via = nullptr;
        for (Member *m : a.memberships) {
            if (!m->indexed) continue;
            QueueRec &q = queue(m->queue);
            const Line &candidates = q.rings_many() ? q.line : q.ready;
            int looked = 0;
            for (auto it = candidates.begin(); it != candidates.end() && looked < kAgentLookahead; ++it, ++looked) {
                CallerRec &c = callers.at(it->id);
                if (best && !(c.key.neg_priority < best->key.neg_priority ||
                              (c.key.neg_priority == best->key.neg_priority && c.key.entered < best->key.entered)))
                    break; // the rest of this line is behind the best already found
                if (m->membership.tier > tiers_open(c, q, now)) continue;
                if (q.config.strategy == Strategy::Skills && !meets(a, needs_now(c, q, now))) continue;
                if (q.config.strategy == Strategy::RingProgressively && !c.offers.empty()) continue;
                if (rings_for(a, c)) continue;
                best = &c;
                via = m;
                break;
            }
        }
        return {best, via};
    }

    // `a` just became free: offer it the callers it may take, best first,
    // until it is busy or none is left. The strategy, not the order agents
    // came free in, picks who rings for each caller: several agents can come
    // free at one instant (wake-ups, a login), and another may be its pick.
    void dispatch_for_agent(AgentRec &a, Ms now) {
        while (available(a, now)) {
            auto [best, via] = best_caller_for(a, now);
            if (!best) return;
            size_t before = offers.size();
            dispatch_for_caller(*best, now);
            if (offers.size() == before) make_offer(*best, *via, now);
        }
    }

    void make_offer(CallerRec &c, Member &m, Ms now) {
        AgentRec &a = *m.agent;
        QueueRec &q = queue(c.queue);
        Offer o{next_offer++, c.id, a.id, c.queue, now};
        Ms timeout = now + std::max<Ms>(1, q.config.ring_timeout);
        offers.emplace(o.id, OfferRec{o, timeout});
        timers.emplace(timeout, TimerKind::OfferTimeout, o.id);
        if (c.offers.empty()) q.ready.erase(c.key);
        c.offers.push_back(o.id);
        ++c.progressive_rung;
        q.tier(m.membership.tier).picked(m);
        ++a.offers;
        a.ringing.push_back(o.id);
        a.last_offer = now;
        out.record(row(now, c.queue, c.id, a.id, "OFFER"));
        refresh(a, now);
        out.offer(o);
        schedule_caller(c, now);
    }

    // An offer is over without a connection. `tell`: the module does not
    // know yet (the ACD withdrew it or it timed out).
    void end_offer(OfferId id, OfferEnd why, Ms now, bool tell) {
        auto it = offers.find(id);
        if (it == offers.end()) return;
        OfferRec rec = it->second;
        offers.erase(it);
        timers.erase({rec.timeout_at, TimerKind::OfferTimeout, id});
        const Offer &o = rec.offer;
        if (tell) out.withdraw(o, why);
        AgentRec &a = agent(o.agent);
        QueueRec &q = queue(o.queue);
        --a.offers;
        std::erase(a.ringing, id);
        if (auto ci = callers.find(o.caller); ci != callers.end()) std::erase(ci->second.offers, id);
        if (why != OfferEnd::Cancelled) {
            static constexpr std::string_view names[] = {"NOANSWER", "BUSY", "REJECTED"};
            out.record(row(now, o.queue, o.caller, a.id, names[static_cast<int>(why)], now - o.started));
            Ms delay = why == OfferEnd::NoAnswer ? q.config.noanswer_delay
                       : why == OfferEnd::Busy   ? q.config.busy_delay
                                                 : q.config.reject_delay;
            a.resting_until = std::max(a.resting_until, now + delay);
            schedule_agent_wake(a, now);
            if (why == OfferEnd::NoAnswer && q.config.auto_pause_after > 0 &&
                ++a.unanswered_in_row >= q.config.auto_pause_after)
                set_paused(a, true, "auto: " + std::to_string(a.unanswered_in_row) + " unanswered", now);
        }
        // the agent first, with the caller not back in line yet: an agent
        // free at once must not get the same caller again by default, only
        // if the strategy picks it below
        refresh(a, now);
        // the caller may have left meanwhile (an auto-pause can empty the queue)
        auto ci = callers.find(o.caller);
        if (ci == callers.end() || ci->second.connected || ci->second.leaving) return;
        CallerRec &c = ci->second;
        if (c.offers.empty()) {
            c.progressive_rung = 0;
            q.ready.insert(c.key);
        }
        dispatch_for_caller(c, now);
        schedule_caller(c, now);
    }

    void withdraw_all(CallerRec &c, Ms now) {
        std::vector<OfferId> ringing = c.offers;
        for (OfferId id : ringing) end_offer(id, OfferEnd::Cancelled, now, true);
    }

    void withdraw_agent_offers(AgentRec &a, Ms now) {
        std::vector<OfferId> mine = a.ringing;
        for (OfferId id : mine) end_offer(id, OfferEnd::Cancelled, now, true);
    }

    // Out of the line: out of every index first, so that the agents its
    // withdrawn offers free cannot pick it again.
    // The connected call of `id` ended: `event` is its queue-log row.
    void end_call(CallerId id, std::string_view event, Ms now);

    void exit_caller(CallerRec &c, ExitReason why, std::string_view event, Ms now) {
        QueueRec &q = queue(c.queue);
        const CallerId id = c.id;
        const QueueId qid = c.queue;
        const int pos = position(c);
        c.leaving = true;
        q.line.erase(c.key);
        if (c.offers.empty()) q.ready.erase(c.key);
        withdraw_all(c, now);
        if (c.next_check != INT64_MAX) timers.erase({c.next_check, TimerKind::CallerCheck, id});
        out.record(row(now, qid, id, 0, event, pos, c.original_position, now - c.key.entered));
        callers.erase(id);
        out.caller_left(id, qid, why);
    }

    void empty_check(QueueRec &q, Ms now) {
        if (q.line.empty() || !q.empty_by(q.config.leave_when_empty)) return;
        std::vector<CallerId> waiting;
        for (const auto &k : q.line) waiting.push_back(k.id);
        for (CallerId id : waiting)
            if (auto it = callers.find(id); it != callers.end()) exit_caller(it->second, ExitReason::Empty, "EXITEMPTY", now);
    }

    void set_paused(AgentRec &a, bool paused, std::string_view reason, Ms now) {
        if (a.paused == paused) return;
        count_presence(a, -1);
        a.paused = paused;
        a.pause_reason = paused ? std::string(reason) : std::string();
        count_presence(a, +1);
        out.record(row(now, 0, 0, a.id, paused ? "PAUSE" : "UNPAUSE", 0, 0, 0, a.pause_reason));
        if (paused) withdraw_agent_offers(a, now);
        if (!paused) a.unanswered_in_row = 0;
        refresh(a, now, reason);
        for (Member *m : a.memberships) empty_check(queue(m->queue), now);
    }

    void handle(const TimerKey &timer, Ms now) {
        auto [at, kind, id] = timer;
        switch (kind) {
        case TimerKind::OfferTimeout: end_offer(id, OfferEnd::NoAnswer, now, true); break;
        case TimerKind::AgentWake: break; // advance() batches these
        case TimerKind::CallerCheck: {
            auto it = callers.find(id);
            if (it == callers.end()) break;
            CallerRec &c = it->second;
            c.next_check = INT64_MAX;
            const QueueRec &q = *queues[c.queue - 1];
            if (q.config.max_wait > 0 && !c.info.callback && now - c.key.entered >= q.config.max_wait) {
                exit_caller(c, ExitReason::Timeout, "EXITWITHTIMEOUT", now);
                break;
            }
            dispatch_for_caller(c, now);
            schedule_caller(c, now);
            break;
        }
        }
    }

    void rebuild_selectors(QueueRec &q) {
        for (auto &m : q.members) index(*m, false);
        for (auto &t : q.tiers) t = make_selector(q.config.strategy, random);
    }
};

Acd::Acd(Listener &listener, uint64_t random_seed) : impl_(std::make_unique<Impl>(listener, random_seed)) {}
Acd::~Acd() = default;

QueueId Acd::add_queue(QueueConfig config) {
    auto q = std::make_unique<QueueRec>();
    q->id = static_cast<QueueId>(impl_->queues.size() + 1);
    q->config = std::move(config);
    impl_->queues.push_back(std::move(q));
    return impl_->queues.back()->id;
}

void Acd::configure_queue(QueueId id, QueueConfig config, Ms now) {
    QueueRec &q = impl_->queue(id);
    bool new_strategy = config.strategy != q.config.strategy;
    q.config = std::move(config);
    if (new_strategy) {
        impl_->rebuild_selectors(q);
        for (auto &m : q.members) impl_->refresh(*m->agent, now);
    }
    impl_->empty_check(q, now);
    std::vector<CallerId> waiting;
    for (const auto &k : q.line) waiting.push_back(k.id);
    for (CallerId c : waiting)
        if (auto it = impl_->callers.find(c); it != impl_->callers.end()) {
            impl_->dispatch_for_caller(it->second, now);
            impl_->schedule_caller(it->second, now);
        }
}

AgentId Acd::add_agent(AgentConfig config) {
    auto a = std::make_unique<AgentRec>();
    a->id = static_cast<AgentId>(impl_->agents.size() + 1);
    a->skills = impl_->skill_list(config.skills, true);
    a->config = std::move(config);
    a->config.capacity = std::max(1, a->config.capacity);
    impl_->agents.push_back(std::move(a));
    return impl_->agents.back()->id;
}

void Acd::configure_agent(AgentId id, AgentConfig config, Ms now) {
    AgentRec &a = impl_->agent(id);
    for (Member *m : a.memberships) impl_->index(*m, false); // keys and skills change
    a.skills = impl_->skill_list(config.skills, true);
    a.config = std::move(config);
    a.config.capacity = std::max(1, a.config.capacity);
    impl_->refresh(a, now);
    if (impl_->available(a, now)) impl_->dispatch_for_agent(a, now);
}

void Acd::add_member(QueueId qid, AgentId aid, Membership membership, Ms now) {
    QueueRec &q = impl_->queue(qid);
    AgentRec &a = impl_->agent(aid);
    membership.tier = std::clamp(membership.tier, 1, kMaxTier);
    while (q.tiers.size() < static_cast<size_t>(membership.tier))
        q.tiers.push_back(make_selector(q.config.strategy, impl_->random));
    if (Member *existing = Impl::member_of(a, qid)) {
        // a new tier, order or weight; its calls and talk time stay
        impl_->index(*existing, false);
        existing->membership = membership;
        impl_->refresh(a, now);
        if (impl_->available(a, now)) impl_->dispatch_for_agent(a, now);
        return;
    }
    auto m = std::make_unique<Member>(Member{&a, qid, membership, 0, 0, false, {}, 0});
    a.memberships.push_back(m.get());
    q.members.push_back(std::move(m));
    if (a.logged_in) ++q.logged_in;
    if (a.logged_in && !a.paused) ++q.unpaused;
    bool before = impl_->available(a, now);
    impl_->refresh(a, now);
    if (before) impl_->dispatch_for_agent(a, now); // refresh only dispatches a newly free agent
}

void Acd::remove_member(QueueId qid, AgentId aid, Ms now) {
    QueueRec &q = impl_->queue(qid);
    AgentRec &a = impl_->agent(aid);
    Member *m = Impl::member_of(a, qid);
    if (!m) return;
    std::vector<OfferId> here;
    for (OfferId id : a.ringing)
        if (impl_->offers.at(id).offer.queue == qid) here.push_back(id);
    for (OfferId id : here) impl_->end_offer(id, OfferEnd::Cancelled, now, true);
    impl_->index(*m, false);
    if (a.logged_in) --q.logged_in;
    if (a.logged_in && !a.paused) --q.unpaused;
    std::erase(a.memberships, m);
    std::erase_if(q.members, [m](const auto &p) { return p.get() == m; });
    impl_->empty_check(q, now);
}

QueueId Acd::find_queue(std::string_view name) const {
    for (const auto &q : impl_->queues)
        if (q->config.name == name) return q->id;
    return 0;
}

AgentId Acd::find_agent(std::string_view name) const {
    for (const auto &a : impl_->agents)
        if (a->config.name == name) return a->id;
    return 0;
}

const QueueConfig &Acd::queue_config(QueueId id) const { return impl_->queue(id).config; }
const AgentConfig &Acd::agent_config(AgentId id) const { return impl_->agent(id).config; }

void Acd::login(AgentId id, Ms now) {
    AgentRec &a = impl_->agent(id);
    if (a.logged_in) return;
    a.logged_in = true;
    impl_->count_presence(a, +1);
    a.idle_since = now;
    a.unanswered_in_row = 0;
    impl_->out.record(row(now, 0, 0, id, "LOGIN"));
    impl_->refresh(a, now, "login");
}

void Acd::logout(AgentId id, Ms now) {
    AgentRec &a = impl_->agent(id);
    if (!a.logged_in) return;
    impl_->count_presence(a, -1);
    a.logged_in = false; // first: a withdrawn offer must not find it free
    impl_->withdraw_agent_offers(a, now);
    impl_->out.record(row(now, 0, 0, id, "LOGOUT"));
    impl_->refresh(a, now, "logout");
    for (Member *m : a.memberships) impl_->empty_check(impl_->queue(m->queue), now);
}

void Acd::pause(AgentId id, std::string_view reason, Ms now) { impl_->set_paused(impl_->agent(id), true, reason, now); }
void Acd::unpause(AgentId id, Ms now) { impl_->set_paused(impl_->agent(id), false, "unpause", now); }
AgentState Acd::state(AgentId id) const { return impl_->agent(id).reported; }
std::string_view Acd::pause_reason(AgentId id) const { return impl_->agent(id).pause_reason; }

EnterResult Acd::enter(QueueId qid, CallerInfo info, Ms now) {
    if (qid == 0 || qid > impl_->queues.size()) return {0, "no such queue", 0};
    QueueRec &q = impl_->queue(qid);
    if (q.config.max_callers > 0 && static_cast<int>(q.line.size()) >= q.config.max_callers) return {0, "full", 0};
    if (q.empty_by(q.config.join_when_empty) || q.empty_by(q.config.leave_when_empty)) return {0, "empty", 0};
    CallerId id = impl_->next_caller++;
    CallerRec &c = impl_->callers[id];
    c.id = id;
    c.queue = qid;
    c.needs = impl_->skill_list(info.requires_skills, false);
    Ms arrived = info.entered ? std::min(*info.entered, now) : now;
    c.key = LineKey{-static_cast<int64_t>(info.priority), arrived, id};
    c.info = std::move(info);
    q.line.insert(c.key);
    q.ready.insert(c.key);
    c.original_position = impl_->position(c);
    impl_->out.record(row(now, qid, id, 0, "ENTER", c.original_position));
    EnterResult result{id, {}, c.original_position};
    impl_->dispatch_for_caller(c, now);
    if (auto it = impl_->callers.find(id); it != impl_->callers.end()) impl_->schedule_caller(it->second, now);
    return result;
}

void Acd::Impl::end_call(CallerId id, std::string_view event, Ms now) {
    auto it = callers.find(id);
    if (it == callers.end() || !it->second.connected) return;
    CallerRec c = it->second;
    callers.erase(it);
    AgentRec &a = agent(c.connected_agent);
    QueueRec &q = queue(c.queue);
    Ms talk = now - c.connected_at;
    if (Member *m = member_of(a, q.id)) m->talk_ms += talk;
    --a.calls;
    a.idle_since = now;
    a.wrapup_until = std::max(a.wrapup_until, now + q.config.wrapup);
    schedule_agent_wake(a, now);
    out.record(row(now, c.queue, id, a.id, event, c.connected_at - c.key.entered, talk));
    refresh(a, now);
}

void Acd::leave(CallerId id, ExitReason why, Ms now) {
    auto it = impl_->callers.find(id);
    if (it == impl_->callers.end() || it->second.connected) return;
    static constexpr std::pair<ExitReason, std::string_view> events[] = {
        {ExitReason::Abandoned, "ABANDON"}, {ExitReason::Key, "EXITWITHKEY"}, {ExitReason::Callback, "CALLBACK"},
        {ExitReason::Removed, "REMOVED"},   {ExitReason::Timeout, "EXITWITHTIMEOUT"}, {ExitReason::Empty, "EXITEMPTY"}};
    std::string_view event = "REMOVED";
    for (const auto &[reason, name] : events)
        if (reason == why) event = name;
    impl_->exit_caller(it->second, why, event, now);
}

int Acd::position(CallerId id) const {
    auto it = impl_->callers.find(id);
    return it == impl_->callers.end() || it->second.connected ? 0 : impl_->position(it->second);
}

QueueId Acd::queue_of(CallerId id) const {
    auto it = impl_->callers.find(id);
    return it == impl_->callers.end() ? 0 : it->second.queue;
}

bool Acd::answered(OfferId id, Ms now) {
    Impl &d = *impl_;
    auto it = d.offers.find(id);
    if (it == d.offers.end()) return false;
    OfferRec rec = it->second;
    d.offers.erase(it);
    d.timers.erase({rec.timeout_at, TimerKind::OfferTimeout, id});
    const Offer o = rec.offer;
    CallerRec &c = d.callers.at(o.caller);
    AgentRec &a = d.agent(o.agent);
    QueueRec &q = d.queue(o.queue);
    // connected and out of the line before the other offers are withdrawn,
    // so neither the caller nor this agent is offered again meanwhile
    c.connected = true;
    c.connected_agent = a.id;
    c.connected_at = now;
    q.line.erase(c.key); // not in `ready`: an offer (this one) rings for it
    std::erase(c.offers, id);
    std::erase(a.ringing, id);
    --a.offers;
    ++a.calls;
    a.unanswered_in_row = 0;
    if (Member *m = Impl::member_of(a, q.id)) ++m->calls;
    d.withdraw_all(c, now);
    if (c.next_check != INT64_MAX) d.timers.erase({c.next_check, TimerKind::CallerCheck, c.id});
    c.next_check = INT64_MAX;
    d.out.record(row(now, o.queue, c.id, a.id, "CONNECT", now - c.key.entered, now - o.started));
    d.out.caller_left(c.id, o.queue, ExitReason::Connected);
    d.refresh(a, now);
    return true;
}

void Acd::declined(OfferId id, OfferEnd why, Ms now) {
    impl_->end_offer(id, why == OfferEnd::Cancelled ? OfferEnd::Rejected : why, now, false);
}

void Acd::hung_up(CallerId id, bool by_agent, Ms now) {
    impl_->end_call(id, by_agent ? "COMPLETEAGENT" : "COMPLETECALLER", now);
}

void Acd::transferred(CallerId id, Ms now) { impl_->end_call(id, "TRANSFER", now); }

void Acd::callback_failed(CallerId id, Ms now) { impl_->end_call(id, "CALLBACKFAILED", now); }

std::optional<Ms> Acd::entered_at(CallerId id) const {
    auto it = impl_->callers.find(id);
    if (it == impl_->callers.end() || it->second.connected) return std::nullopt;
    return it->second.key.entered;
}

void Acd::advance(Ms now) {
    Impl &d = *impl_;
    while (!d.timers.empty() && std::get<0>(*d.timers.begin()) <= now) {
        // Agents whose rest or wrap-up ends at one instant all come back
        // before any of them is given a caller, so the strategy chooses
        // among all of them.
        Ms instant = std::get<0>(*d.timers.begin());
        std::vector<AgentRec *> woken;
        while (!d.timers.empty() && std::get<0>(*d.timers.begin()) == instant) {
            TimerKey t = *d.timers.begin();
            d.timers.erase(d.timers.begin());
            if (std::get<1>(t) == TimerKind::AgentWake) {
                AgentRec &a = d.agent(static_cast<AgentId>(std::get<2>(t)));
                d.refresh(a, now, {}, false);
                woken.push_back(&a);
            } else {
                d.handle(t, now);
            }
        }
        for (AgentRec *a : woken)
            if (d.available(*a, now)) d.dispatch_for_agent(*a, now);
    }
}

Ms Acd::next_deadline() const { return impl_->timers.empty() ? INT64_MAX : std::get<0>(*impl_->timers.begin()); }

QueueSnapshot Acd::snapshot(QueueId id, Ms now) const {
    const QueueRec &q = impl_->queue(id);
    QueueSnapshot s;
    s.name = q.config.name;
    s.waiting = static_cast<int>(q.line.size());
    // The line is in order of priority, then arrival: the longest waiting
    // caller heads one of its priority classes.
    Ms earliest = now;
    for (auto it = q.line.begin(); it != q.line.end(); it = q.line.lower_bound({it->neg_priority + 1, INT64_MIN, 0}))
        earliest = std::min(earliest, it->entered);
    s.longest_wait = now - earliest;
    for (const auto &m : q.members) ++s.agents[static_cast<int>(m->agent->reported)];
    return s;
}

std::vector<std::pair<AgentId, Membership>> Acd::members(QueueId id) const {
    std::vector<std::pair<AgentId, Membership>> out;
    for (const auto &m : impl_->queue(id).members) out.emplace_back(m->agent->id, m->membership);
    return out;
}

size_t Acd::queue_count() const { return impl_->queues.size(); }
size_t Acd::agent_count() const { return impl_->agents.size(); }

} // namespace tandem::acd
