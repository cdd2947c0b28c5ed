#pragma once
// The console wire protocol over the UNIX control socket: the client sends
// one JSON line {"args": [...]} and reads one JSON line back,
// {"ok": bool, "text": "...human output...", "data": <structured output>}.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tandem::console {

struct Reply {
    bool ok = true;
    std::string text;
    nlohmann::json data;
};

// `json`: the client prints structured data (module commands get "--json").
std::string encode_request(const std::vector<std::string> &args, bool json = false);
bool decode_request(const std::string &line, std::vector<std::string> &args, std::string &error,
                    bool *json = nullptr);
std::string encode_reply(const Reply &reply);
bool decode_reply(const std::string &line, Reply &reply, std::string &error);

} // namespace tandem::console
