#pragma once
// Console commands that need workers' data: ask every worker, wait a bounded
// time for each, and the built-in commands kept in files of their own.
#include "console/protocol.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tandem {
class Engine;
class Worker;
}

namespace tandem::console {

// Runs fn on every worker and concatenates the arrays it returns (bounded
// wait: a stuck worker must not hang the console).
nlohmann::json on_every_worker(Engine &engine, const std::function<nlohmann::json(Worker &)> &fn);

// "CMD" or "CMD list": the listing form of a command with sub-commands.
inline bool asks_for_list(const std::vector<std::string> &args) {
    return args.size() == 1 || (args.size() == 2 && args[1] == "list");
}

// `spy [list | mode ID MODE | stop ID]` (console/spy_command.cpp).
Reply cmd_spy(Engine &engine, const std::vector<std::string> &args);
// `conference [list | kick|mute|unmute ROOM ID]` (console/conference_command.cpp).
Reply cmd_conference(Engine &engine, const std::vector<std::string> &args);

} // namespace tandem::console
