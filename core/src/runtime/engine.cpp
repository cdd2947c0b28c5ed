#include "runtime/engine.hpp"

#include "build_info.hpp"
#include "config/paths.hpp"
#include "console/server.hpp"
#include "log.hpp"
#include "lua/call_api.hpp"
#include "lua/lua_worker.hpp"
#include "lua/sandbox.hpp"
#include "media/audio_file.hpp"
#include "media/g711.hpp"
#include "media/prompt_loader.hpp"
#include "media/prompts.hpp"
#include "records/json_writer.hpp"
#include "records/service.hpp"
#include "runtime/call.hpp"
#include "runtime/ids.hpp"
#include "runtime/prompt_loading.hpp"
#include "runtime/worker.hpp"

#include <csignal>
#include <nlohmann/json.hpp>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace tandem {

namespace {
Engine *g_engine = nullptr;
}

Engine *Engine::current() { return g_engine; }
const char *Engine::version() { return build::version; }

Engine::Engine(Config config) : config_(std::move(config)) {
    g_engine = this;
    loader_ = std::make_unique<ModuleLoader>(*this);
    prompts_ = std::make_unique<media::PromptCache>();
    records_ = std::make_unique<records::Service>(*this);
}

Engine::~Engine() {
    stop();
    if (g_engine == this)
        g_engine = nullptr;
}

void Engine::register_builtins() {
    std::vector<std::string> names;
    for (const char *const *n = lua::builtin_method_names(); *n; ++n)
        names.emplace_back(*n);
    registry_.reserve_function_names(std::move(names));
    registry_.reserve_command_names(ConsoleServer::builtin_command_names());
    registry_.add_codec(nullptr, media::g711_ulaw_codec());
    registry_.add_codec(nullptr, media::g711_alaw_codec());
    registry_.add_file_format(nullptr, media::audio_file_format());
}

bool Engine::start(std::vector<std::string> &errors) {
    // Signals are taken by signalfd on the main thread; every thread started
    // from here on inherits the blocked mask.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    prompt_loader_ = std::make_unique<media::PromptLoader>(); // a thread: after the mask

    started_us_ = ids::now_us();
    for (auto *dir : {&config_.paths.data, &config_.paths.spool, &config_.paths.logs}) {
        std::string error;
        if (!paths::make_dirs(*dir, error))
            errors.push_back("cannot create directory " + error);
    }
    if (!errors.empty())
        return false;
    events_.start();
    register_builtins();
    records_->start();

    // Workers exist (not yet running) before modules load, so load() may
    // ask for worker_count() and post() to them.
    for (int i = 0; i < config_.workers; ++i)
        workers_.push_back(std::make_unique<Worker>(*this, i));
    loader_->set_search_path(config_.paths.modules);
    loader_->set_module_config(config_.module_config);
    if (loader_->load_all(config_.modules) != 0)
        log::warning("core", "some modules failed to load; see above");
    records_->start_delivery();
    // Each worker compiles the dialplan into its own Lua state.
    for (auto &w : workers_)
        if (!w->lua().load_dialplan(config_.dialplan, errors))
            return false;
    for (auto &w : workers_)
        w->start();
    preload_sounds(*this);

    console_ = std::make_unique<ConsoleServer>(*this);
    std::string error;
    if (!console_->listen(config_.paths.control_socket, error)) {
        errors.push_back(error);
        return false;
    }
    log::notice("core", "tandem {} instance '{}' started: {} workers, dialplan {}, console {}", version(),
                config_.instance, workers_.size(), config_.dialplan, config_.paths.control_socket);
    return true;
}

int Engine::run() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    main_reactor_.watch_fd(sfd, EPOLLIN, [this, sfd](uint32_t) {
        signalfd_siginfo info;
        while (::read(sfd, &info, sizeof info) == sizeof info) {
            if (info.ssi_signo == SIGHUP) {
                log::notice("core", "SIGHUP: reloading configuration and dialplan");
                std::vector<std::string> errors;
                if (!reload(errors))
                    for (auto &e : errors)
                        log::error("core", "reload: {}", e);
            } else {
                log::notice("core", "{}: shutting down", info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                request_shutdown();
            }
        }
    });
    console_->attach(main_reactor_);
    schedule_originates();
    main_reactor_.run();
    ::close(sfd);
    stop();
    return exit_code_;
}

void Engine::request_shutdown() {
    main_reactor_.post([this] {
        if (shutting_down_)
            return;
        shutting_down_ = true;
        accepting_ = false;
        shutdown_deadline_us_ = ids::now_us() + uint64_t(config_.shutdown_grace_s) * 1000000;
        log::notice("core", "no new calls; waiting up to {} s for {} running calls", config_.shutdown_grace_s,
                    stats().calls);
        shutdown_step();
    });
}

void Engine::shutdown_step() {
    size_t calls = stats().calls;
    if (calls == 0) {
        main_reactor_.stop();
        return;
    }
    uint64_t now = ids::now_us();
    if (now >= shutdown_deadline_us_) {
        if (shutdown_deadline_us_ != 0) {
            log::notice("core", "grace period over: hanging up {} calls", calls);
            for (auto &w : workers_)
                w->post([w = w.get()] {
                    std::vector<Call *> running;
                    for (auto &[_, c] : w->calls())
                        running.push_back(c.get());
                    for (auto *c : running)
                        c->hangup_all(TANDEM_CAUSE_NORMAL_CLEARING);
                });
            // Scripts' on_hangup hooks get two more seconds.
            shutdown_deadline_us_ = 0;
            main_reactor_.add_timer(std::chrono::seconds(2), [this] { main_reactor_.stop(); });
        }
    }
    main_reactor_.add_timer(std::chrono::milliseconds(100), [this] { shutdown_step(); });
}

void Engine::stop() {
    if (stopped_.exchange(true))
        return;
    if (console_)
        console_->close();
    if (prompt_loader_)
        prompt_loader_->stop(); // its jobs post to the workers
    for (auto &w : workers_)
        w->stop_and_join();
    workers_.clear();
    events_.flush();
    records_->stop();
    loader_->unload_all();
    events_.stop();
    log::notice("core", "stopped");
}

Ref<Leg> Engine::new_inbound_leg(tandem_module *module, const std::string &driver, const tandem_inbound &in,
                                 std::string &error) {
    if (!accepting_) {
        error = "the engine is shutting down";
        return nullptr;
    }
    if (config_.limits.max_calls && stats().calls >= config_.limits.max_calls) {
        error = "call limit reached (limits.max_calls)";
        return nullptr;
    }
    if (!records_->admit(error))
        return nullptr;
    auto snapshot = registry_.snapshot();
    auto it = snapshot->channels.find(driver);
    if (it == snapshot->channels.end() || it->second.owner.get() != module) {
        error = "driver '" + driver + "' is not registered by this module";
        return nullptr;
    }
    ModuleUse use = ModuleUse::acquire(module);
    if (!use) {
        error = "module is unloading";
        return nullptr;
    }
    int index = in.worker >= 0 && in.worker < worker_count()
                    ? in.worker
                    : next_worker_.fetch_add(1, std::memory_order_relaxed) % worker_count();
    Worker &w = *workers_[static_cast<size_t>(index)];
    std::string call_id = ids::next_call_id();
    std::string linked = in.linked_id && *in.linked_id ? in.linked_id : call_id;
    Ref<Leg> leg(new Leg(w, ids::next_leg_id(call_id, 1), call_id, linked, Direction::inbound, it->second,
                         std::move(use)));
    leg->context = in.context ? in.context : "default";
    leg->exten = in.exten ? in.exten : "";
    leg->caller_num = in.caller_num ? in.caller_num : "";
    leg->caller_name = in.caller_name ? in.caller_name : "";
    leg->name = driver + "/" + leg->exten + "@" + leg->context;
    if (in.format && *in.format)
        leg->set_format(media::intern_format(in.format));
    if (in.struct_size >= offsetof(tandem_inbound, pvt) + sizeof(void *))
        leg->pvt = in.pvt;
    if (in.struct_size >= offsetof(tandem_inbound, inherit_from) + sizeof(void *) && in.inherit_from) {
        const Leg *parent = Leg::from(in.inherit_from);
        leg->vars = parent->vars;
        if (leg->caller_num.empty())
            leg->caller_num = parent->caller_num;
        if (leg->caller_name.empty())
            leg->caller_name = parent->caller_name;
    }
    // The call starts on its worker, never inside the caller's stack.
    w.post([leg, &w] {
        auto call = std::make_unique<Call>(w, leg->call_id, leg->linked_id, leg);
        Call &c = w.add_call(std::move(call));
        w.engine().records().call_started(c);
        if (w.engine().events().wants(EventType::call_start))
            w.engine().events().publish(make_event(EventType::call_start, c.id, leg->id, c.linked_id)
                                            .with("channel", leg->name)
                                            .with("exten", leg->exten)
                                            .with("context", leg->context)
                                            .with("caller_num", leg->caller_num));
        if (leg->state() == LegState::hungup) {
            c.script_done = true;
            c.maybe_finish();
            return;
        }
        w.lua().start(c, leg->context, leg->exten);
    });
    return leg;
}

std::string Engine::originate(const std::string &dest, const std::string &exten, const std::string &context,
                              const std::map<std::string, std::string> &vars, std::string &error,
                              OriginateRefusal *why) {
    auto refuse = [&](OriginateRefusal refusal, std::string reason) {
        if (!reason.empty())
            error = std::move(reason);
        if (why)
            *why = refusal;
        return std::string();
    };
    if (!accepting_)
        return refuse(OriginateRefusal::unavailable, "the engine is shutting down");
    if (config_.limits.max_calls && stats().calls >= config_.limits.max_calls)
        return refuse(OriginateRefusal::unavailable, "call limit reached (limits.max_calls)");
    if (!records_->admit(error))
        return refuse(OriginateRefusal::unavailable, ""); // admit() said why
    auto slash = dest.find('/');
    if (slash == std::string::npos || slash == 0)
        return refuse(OriginateRefusal::bad_destination, "destination must be DRIVER/WHERE, e.g. local/100@demo");
    std::string driver = dest.substr(0, slash);
    if (!registry_.snapshot()->channels.count(driver))
        return refuse(OriginateRefusal::no_driver, "no channel driver '" + driver + "'");
    Worker &w = *workers_[static_cast<size_t>(next_worker_.fetch_add(1) % worker_count())];
    std::string call_id = ids::next_call_id();
    w.post([&w, call_id, dest, driver, slash, exten, context, vars] {
        std::string err;
        auto snapshot = w.engine().registry().snapshot();
        auto it = snapshot->channels.find(driver);
        ModuleUse use = it == snapshot->channels.end() ? ModuleUse() : ModuleUse::acquire(it->second.owner.get());
        if (it == snapshot->channels.end() || !use) {
            log::at(log::Level::warning, "core", call_id, "originate {}: driver gone", dest);
            return;
        }
        Ref<Leg> leg(new Leg(w, ids::next_leg_id(call_id, 1), call_id, call_id, Direction::outbound, it->second,
                             std::move(use)));
        leg->name = dest;
        leg->exten = exten;
        leg->context = context;
        leg->vars.insert(vars.begin(), vars.end());
        leg->vars["originated"] = "true";
        Call &c = w.add_call(std::make_unique<Call>(w, call_id, call_id, leg));
        w.engine().records().call_started(c);
        w.engine().events().publish(make_event(EventType::call_start, c.id, leg->id, c.linked_id)
                                        .with("channel", dest)
                                        .with("exten", exten)
                                        .with("context", context)
                                        .with("originated", "true"));
        log::at(log::Level::info, "core", call_id, "originate: calling {}, then {}@{}", dest, exten, context);
        // When it answers, the answered leg runs the dialplan (Call::on_leg_state).
        c.start_on_answer = true;
        int rc = leg->request(dest.substr(slash + 1));
        if (rc > 0)
            leg->remote_hangup(rc);
    });
    return call_id;
}

void Engine::schedule_originates() {
    for (size_t i = 0; i < config_.originate.size(); ++i)
        main_reactor_.add_timer(std::chrono::seconds(config_.originate[i].delay_s), [this, i] { fire_originate(i); });
}

void Engine::fire_originate(size_t index) {
    if (!accepting_)
        return;
    const OriginateSpec &spec = config_.originate[index];
    std::string error;
    if (originate(spec.dest, spec.exten, spec.context.empty() ? "default" : spec.context, spec.vars, error).empty())
        log::warning("core", "originate {}: {}", spec.dest, error);
    if (spec.every_s)
        main_reactor_.add_timer(std::chrono::seconds(spec.every_s), [this, index] { fire_originate(index); });
}

bool Engine::check_dialplan(const std::string &file, std::vector<std::string> &errors) {
    // A throwaway Lua state with the same sandbox and call API as a worker's.
    lua_State *L = luaL_newstate();
    lua::open_base_libraries(L);
    lua::register_call_api(L, nullptr);
    bool ok;
    {
        dialplan::Generation gen(L, 0);
        ok = gen.load(file, errors);
    }
    lua_close(L);
    return ok;
}

bool Engine::reload(std::vector<std::string> &errors) {
    ConfigOverrides keep = config_.log_overrides;
    if (config_.dialplan_from_command_line)
        keep.dialplan = config_.dialplan; // so a tandem.lua naming no file still validates
    auto fresh = load_config(config_.file, keep, errors);
    if (!fresh)
        return false;
    // Paths given on the command line stay; the dialplan file and limits reload.
    std::string dialplan = config_.dialplan_from_command_line ? config_.dialplan : fresh->dialplan;
    if (!check_dialplan(dialplan, errors))
        return false;
    config_.limits = fresh->limits;
    config_.module_config = fresh->module_config;
    loader_->set_module_config(fresh->module_config); // `module reload NAME` applies it
    config_.log = fresh->log;
    log::Options opts = log::options();
    opts.level = fresh->log.level;
    opts.json = fresh->log.json;
    log::configure(opts);
    config_.dialplan = dialplan;
    for (auto &w : workers_) {
        Limits limits = config_.limits;
        w->post([w = w.get(), dialplan, limits] {
            std::vector<std::string> errs;
            w->lua().set_limits(limits);
            if (!w->lua().load_dialplan(dialplan, errs))
                for (auto &e : errs)
                    log::error("core", "worker {} reload: {}", w->index(), e);
        });
    }
    prompts_->clear();
    preload_sounds(*this);
    log::notice("core", "dialplan {} reloaded; running calls finish on their old code", dialplan);
    events_.publish(make_event(EventType::dialplan).with("action", "reload").with("file", dialplan));
    return true;
}

void Engine::call_ended(Call &call) {
    Leg &ch = *call.channel;
    std::string cdr = records_->call_ended(call);
    log::at(log::Level::info, "core", call.id, "call ended: {} ({}), {} legs", cause_name(ch.cause()), ch.cause(),
            call.legs.size());
    if (!events_.wants(EventType::call_end))
        return;
    // Live observers also see every channel variable and where the dialplan
    // left the call; the stored record keeps only records.variables.
    records::JsonWriter w(cdr);
    w.reopen_object().key("vars").begin_object();
    for (auto &[name, value] : ch.vars)
        w.field(name, value);
    w.end_object().field("exten", ch.exten).field("channel", ch.name).end_object();
    events_.publish(make_event(EventType::call_end, call.id, ch.id, call.linked_id)
                        .with("cause", std::to_string(ch.cause()))
                        .with("cause_name", cause_name(ch.cause()))
                        .with("cdr", std::move(cdr)));
}

uint32_t Engine::codec_rate(media::FormatId format) {
    if (uint32_t r = media::linear_rate(format))
        return r;
    std::string name = media::format_name(format);
    for (auto &c : registry_.snapshot()->codecs)
        if (name == c.desc->name)
            return c.desc->sample_rate;
    return 8000;
}

EngineStats Engine::stats() {
    EngineStats s;
    for (auto &w : workers_) {
        s.calls += w->call_count();
        s.calls_total += w->calls_total();
    }
    s.workers = worker_count();
    s.uptime_s = (ids::now_us() - started_us_) / 1000000;
    s.accepting = accepting_;
    return s;
}

} // namespace tandem
