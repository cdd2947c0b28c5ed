#pragma once
// Logging: one formatted line per write(2), so threads never share a lock;
// every call-related line carries the call id. Text or JSON lines.
#include <fmt/format.h>
#include <string>
#include <string_view>

namespace tandem::log {

enum class Level { debug = 0, info = 1, notice = 2, warning = 3, error = 4 };

struct Options {
    Level level = Level::info;
    bool json = false;
    int fd = 2; // stderr unless a log file is configured
};

void configure(const Options &options);
const Options &options();
bool parse_level(std::string_view name, Level &out);
const char *level_name(Level level);
inline bool enabled(Level level) { return level >= options().level; }

// `source` names the subsystem or module ("core", "lua", "local"...).
void write(Level level, std::string_view source, std::string_view call_id, std::string_view message);

template <typename... Args>
void at(Level level, std::string_view source, std::string_view call_id, fmt::format_string<Args...> f,
        Args &&...args) {
    if (enabled(level))
        write(level, source, call_id, fmt::format(f, std::forward<Args>(args)...));
}

#define TANDEM_LOG_FN(NAME, LEVEL)                                                                   \
    template <typename... Args> void NAME(std::string_view source, fmt::format_string<Args...> f, Args &&...args) { \
        at(Level::LEVEL, source, {}, f, std::forward<Args>(args)...);                                \
    }
TANDEM_LOG_FN(debug, debug)
TANDEM_LOG_FN(info, info)
TANDEM_LOG_FN(notice, notice)
TANDEM_LOG_FN(warning, warning)
TANDEM_LOG_FN(error, error)
#undef TANDEM_LOG_FN

} // namespace tandem::log
