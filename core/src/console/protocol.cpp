#include "console/protocol.hpp"

namespace tandem::console {

using nlohmann::json;

std::string encode_request(const std::vector<std::string> &args, bool want_json) {
    json j = {{"args", args}};
    if (want_json)
        j["json"] = true;
    return j.dump() + "\n";
}

bool decode_request(const std::string &line, std::vector<std::string> &args, std::string &error, bool *want_json) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("args") || !j["args"].is_array()) {
        error = "malformed request: expected {\"args\": [...]}";
        return false;
    }
    for (auto &a : j["args"]) {
        if (!a.is_string()) {
            error = "malformed request: arguments must be strings";
            return false;
        }
        args.push_back(a.get<std::string>());
    }
    if (want_json) {
        auto it = j.find("json");
        *want_json = it != j.end() && it->is_boolean() && it->get<bool>();
    }
    return true;
}

std::string encode_reply(const Reply &reply) {
    json j = {{"ok", reply.ok}, {"text", reply.text}};
    if (!reply.data.is_null())
        j["data"] = reply.data;
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

bool decode_reply(const std::string &line, Reply &reply, std::string &error) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        error = "malformed reply from the engine";
        return false;
    }
    // Found by fuzz_console: value() throws when a field has another type.
    auto ok = j.find("ok");
    auto text = j.find("text");
    if (ok == j.end() || !ok->is_boolean() || (text != j.end() && !text->is_string())) {
        error = "malformed reply from the engine";
        return false;
    }
    reply.ok = ok->get<bool>();
    reply.text = text == j.end() ? "" : text->get<std::string>();
    if (j.contains("data"))
        reply.data = j["data"];
    return true;
}

} // namespace tandem::console
