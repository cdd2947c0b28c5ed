// The queue module's configuration: module_config.queue in tandem.lua, read
// into what the ACD takes. Times are written in seconds (decimals allowed).
// Every error names the key it is about, e.g. "queues[2].strategy: ...".
#pragma once

#include "acd/acd.hpp"

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tandem::queue {

struct MemberSpec {
    std::string agent;
    acd::Membership membership;
};

// What a waiting caller hears and may do (the module's part of a queue; the
// ACD decides who is offered).
struct CallerExperience {
    std::string moh = "default";          // the stream heard while waiting; "" none
    int announce_every_s = 0;             // announcements this often; 0: never
    std::vector<std::string> announce;    // played first at each one, e.g. "en/please-hold"
    bool announce_position = true;        // "you are caller number N"
    bool announce_wait = true;            // "the estimated wait time is M minutes"
    std::string exit_keys;                // digits that take the caller out of the line
    std::vector<std::string> whisper;     // played to the agent who answers, before the bridge
    // Callbacks (queue_callback.cpp): the caller hangs up and keeps its place.
    std::string callback_key;             // the digit that asks for one; "": none
    std::string callback_dial;            // the customer's dial string, "{number}" replaced: "sip/{number}@trunk"
    int callback_attempts = 3;            // calls to the customer before giving up
    int callback_retry_s = 60;            // between them
    std::string callback_exten = "queue-callback"; // where the agent's call runs once it answers
    std::string callback_context = "default";
};

struct QueueSpec {
    acd::QueueConfig config;
    std::vector<MemberSpec> members;
    CallerExperience caller;
};

struct AgentSpec {
    acd::AgentConfig config;
    std::vector<std::string> contacts; // dial strings of the agent's phones, rung at once: "sip/1001"
    bool login = false;  // logged in when the module starts
};

struct Settings {
    std::vector<QueueSpec> queues;
    std::vector<AgentSpec> agents;
    int stats_interval_s = 0; // publish each queue's queue_stats event this often; 0: never

    // By name, without a scan: every offer looks its agent's contacts up.
    // Null when there is none; valid until the settings change.
    const AgentSpec *agent(const std::string &name) const;
    const QueueSpec *queue(const std::string &name) const;
    // Where each name is in `agents` and `queues` (read_settings fills them
    // as it reads, and refuses a name declared twice by them).
    std::unordered_map<std::string, size_t> agent_index, queue_index;
};

// One member as written in a queue's `members` list (and on the console):
// "AGENT [tier=1-9] [order=N] [weight=N]". False when it is not that.
bool parse_member(const std::string &text, MemberSpec &out);

// "sales:5, english:3" (levels 0-100). False when it is not that.
bool parse_skills(const std::string &text, std::vector<acd::SkillLevel> &out);

// `get(key)` is the module's flat config look-up (NULL when absent).
// Returns false, with one line per problem in `errors`, when anything is wrong.
bool read_settings(const std::function<const char *(const std::string &)> &get, Settings &out,
                   std::vector<std::string> &errors);

} // namespace tandem::queue
