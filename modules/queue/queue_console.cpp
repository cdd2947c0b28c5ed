// `tandem ctl queue ...` and `tandem ctl agent ...`: look at the queues and
// agents, change agents' states, and forecast staffing with Erlang C.
#include "acd/erlang_c.hpp"
#include "queue_module.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace tandem::queue {

namespace {

void print(tandem_console_out *out, const std::string &text) { module.host->console_print(out, text.c_str()); }

std::string quoted(std::string_view s) {
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') q += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) q += c;
    }
    return q + "\"";
}

struct AgentView {
    std::string name, state, reason, contact, skills;
    std::vector<std::string> queues;
    acd::Counts windows[3]; // as QueueView's
};

struct QueueView {
    std::string name, strategy;
    int waiting = 0;
    acd::Ms longest_wait = 0;
    int by_state[6] = {};
    std::vector<std::pair<std::string, std::string>> members; // agent, state
    std::vector<int> tiers;
    int ready = 0;                 // logged in and not paused
    acd::Counts windows[3];        // the last 15 min, the last hour, today
    acd::Ms wrapup = 0;
    int needed = 0;                // Erlang C for the last hour's traffic; -1 unknown
};

constexpr int kWindowMinutes[3] = {15, 60, 0};
constexpr const char *kWindowNames[3] = {"15m", "1h", "today"};

// The staffing the last hour's traffic needs at 80% within the queue's
// threshold; -1 while no call has completed to measure a handling time.
int needed_now(const acd::Counts &hour, acd::Ms wrapup, acd::Ms threshold) {
    if (hour.offered == 0) return 0;
    if (hour.completed == 0) return -1;
    double aht = hour.talk_s() + static_cast<double>(wrapup) / 1000.0;
    if (aht <= 0) return 0;
    return acd::agents_needed(static_cast<double>(hour.offered), aht, 0.8, static_cast<double>(threshold) / 1000.0).agents;
}

std::string window_json(const acd::Counts &c, acd::Ms wrapup) {
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "{\"offered\":%lld,\"answered\":%lld,\"abandoned\":%lld,\"timed_out\":%lld,"
                  "\"service_level\":%.4f,\"asa_s\":%.1f,\"talk_s\":%.1f,\"aht_s\":%.1f}",
                  static_cast<long long>(c.offered), static_cast<long long>(c.answered),
                  static_cast<long long>(c.abandoned), static_cast<long long>(c.timed_out), c.service_level(), c.asa_s(),
                  c.talk_s(), c.completed ? c.talk_s() + static_cast<double>(wrapup) / 1000.0 : 0.0);
    return buf;
}

std::string window_text(const char *name, const acd::Counts &c) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: offered %lld, answered %lld, abandoned %lld, SL %.0f%%, ASA %.0f s, talk %.0f s",
                  name, static_cast<long long>(c.offered), static_cast<long long>(c.answered),
                  static_cast<long long>(c.abandoned), c.service_level() * 100, c.asa_s(), c.talk_s());
    return buf;
}

std::vector<QueueView> queues_now(const std::string &only) {
    return module.service->call([&only](acd::Acd &acd, acd::Ms now) {
        std::vector<QueueView> views;
        for (acd::QueueId q = 1; q <= acd.queue_count(); ++q) {
            const acd::QueueConfig &c = acd.queue_config(q);
            if (!only.empty() && c.name != only) continue;
            acd::QueueSnapshot s = acd.snapshot(q, now);
            QueueView v;
            v.name = c.name;
            v.strategy = std::string(acd::name_of(c.strategy));
            v.waiting = s.waiting;
            v.longest_wait = s.longest_wait;
            std::copy(std::begin(s.agents), std::end(s.agents), v.by_state);
            for (const auto &[agent, membership] : acd.members(q)) {
                acd::AgentState st = acd.state(agent);
                v.members.emplace_back(acd.agent_config(agent).name, std::string(acd::name_of(st)));
                v.tiers.push_back(membership.tier);
                if (st != acd::AgentState::LoggedOut && acd.pause_reason(agent).empty()) ++v.ready;
            }
            auto [wall, day] = AcdService::wall_and_day();
            for (int w = 0; w < 3; ++w) v.windows[w] = module.service->stats().queue(q, kWindowMinutes[w], wall, day);
            v.wrapup = c.wrapup;
            v.needed = needed_now(v.windows[1], c.wrapup, c.service_level);
            views.push_back(std::move(v));
        }
        return views;
    });
}

int queue_show(int argc, const char *const *argv, tandem_console_out *out) {
    std::string only = argc > 2 ? argv[2] : "";
    std::vector<QueueView> views = queues_now(only);
    if (!only.empty() && views.empty()) {
        print(out, "no queue named '" + only + "'\n");
        return TANDEM_ENOENT;
    }
    bool json = module.host->console_json(out);
    std::string text = json ? "[" : "";
    for (size_t i = 0; i < views.size(); ++i) {
        const QueueView &v = views[i];
        if (json) {
            text += (i ? "," : "") + std::string("{\"name\":") + quoted(v.name) + ",\"strategy\":" + quoted(v.strategy) +
                    ",\"waiting\":" + std::to_string(v.waiting) + ",\"longest_wait_s\":" +
                    std::to_string(v.longest_wait / 1000) + ",\"agents\":{";
            for (int s = 0; s < 6; ++s)
                text += (s ? "," : "") + quoted(acd::name_of(static_cast<acd::AgentState>(s))) + ":" +
                        std::to_string(v.by_state[s]);
            text += "},\"members\":[";
            for (size_t m = 0; m < v.members.size(); ++m)
                text += (m ? "," : "") + std::string("{\"agent\":") + quoted(v.members[m].first) + ",\"state\":" +
                        quoted(v.members[m].second) + ",\"tier\":" + std::to_string(v.tiers[m]) + "}";
            text += "],\"stats\":{";
            for (int w = 0; w < 3; ++w)
                text += (w ? "," : "") + quoted(kWindowNames[w]) + ":" + window_json(v.windows[w], v.wrapup);
            text += "},\"staffed\":" + std::to_string(v.ready) + ",\"needed\":" + std::to_string(v.needed) + "}";
        } else {
            text += v.name + " (" + v.strategy + "): " + std::to_string(v.waiting) + " waiting, longest " +
                    std::to_string(v.longest_wait / 1000) + " s\n";
            for (size_t m = 0; m < v.members.size(); ++m)
                text += "  " + v.members[m].first + " " + v.members[m].second + " (tier " + std::to_string(v.tiers[m]) + ")\n";
            for (int w = 0; w < 3; ++w) text += "  " + window_text(kWindowNames[w], v.windows[w]) + "\n";
            text += "  staffed " + std::to_string(v.ready) + ", needed " +
                    (v.needed < 0 ? std::string("unknown (no call completed in the last hour)") : std::to_string(v.needed)) +
                    " for the last hour's traffic\n";
        }
    }
    if (json) text += "]";
    else if (views.empty()) text = "no queues\n";
    print(out, text);
    return TANDEM_OK;
}

// --calls-per-hour N --aht S [--sl P/T]
int queue_forecast(int argc, const char *const *argv, tandem_console_out *out) {
    if (argc < 3) {
        print(out, "usage: queue forecast NAME --calls-per-hour N --aht SECONDS [--sl 80/20]\n");
        return TANDEM_EINVAL;
    }
    std::string name = argv[2];
    double calls = -1, aht = -1;
    double sl_fraction = 0.8, sl_seconds = -1; // -1: the queue's own threshold
    bool sl_ok = true;
    for (int i = 3; i < argc; i += 2) {
        std::string opt = argv[i];
        if (i + 1 >= argc) {
            print(out, "queue forecast: " + opt + " needs a value\n");
            return TANDEM_EINVAL;
        }
        std::string value = argv[i + 1];
        char *end = nullptr;
        double number = std::strtod(value.c_str(), &end);
        bool numeric = !value.empty() && !*end && std::isfinite(number) && number >= 0;
        if (opt == "--sl") {
            auto parsed = acd::parse_service_level(value);
            sl_ok = parsed.has_value();
            if (parsed) std::tie(sl_fraction, sl_seconds) = *parsed;
        }
        bool ok = opt == "--calls-per-hour" ? numeric : opt == "--aht" ? numeric && number > 0 : opt == "--sl" && sl_ok;
        if (!ok) {
            print(out, "queue forecast: bad option or value: " + opt + " " + value + "\n");
            return TANDEM_EINVAL;
        }
        if (opt == "--calls-per-hour") calls = number;
        if (opt == "--aht") aht = number;
    }
    if (calls < 0 || aht <= 0) {
        print(out, "queue forecast: --calls-per-hour and --aht (seconds, above 0) are required\n");
        return TANDEM_EINVAL;
    }
    std::vector<QueueView> views = queues_now(name);
    if (views.empty()) {
        print(out, "no queue named '" + name + "'\n");
        return TANDEM_ENOENT;
    }
    if (sl_seconds < 0) // the queue's own threshold, at the usual 80%
        sl_seconds = module.service->call(
            [&name](acd::Acd &acd, acd::Ms) { return acd.queue_config(acd.find_queue(name)).service_level / 1000.0; });
    acd::Forecast f;
    try {
        f = acd::agents_needed(calls, aht, sl_fraction, sl_seconds);
    } catch (const std::invalid_argument &e) {
        print(out, std::string("queue forecast: ") + e.what() + "\n");
        return TANDEM_EINVAL;
    }
    char line[512];
    char asa_text[32];
    std::snprintf(asa_text, sizeof asa_text, "%.1f s", f.asa_s);
    std::string asa = std::isfinite(f.asa_s) ? asa_text : "unbounded";
    if (module.host->console_json(out)) {
        std::snprintf(line, sizeof line,
                      "{\"queue\":%s,\"calls_per_hour\":%g,\"aht_s\":%g,\"sl_percent\":%g,\"sl_seconds\":%g,"
                      "\"traffic_erlangs\":%.3f,\"agents_needed\":%d,\"service_level\":%.4f,\"asa_s\":%.2f,"
                      "\"occupancy\":%.4f,\"wait_probability\":%.4f,\"staffed\":%d}",
                      quoted(name).c_str(), calls, aht, sl_fraction * 100, sl_seconds, f.traffic, f.agents,
                      f.service_level, std::isfinite(f.asa_s) ? f.asa_s : -1.0, f.occupancy, f.wait_probability,
                      views[0].ready);
    } else {
        std::snprintf(line, sizeof line,
                      "%s: %g calls/h, AHT %g s = %.2f Erlangs; for %g%% answered within %g s: %s\n"
                      "  service level %.1f%%, average speed of answer %s, occupancy %.1f%%, %.1f%% wait\n"
                      "  staffed now: %d (logged in, not paused)\n",
                      name.c_str(), calls, aht, f.traffic, sl_fraction * 100, sl_seconds,
                      f.agents < 0 ? "not reachable with 10000 agents"
                                   : (std::to_string(f.agents) + " agent(s) needed").c_str(),
                      f.service_level * 100, asa.c_str(), f.occupancy * 100, f.wait_probability * 100, views[0].ready);
    }
    print(out, line);
    return TANDEM_OK;
}

// add-member QUEUE AGENT [tier=N] [order=N] [weight=N] | remove-member QUEUE AGENT
int queue_member(int argc, const char *const *argv, tandem_console_out *out) {
    bool add = std::string(argv[1]) == "add-member";
    std::string queue = argv[2], spec_text;
    for (int i = 3; i < argc; ++i) spec_text += (i > 3 ? " " : "") + std::string(argv[i]);
    MemberSpec spec;
    if (!parse_member(spec_text, spec) || (!add && argc != 4)) {
        print(out, "usage: queue add-member QUEUE AGENT [tier=1-9] [order=N] [weight=N] | queue remove-member QUEUE AGENT\n");
        return TANDEM_EINVAL;
    }
    std::string problem = module.service->call([&](acd::Acd &acd, acd::Ms now) -> std::string {
        acd::QueueId q = acd.find_queue(queue);
        acd::AgentId a = acd.find_agent(spec.agent);
        if (!q) return "no queue named '" + queue + "'";
        if (!a) return "no agent named '" + spec.agent + "'";
        if (add)
            acd.add_member(q, a, spec.membership, now);
        else
            acd.remove_member(q, a, now);
        return "";
    });
    if (!problem.empty()) {
        print(out, problem + "\n");
        return TANDEM_ENOENT;
    }
    const char *show[] = {"queue", "show", queue.c_str()};
    return queue_show(3, show, out);
}

// The ACD thread's own load: how much of a core distribution costs, and how
// that splits between deciding and telling (rows, events, messages).
int queue_acd(tandem_console_out *out) {
    AcdService::Workload w = module.service->call([](acd::Acd &, acd::Ms) { return module.service->workload(); });
    double offers = static_cast<double>(std::max<uint64_t>(w.offers, 1));
    double busy_us = static_cast<double>(w.busy_ns) / 1000.0, output_us = static_cast<double>(w.output_ns) / 1000.0;
    char buf[400];
    if (module.host->console_json(out))
        std::snprintf(buf, sizeof buf,
                      "{\"offers\":%llu,\"tasks\":%llu,\"busy_us\":%.0f,\"deciding_us\":%.0f,\"output_us\":%.0f}",
                      static_cast<unsigned long long>(w.offers), static_cast<unsigned long long>(w.tasks), busy_us,
                      busy_us - output_us, output_us);
    else
        std::snprintf(buf, sizeof buf,
                      "ACD thread: %llu offers, %llu tasks, busy %.3f s: %.1f us an offer, of which %.1f us deciding"
                      " and %.1f us writing queue-log rows, events and messages to the workers\n",
                      static_cast<unsigned long long>(w.offers), static_cast<unsigned long long>(w.tasks),
                      busy_us / 1e6, busy_us / offers, (busy_us - output_us) / offers, output_us / offers);
    print(out, buf);
    return TANDEM_OK;
}

int queue_command(void *, int argc, const char *const *argv, tandem_console_out *out) {
    std::string sub = argc > 1 ? argv[1] : "show";
    if (sub == "show") return queue_show(argc, argv, out);
    if (sub == "acd" && argc == 2) return queue_acd(out);
    if (sub == "forecast") return queue_forecast(argc, argv, out);
    if ((sub == "add-member" || sub == "remove-member") && argc >= 4) return queue_member(argc, argv, out);
    print(out, "usage: queue show [NAME] | queue forecast NAME --calls-per-hour N --aht SECONDS [--sl 80/20]"
               " | queue acd | queue add-member QUEUE AGENT [tier=N] [order=N] [weight=N] | queue remove-member QUEUE AGENT\n");
    return TANDEM_EINVAL;
}

std::vector<AgentView> agents_now(const std::string &only) {
    std::vector<AgentView> views = module.service->call([&only](acd::Acd &acd, acd::Ms) {
        std::vector<AgentView> v;
        for (acd::AgentId a = 1; a <= acd.agent_count(); ++a) {
            const acd::AgentConfig &c = acd.agent_config(a);
            if (!only.empty() && c.name != only) continue;
            AgentView view{c.name, std::string(acd::name_of(acd.state(a))), std::string(acd.pause_reason(a)), "", "", {}, {}};
            auto [wall, day] = AcdService::wall_and_day();
            for (int w = 0; w < 3; ++w) view.windows[w] = module.service->stats().agent(a, kWindowMinutes[w], wall, day);
            for (const acd::SkillLevel &s : c.skills)
                view.skills += (view.skills.empty() ? "" : ",") + s.skill + ":" + std::to_string(s.level);
            for (acd::QueueId q = 1; q <= acd.queue_count(); ++q)
                for (const auto &[member, m] : acd.members(q))
                    if (member == a) view.queues.push_back(acd.queue_config(q).name);
            v.push_back(std::move(view));
        }
        return v;
    });
    std::lock_guard<std::mutex> hold(module.settings_lock);
    for (AgentView &v : views)
        if (const AgentSpec *spec = module.settings.agent(v.name))
            for (const std::string &c : spec->contacts) v.contact += (v.contact.empty() ? "" : ", ") + c;
    return views;
}

std::string agent_window_json(const acd::Counts (&windows)[3]) {
    std::string text;
    for (int w = 0; w < 3; ++w) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s\"%s\":{\"answered\":%lld,\"missed\":%lld,\"talk_s\":%.1f}", w ? "," : "",
                      kWindowNames[w], static_cast<long long>(windows[w].answered),
                      static_cast<long long>(windows[w].missed), static_cast<double>(windows[w].talk_ms) / 1000.0);
        text += buf;
    }
    return text;
}

int agent_show(const std::string &only, tandem_console_out *out) {
    std::vector<AgentView> views = agents_now(only);
    if (!only.empty() && views.empty()) {
        print(out, "no agent named '" + only + "'\n");
        return TANDEM_ENOENT;
    }
    bool json = module.host->console_json(out);
    std::string text = json ? "[" : "";
    for (size_t i = 0; i < views.size(); ++i) {
        const AgentView &v = views[i];
        std::string queues;
        for (const std::string &q : v.queues) queues += (queues.empty() ? "" : ",") + (json ? quoted(q) : q);
        if (json)
            text += (i ? "," : "") + std::string("{\"name\":") + quoted(v.name) + ",\"state\":" + quoted(v.state) +
                    ",\"pause_reason\":" + quoted(v.reason) + ",\"contact\":" + quoted(v.contact) +
                    ",\"skills\":" + quoted(v.skills) + ",\"queues\":[" + queues + "],\"stats\":{" +
                    agent_window_json(v.windows) + "}}";
        else
            text += v.name + " " + v.state + (v.reason.empty() ? "" : " (" + v.reason + ")") + " contact " +
                    (v.contact.empty() ? "-" : v.contact) + " queues " + (queues.empty() ? "-" : queues) +
                    (v.skills.empty() ? "" : " skills " + v.skills) + "\n";
    }
    if (json) text += "]";
    else if (views.empty()) text = "no agents\n";
    print(out, text);
    return TANDEM_OK;
}

int agent_command(void *, int argc, const char *const *argv, tandem_console_out *out) {
    std::string sub = argc > 1 ? argv[1] : "show";
    if (sub == "show") return agent_show(argc > 2 ? argv[2] : "", out);
    if ((sub == "login" || sub == "logout" || sub == "pause" || sub == "unpause") && argc >= 3) {
        std::string name = argv[2], reason;
        for (int i = 3; i < argc; ++i) reason += (reason.empty() ? "" : " ") + std::string(argv[i]);
        if (sub == "pause" && reason.empty()) reason = "paused";
        bool found = module.service->call([&](acd::Acd &acd, acd::Ms now) {
            acd::AgentId a = acd.find_agent(name);
            if (!a) return false;
            if (sub == "login") acd.login(a, now);
            else if (sub == "logout") acd.logout(a, now);
            else if (sub == "pause") acd.pause(a, reason, now);
            else acd.unpause(a, now);
            return true;
        });
        if (!found) {
            print(out, "no agent named '" + name + "'\n");
            return TANDEM_ENOENT;
        }
        return agent_show(name, out);
    }
    print(out, "usage: agent show [NAME] | agent login|logout|unpause NAME | agent pause NAME [REASON]\n");
    return TANDEM_EINVAL;
}

const tandem_console_command queue_cmd = {
    sizeof(tandem_console_command), "queue",
    "queue show [NAME] | queue forecast NAME --calls-per-hour N --aht S [--sl 80/20] | queue acd | queue add-member|remove-member QUEUE AGENT",
    "queues: waiting callers, members and statistics; members added or removed; Erlang C staffing forecast", nullptr,
    queue_command};
const tandem_console_command agent_cmd = {
    sizeof(tandem_console_command), "agent", "agent show [NAME] | agent login|logout|unpause NAME | agent pause NAME [REASON]",
    "queue agents: states, log in and out, pause", nullptr, agent_command};

} // namespace

int register_console_commands() {
    int rc = module.host->register_console_command(module.self, &queue_cmd);
    if (rc != TANDEM_OK) return rc;
    return module.host->register_console_command(module.self, &agent_cmd);
}

} // namespace tandem::queue
