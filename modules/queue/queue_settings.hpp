// The queue module's configuration: module_config.queue in tandem.lua, read
// into what the ACD takes. Times are written in seconds (decimals allowed).
// Every error names the key it is about, e.g. "queues[2].strategy: ...".
#pragma once

#include "acd/acd.hpp"

#include <functional>
#include <string>
#include <vector>

namespace tandem::queue {

struct MemberSpec {
    std::string agent;
    acd::Membership membership;
};

struct QueueSpec {
    acd::QueueConfig config;
    std::vector<MemberSpec> members;
};

struct AgentSpec {
    acd::AgentConfig config;
    std::string contact; // dial string of the agent's phone, e.g. "sip/1001"
    bool login = false;  // logged in when the module starts
};

struct Settings {
    std::vector<QueueSpec> queues;
    std::vector<AgentSpec> agents;
    int stats_interval_s = 0; // publish each queue's queue_stats event this often; 0: never
};

// One member as written in a queue's `members` list (and on the console):
// "AGENT [tier=1-9] [order=N] [weight=N]". False when it is not that.
bool parse_member(const std::string &text, MemberSpec &out);

// `get(key)` is the module's flat config look-up (NULL when absent).
// Returns false, with one line per problem in `errors`, when anything is wrong.
bool read_settings(const std::function<const char *(const std::string &)> &get, Settings &out,
                   std::vector<std::string> &errors);

} // namespace tandem::queue
