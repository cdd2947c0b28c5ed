#pragma once
// The engine: owns the workers, the module loader and registry, the event
// bus, the records service and the console. One engine per process (modules
// reach it through the host table, which has no context argument).
#include "config/config.hpp"
#include "media/formats.hpp"
#include "media/shared_stream.hpp"
#include "modules/loader.hpp"
#include "modules/registry.hpp"
#include "runtime/events.hpp"
#include "runtime/reactor.hpp"
#include "runtime/ref.hpp"
#include "tandem/module.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tandem {

class Worker;
class Call;
class Leg;
class ConsoleServer;
namespace media {
class PromptCache;
class PromptLoader;
}
namespace records {
class Service;
}

struct EngineStats {
    size_t calls = 0;
    uint64_t calls_total = 0;
    uint64_t lua_bytes = 0;
    int workers = 0;
    uint64_t uptime_s = 0;
    bool accepting = true;
};

class Engine {
public:
    explicit Engine(Config config);
    ~Engine();
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;

    static Engine *current();
    static const char *version();

    // Loads modules and dialplans and starts the workers. False with the
    // reasons in `errors` (one line each) when the instance cannot run.
    bool start(std::vector<std::string> &errors);
    // Main thread: serves the console and signals until shutdown completes.
    // Returns the process exit code.
    int run();
    // Any thread: begin a graceful shutdown (as SIGTERM does).
    void request_shutdown();
    // Stops workers and modules (idempotent; run() calls it).
    void stop();

    const Config &config() const { return config_; }
    Registry &registry() { return registry_; }
    EventBus &events() { return events_; }
    ModuleLoader &modules() { return *loader_; }
    media::PromptCache &prompts() { return *prompts_; }
    // Shared streams modules feed (music on hold), by name.
    media::StreamDirectory &streams() { return streams_; }
    records::Service &records() { return *records_; }
    // Decodes prompts off the workers (runtime/prompt_loading.hpp); exists from start().
    media::PromptLoader &prompt_loader() { return *prompt_loader_; }
    Reactor &main_reactor() { return main_reactor_; }
    int worker_count() const { return static_cast<int>(workers_.size()); }
    Worker &worker(int i) { return *workers_.at(static_cast<size_t>(i)); }
    bool accepting_calls() const { return accepting_.load(); }

    // Any thread: a new inbound leg from `driver`; its call starts on the
    // chosen worker. Null when refused (stopping, limit, unknown driver).
    Ref<Leg> new_inbound_leg(tandem_module *module, const std::string &driver, const tandem_inbound &in,
                             std::string &error);
    // Why originate() refused: new calls not taken now (stopping, the call
    // limit, an unwritable record spool), a destination that is not
    // DRIVER/WHERE, or no channel driver of that name.
    enum class OriginateRefusal { unavailable, bad_destination, no_driver };
    // Any thread: call `dest`; when it answers, that leg runs the dialplan at
    // exten@context. Returns the new call id, or "" with `error` (and `why`).
    std::string originate(const std::string &dest, const std::string &exten, const std::string &context,
                          const std::map<std::string, std::string> &vars, std::string &error,
                          OriginateRefusal *why = nullptr);

    // Main thread: re-read tandem.lua's reloadable settings and the dialplan.
    bool reload(std::vector<std::string> &errors);
    // Check a dialplan file the same way reload would, without using it.
    static bool check_dialplan(const std::string &file, std::vector<std::string> &errors);

    // Worker thread: the call ended; publishes call_end with its CDR.
    void call_ended(Call &call);
    uint32_t codec_rate(media::FormatId format);
    EngineStats stats();

private:
    void register_builtins();
    void schedule_originates();
    void fire_originate(size_t index);
    void shutdown_step();

    Config config_;
    Registry registry_;
    EventBus events_;
    media::StreamDirectory streams_; // outlives the modules that feed it and the workers that play it
    std::unique_ptr<ModuleLoader> loader_;
    std::unique_ptr<media::PromptCache> prompts_;
    std::unique_ptr<records::Service> records_;
    std::unique_ptr<media::PromptLoader> prompt_loader_;
    std::unique_ptr<ConsoleServer> console_;
    std::vector<std::unique_ptr<Worker>> workers_;
    Reactor main_reactor_;
    std::atomic<bool> accepting_{true};
    std::atomic<bool> stopped_{false};
    std::atomic<int> next_worker_{0};
    std::atomic<uint64_t> started_us_{0};
    uint64_t shutdown_deadline_us_ = 0;
    bool shutting_down_ = false;
    int exit_code_ = 0;
};

} // namespace tandem
