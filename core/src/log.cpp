#include "log.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <unistd.h>

namespace tandem::log {
namespace {
Options g_options;

std::string timestamp() {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto us = duration_cast<microseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
}
} // namespace

void configure(const Options &options) { g_options = options; }
const Options &options() { return g_options; }

const char *level_name(Level level) {
    switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::notice: return "notice";
    case Level::warning: return "warning";
    case Level::error: return "error";
    }
    return "info";
}

bool parse_level(std::string_view name, Level &out) {
    for (auto l : {Level::debug, Level::info, Level::notice, Level::warning, Level::error})
        if (name == level_name(l)) {
            out = l;
            return true;
        }
    return false;
}

void write(Level level, std::string_view source, std::string_view call_id, std::string_view message) {
    std::string line;
    if (g_options.json) {
        nlohmann::json j = {{"ts", timestamp()}, {"level", level_name(level)}, {"source", source}, {"msg", message}};
        if (!call_id.empty())
            j["call_id"] = call_id;
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else if (call_id.empty()) {
        line = fmt::format("{} {:<7} [{}] {}", timestamp(), level_name(level), source, message);
    } else {
        line = fmt::format("{} {:<7} [{}] [{}] {}", timestamp(), level_name(level), source, call_id, message);
    }
    line.push_back('\n');
    // One write per line: lines from different threads never interleave.
    ssize_t rc = ::write(g_options.fd, line.data(), line.size());
    (void)rc;
}

} // namespace tandem::log
