#include "queue_settings.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace tandem::queue {

namespace {

bool valid_name(const std::string &s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

bool to_int(std::string_view text, long lo, long hi, long &out) {
    long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return false;
    out = v;
    return true;
}

// One table (a queue or an agent) of the config: typed reads that record
// errors under the table's own name.
class Table {
public:
    Table(const std::function<const char *(const std::string &)> &get, std::string prefix, std::string label,
          std::vector<std::string> &errors)
        : get_(get), prefix_(std::move(prefix)), label_(std::move(label)), errors_(errors) {}

    const char *raw(const std::string &key) const { return get_(prefix_ + key); }
    void fail(const std::string &key, const std::string &why) const { errors_.push_back(label_ + "." + key + ": " + why); }

    std::string text(const std::string &key, const std::string &fallback = "") const {
        const char *v = raw(key);
        return v ? v : fallback;
    }
    long integer(const std::string &key, long fallback, long lo, long hi) const {
        const char *v = raw(key);
        long out = fallback;
        std::string_view text = v ? v : "";
        if (text.ends_with(".0")) text.remove_suffix(2); // a Lua float such as 10.0 arrives as "10.0"
        if (v && !to_int(text, lo, hi, out))
            fail(key, "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
        return out;
    }
    // Seconds in the file, milliseconds for the ACD.
    acd::Ms seconds(const std::string &key, double fallback, double hi) const {
        const char *v = raw(key);
        double s = fallback;
        if (v) {
            char *end = nullptr;
            s = std::strtod(v, &end);
            if (!*v || *end || !(s >= 0) || s > hi) {
                fail(key, "must be seconds from 0 to " + std::to_string(static_cast<long>(hi)));
                s = fallback;
            }
        }
        return static_cast<acd::Ms>(std::llround(s * 1000));
    }
    bool boolean(const std::string &key, bool fallback) const {
        const char *v = raw(key);
        if (!v) return fallback;
        std::string s = v;
        if (s == "true") return true;
        if (s == "false") return false;
        fail(key, "must be true or false");
        return fallback;
    }
    // A list of strings at key.1, key.2, ...
    std::vector<std::string> list(const std::string &key) const {
        std::vector<std::string> out;
        for (int i = 1;; ++i) {
            const char *v = raw(key + "." + std::to_string(i));
            if (!v) break;
            out.emplace_back(v);
        }
        return out;
    }

private:
    const std::function<const char *(const std::string &)> &get_;
    std::string prefix_, label_;
    std::vector<std::string> &errors_;
};

void read_queue(const Table &t, QueueSpec &q) {
    acd::QueueConfig &c = q.config;
    c.name = t.text("name");
    if (!valid_name(c.name)) t.fail("name", "is required: letters, digits, '-', '_' or '.', at most 64");
    std::string strategy = t.text("strategy", "longest-idle");
    if (auto s = acd::strategy_from(strategy))
        c.strategy = *s;
    else
        t.fail("strategy", "'" + strategy + "' is not one of ring-all, round-robin, longest-idle, least-recent, "
                           "fewest-calls, least-talk-time, random, weighted-random, linear, ring-progressively, skills");
    c.ring_timeout = t.seconds("ring_timeout", 15, 600);
    if (c.ring_timeout < 1000) t.fail("ring_timeout", "must be at least 1 second");
    c.max_wait = t.seconds("max_wait", 0, 86400);
    c.max_callers = static_cast<int>(t.integer("max_callers", 0, 0, 1000000));
    for (auto [key, field] : {std::pair{"join_when_empty", &c.join_when_empty}, std::pair{"leave_when_empty", &c.leave_when_empty}}) {
        std::string v = t.text(key, "never");
        if (auto p = acd::empty_policy_from(v))
            *field = *p;
        else
            t.fail(key, "'" + v + "' is not one of never, none-logged-in, none-ready");
    }
    c.wrapup = t.seconds("wrapup", 0, 3600);
    c.auto_pause_after = static_cast<int>(t.integer("auto_pause_after", 0, 0, 100));
    c.noanswer_delay = t.seconds("noanswer_delay", 0, 3600);
    // Not below a second: a phone that fails at once would be rung again at once, for ever.
    c.busy_delay = t.seconds("busy_delay", 5, 3600);
    c.reject_delay = t.seconds("reject_delay", 5, 3600);
    if (c.busy_delay < 1000) t.fail("busy_delay", "must be at least 1 second");
    if (c.reject_delay < 1000) t.fail("reject_delay", "must be at least 1 second");
    c.tier_wait = t.seconds("tier_wait", 30, 86400);
    c.progressive_step = t.seconds("progressive_step", 5, 600);
    c.service_level = t.seconds("service_level", 20, 3600);
    for (const std::string &step : t.list("relax")) {
        auto colon = step.find(':');
        long after = 0, lower = 0;
        if (colon == std::string::npos || !to_int(std::string_view(step).substr(0, colon), 0, 86400, after) ||
            !to_int(std::string_view(step).substr(colon + 1), 0, 100, lower) ||
            (!c.relax.empty() && after * 1000 <= c.relax.back().after)) {
            t.fail("relax", "'" + step + "' must be SECONDS:LOWER_BY, in rising order of seconds");
            continue;
        }
        c.relax.push_back({after * 1000, static_cast<int>(lower)});
    }
    CallerExperience &x = q.caller;
    x.moh = t.text("moh", "default");
    x.announce_every_s = static_cast<int>(t.integer("announce_every", 0, 0, 3600));
    x.announce = t.list("announce");
    x.announce_position = t.boolean("announce_position", true);
    x.announce_wait = t.boolean("announce_wait", true);
    x.exit_keys = t.text("exit_keys");
    if (x.exit_keys.find_first_not_of("0123456789*#ABCD") != std::string::npos)
        t.fail("exit_keys", "must be DTMF digits: 0-9, *, #, A-D");
    x.whisper = t.list("whisper");
    x.callback_key = t.text("callback_key");
    if (x.callback_key.size() > 1 || x.callback_key.find_first_not_of("0123456789*#ABCD") != std::string::npos)
        t.fail("callback_key", "must be one DTMF digit: 0-9, *, #, A-D");
    if (!x.callback_key.empty() && x.exit_keys.find(x.callback_key) != std::string::npos)
        t.fail("callback_key", "is also one of exit_keys");
    x.callback_dial = t.text("callback_dial");
    if (!x.callback_dial.empty() && x.callback_dial.find("{number}") == std::string::npos)
        t.fail("callback_dial", "must contain {number}, e.g. \"sip/{number}@trunk\"");
    x.callback_attempts = static_cast<int>(t.integer("callback_attempts", 3, 1, 10));
    x.callback_retry_s = static_cast<int>(t.integer("callback_retry", 60, 1, 86400));
    x.callback_exten = t.text("callback_exten", "queue-callback");
    x.callback_context = t.text("callback_context", "default");
    for (const std::string &m : t.list("members")) {
        MemberSpec spec;
        if (parse_member(m, spec))
            q.members.push_back(spec);
        else
            t.fail("members", "'" + m + "' must be AGENT [tier=1-9] [order=N] [weight=N]");
    }
}

} // namespace

bool parse_skills(const std::string &text, std::vector<acd::SkillLevel> &out) {
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
        if (b == std::string::npos) return false;
        item = item.substr(b, e - b + 1);
        auto colon = item.find(':');
        long level = 0;
        if (colon == std::string::npos || !valid_name(item.substr(0, colon)) ||
            !to_int(std::string_view(item).substr(colon + 1), 0, 100, level))
            return false;
        out.push_back({item.substr(0, colon), static_cast<int>(level)});
    }
    return true;
}

bool parse_member(const std::string &text, MemberSpec &out) {
    std::stringstream in(text);
    std::string word;
    if (!(in >> out.agent) || !valid_name(out.agent)) return false;
    while (in >> word) {
        auto eq = word.find('=');
        long v = 0;
        if (eq == std::string::npos || !to_int(std::string_view(word).substr(eq + 1), 0, 1000000, v)) return false;
        std::string key = word.substr(0, eq);
        if (key == "tier" && v >= 1 && v <= 9)
            out.membership.tier = static_cast<int>(v);
        else if (key == "order")
            out.membership.order = static_cast<int>(v);
        else if (key == "weight" && v >= 1)
            out.membership.weight = static_cast<unsigned>(v);
        else
            return false;
    }
    return true;
}

bool read_settings(const std::function<const char *(const std::string &)> &get, Settings &out,
                   std::vector<std::string> &errors) {
    size_t errors_before = errors.size();
    for (int i = 1; get("agents." + std::to_string(i) + ".name") || get("agents." + std::to_string(i) + ".contact"); ++i) {
        Table t(get, "agents." + std::to_string(i) + ".", "agents[" + std::to_string(i) + "]", errors);
        AgentSpec a;
        a.config.name = t.text("name");
        if (!valid_name(a.config.name)) t.fail("name", "is required: letters, digits, '-', '_' or '.', at most 64");
        if (!out.agent_index.emplace(a.config.name, out.agents.size()).second) t.fail("name", "'" + a.config.name + "' is declared twice");
        if (const char *one = t.raw("contact"))
            a.contacts.emplace_back(one);
        else
            a.contacts = t.list("contact");
        a.config.capacity = static_cast<int>(t.integer("capacity", 1, 1, 100));
        if (!parse_skills(t.text("skills"), a.config.skills) && !t.text("skills").empty())
            t.fail("skills", "must be SKILL:LEVEL[, SKILL:LEVEL...] with levels 0-100");
        a.login = t.boolean("login", false);
        out.agents.push_back(std::move(a));
    }
    for (int i = 1; get("queues." + std::to_string(i) + ".name") || get("queues." + std::to_string(i) + ".strategy"); ++i) {
        Table t(get, "queues." + std::to_string(i) + ".", "queues[" + std::to_string(i) + "]", errors);
        QueueSpec q;
        read_queue(t, q);
        if (!out.queue_index.emplace(q.config.name, out.queues.size()).second) t.fail("name", "'" + q.config.name + "' is declared twice");
        for (const MemberSpec &m : q.members)
            if (!out.agent_index.count(m.agent)) t.fail("members", "'" + m.agent + "' is not in agents");
        out.queues.push_back(std::move(q));
    }
    Table top(get, "", "queue", errors);
    out.stats_interval_s = static_cast<int>(top.integer("stats_interval", 0, 0, 3600));
    return errors.size() == errors_before;
}

const AgentSpec *Settings::agent(const std::string &name) const {
    auto it = agent_index.find(name);
    return it == agent_index.end() ? nullptr : &agents[it->second];
}

const QueueSpec *Settings::queue(const std::string &name) const {
    auto it = queue_index.find(name);
    return it == queue_index.end() ? nullptr : &queues[it->second];
}

} // namespace tandem::queue
