// tandem — the engine binary: run an instance, check a configuration, or
// talk to a running instance (`tandem ctl`).
#include "config/config.hpp"
#include "config/paths.hpp"
#include "console/client.hpp"
#include "log.hpp"
#include "runtime/engine.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

namespace {

// A bridged SIP call holds 4 descriptors (two legs, RTP and RTCP each), so
// the usual soft limit of 1024 would cap an instance near 250 calls: take
// the hard limit, which only an administrator can raise further.
void raise_descriptor_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max)
        return;
    rlim_t was = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
        tandem::log::info("core", "open files limit raised from {} to {} (the hard limit)", was, lim.rlim_max);
}

void add_path_options(CLI::App &app, tandem::ConfigOverrides &o) {
    app.add_option("--module-dir", o.module_dirs, "Extra directory to search for modules (repeatable; searched first)");
    app.add_option("--data-dir", o.data_dir, "Instance data directory (default: from config, else per instance)");
    app.add_option("--spool-dir", o.spool_dir, "Record spool directory (default: DATA/spool)");
    app.add_option("--recordings-dir", o.recordings_dir, "Recordings directory (default: DATA/recordings)");
    app.add_option("--log-dir", o.log_dir, "Log directory (default: DATA/logs)");
    app.add_option("--sounds-dir", o.sounds_dir, "Prompt directory (default: the shipped sounds)");
    app.add_option("--control-socket", o.control_socket, "Console socket (default: DATA/tandem.ctl)");
    app.add_option("--dialplan", o.dialplan, "Dialplan file (default: from config)");
}

// glibc hands the free top of each thread's heap back to the kernel
// (mprotect, madvise) and asks for it again on the next allocation burst;
// under call load that churn was ~5% of the SIP thread's CPU and more of the
// workers' (perf during bench/sip_setup.py). Keep some slack instead: pages
// that are never touched cost no memory.
void keep_heap_slack() {
    mallopt(M_TOP_PAD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

int run_engine(const std::string &config_file, const tandem::ConfigOverrides &overrides) {
    std::vector<std::string> errors;
    auto config = tandem::load_config(config_file, overrides, errors);
    if (!config) {
        for (auto &e : errors)
            std::fprintf(stderr, "tandem: %s\n", e.c_str());
        return 1;
    }
    tandem::log::Options opts = config->log;
    if (!config->log_file.empty()) {
        std::string err;
        tandem::paths::make_dirs(config->paths.logs, err);
        int fd = ::open(config->log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0) {
            std::fprintf(stderr, "tandem: cannot open log file %s\n", config->log_file.c_str());
            return 1;
        }
        opts.fd = fd;
    }
    tandem::log::configure(opts);
    raise_descriptor_limit();
    keep_heap_slack();
    tandem::Engine engine(std::move(*config));
    if (!engine.start(errors)) {
        for (auto &e : errors)
            tandem::log::error("core", "{}", e);
        engine.stop();
        return 1;
    }
    return engine.run();
}

int check(const std::string &config_file, const tandem::ConfigOverrides &overrides) {
    std::vector<std::string> errors;
    auto config = tandem::load_config(config_file, overrides, errors);
    if (config)
        tandem::Engine::check_dialplan(config->dialplan, errors);
    for (auto &e : errors)
        std::fprintf(stderr, "%s\n", e.c_str());
    if (!errors.empty()) {
        std::fprintf(stderr, "tandem check: %zu error%s\n", errors.size(), errors.size() == 1 ? "" : "s");
        return 1;
    }
    std::printf("tandem check: %s and %s are valid\n", config->file.c_str(), config->dialplan.c_str());
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    CLI::App app{"Tandem telephony engine: a core of modules, every call routed by a Lua dialplan.\n"
                 "Without a subcommand, runs an instance in the foreground (SIGTERM: graceful stop; SIGHUP: reload)."};
    app.set_version_flag("--version", std::string("tandem ") + tandem::Engine::version());
    std::string config_file = tandem::paths::default_config_file();
    tandem::ConfigOverrides overrides;
    int workers = -1;
    std::string log_level;
    bool log_json = false;
    app.add_option("-c,--config", config_file, "Instance configuration (tandem.lua)")->capture_default_str();
    app.add_option("--workers", workers, "Worker threads (default: config, else one per core)");
    app.add_option("--log-level", log_level, "debug, info, notice, warning or error");
    app.add_flag("--log-json", log_json, "Log JSON lines instead of text");
    add_path_options(app, overrides);

    auto *check_cmd = app.add_subcommand("check", "Validate the configuration and dialplan, report every error with "
                                                  "FILE:LINE, start nothing; exit 1 on errors");
    auto *ctl_cmd = app.add_subcommand("ctl", "Send a command to a running instance (try: tandem ctl help)");
    std::string socket_path;
    bool json_output = false;
    std::vector<std::string> ctl_args;
    ctl_cmd->add_option("-s,--socket", socket_path, "Control socket (default: the one the config names)");
    ctl_cmd->add_flag("--json", json_output, "Print the reply as JSON");
    ctl_cmd->add_option("command", ctl_args, "Command and arguments")->required();
    ctl_cmd->prefix_command(false);
    // `tandem check -c FILE`, `tandem ctl -c FILE ...`: global options after the subcommand.
    check_cmd->fallthrough();
    ctl_cmd->fallthrough();
    ctl_cmd->positionals_at_end();

    CLI11_PARSE(app, argc, argv);
    if (workers >= 0)
        overrides.workers = workers;
    if (!log_level.empty())
        overrides.log_level = log_level;
    if (log_json)
        overrides.log_json = true;

    if (*ctl_cmd) {
        // Accept --json after the command too (`tandem ctl calls --json`).
        if (auto it = std::find(ctl_args.begin(), ctl_args.end(), "--json"); it != ctl_args.end()) {
            json_output = true;
            ctl_args.erase(it);
        }
        if (socket_path.empty()) {
            if (const char *env = std::getenv("TANDEM_CTL_SOCKET"); env && *env) {
                socket_path = env;
            } else {
                std::vector<std::string> errors;
                auto config = tandem::load_config(config_file, overrides, errors);
                if (!config) {
                    for (auto &e : errors)
                        std::fprintf(stderr, "tandem ctl: %s\n", e.c_str());
                    return 2;
                }
                socket_path = config->paths.control_socket;
            }
        }
        return tandem::console::run_client(socket_path, ctl_args, json_output);
    }
    if (*check_cmd)
        return check(config_file, overrides);
    return run_engine(config_file, overrides);
}
