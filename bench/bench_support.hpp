#pragma once
// What the in-process engine benchmarks share: an instance's configuration
// in a directory of its own, a channel driver that sends nothing (it
// isolates the engine's cost from the network's) and the calling thread's
// CPU clock.
#include "config/config.hpp"
#include "tandem/module.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <time.h>
#include <vector>

namespace bench {

inline int sink_request(void *, tandem_leg *, const char *) { return TANDEM_OK; }
inline void sink_hangup(void *, tandem_leg *, int) {}

// A driver named "bench" whose write_frame is `write`.
constexpr tandem_channel_driver sink_driver(int (*write)(void *, tandem_leg *, const tandem_frame *)) {
    return {sizeof(tandem_channel_driver), "bench", "benchmark sink", nullptr, sink_request, nullptr, nullptr,
            sink_hangup, write};
}

// Writes tandem.lua and dialplan.lua into `dir` and loads the configuration
// (data under dir/data); exits with the reason when it does not load.
inline tandem::Config load_instance(const std::string &dir, const std::string &tandem_lua,
                                    const std::string &dialplan) {
    std::ofstream(dir + "/dialplan.lua") << dialplan;
    std::ofstream(dir + "/tandem.lua") << tandem_lua;
    std::vector<std::string> errors;
    tandem::ConfigOverrides o;
    o.data_dir = dir + "/data";
    auto config = tandem::load_config(dir + "/tandem.lua", o, errors);
    if (!config) {
        std::fprintf(stderr, "%s\n", errors.front().c_str());
        std::exit(1);
    }
    return std::move(*config);
}

inline double thread_cpu_us() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

} // namespace bench
