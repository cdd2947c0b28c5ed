// libFuzzer: what an operator types into the queue module (modules/queue):
// a member spec ("alice tier=2"), a service-level target ("80/20"), and a
// configuration (the input read as KEY=VALUE lines, as tandem.lua's
// flattened module_config reaches the module). Each is parsed or refused,
// and what is accepted stays in its documented range.
#include "acd/erlang_c.hpp"
#include "queue_settings.hpp"

#include <cstdint>
#include <map>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string text(reinterpret_cast<const char *>(data), size);
    tandem::queue::MemberSpec member;
    if (tandem::queue::parse_member(text, member) &&
        (member.agent.empty() || member.membership.tier < 1 || member.membership.tier > 9 || member.membership.weight < 1))
        __builtin_trap();
    if (auto sl = tandem::acd::parse_service_level(text); sl && !(sl->first > 0 && sl->first < 1 && sl->second >= 0))
        __builtin_trap();
    std::map<std::string, std::string> config;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        if (auto eq = line.find('='); eq != std::string::npos) config[line.substr(0, eq)] = line.substr(eq + 1);
        start = end + 1;
    }
    auto get = [&config](const std::string &key) -> const char * {
        auto it = config.find(key);
        return it == config.end() ? nullptr : it->second.c_str();
    };
    tandem::queue::Settings settings;
    std::vector<std::string> errors;
    if (tandem::queue::read_settings(get, settings, errors)) {
        for (const auto &q : settings.queues)
            if (q.config.ring_timeout < 1000 || q.config.name.empty()) __builtin_trap();
    } else if (errors.empty()) {
        __builtin_trap(); // a refusal always says why
    }
    return 0;
}
