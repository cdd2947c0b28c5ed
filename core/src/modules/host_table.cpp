#include "modules/host_table.hpp"

#include "records/service.hpp"

#include "console/server.hpp"
#include "log.hpp"
#include "lua/call_ops.hpp"
#include "lua/lua_worker.hpp"
#include "modules/invocation.hpp"
#include "modules/invocation_control.hpp"
#include "modules/loader.hpp"
#include "runtime/bridge.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/ids.hpp"
#include "runtime/taps.hpp"
#include "runtime/worker.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <algorithm>

// What a module holds for an open stream (ABI 1.3).
struct tandem_stream {
    std::shared_ptr<tandem::media::SharedStream> stream;
};

namespace tandem {
namespace {

Engine &engine() { return *Engine::current(); }

// The owner handle as the registry wants it (shared, so snapshots keep it).
std::shared_ptr<tandem_module> owner_of(tandem_module *self) { return engine().modules().find(self->name); }

bool may_register(tandem_module *self) {
    if (self && self->loading)
        return true;
    log::error(self ? self->name : "?", "registration outside load()/reload() refused");
    return false;
}

// The format comes from the module, checked there by TANDEM_PRINTF.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wformat-nonliteral"
#endif
void h_log(tandem_module *self, int level, const char *call_id, const char *fmt, ...) {
    auto lvl = static_cast<log::Level>(level < 0 ? 0 : level > 4 ? 4 : level);
    if (!log::enabled(lvl))
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log::write(lvl, self ? self->name : "module", call_id ? call_id : "", buf);
}

const char *h_config_get(tandem_module *self, const char *key) {
    auto it = self->config.find(key);
    return it == self->config.end() ? nullptr : it->second.c_str();
}

const char *h_module_name(tandem_module *self) { return self->name.c_str(); }

#define REGISTER(FN, TYPE, METHOD)                                                                                   \
    int FN(tandem_module *self, const TYPE *desc) {                                                                  \
        if (!may_register(self))                                                                                     \
            return TANDEM_EBUSY;                                                                                     \
        int rc = engine().registry().METHOD(owner_of(self), desc);                                                   \
        if (rc != TANDEM_OK)                                                                                         \
            log::error(self->name, "cannot register {} '{}': {}", #TYPE, desc && desc->name ? desc->name : "?",      \
                       rc == TANDEM_EEXIST ? "the name is taken" : "malformed descriptor");                          \
        return rc;                                                                                                   \
    }
REGISTER(h_register_channel, tandem_channel_driver, add_channel)
REGISTER(h_register_function, tandem_function, add_function)
REGISTER(h_register_codec, tandem_codec, add_codec)
REGISTER(h_register_file_format, tandem_file_format, add_file_format)
REGISTER(h_register_cdr_sink, tandem_cdr_sink, add_cdr_sink)
REGISTER(h_register_console_command, tandem_console_command, add_command)
#undef REGISTER

int h_subscribe(tandem_module *self, const tandem_event_subscriber *sub) {
    if (!may_register(self))
        return TANDEM_EBUSY;
    if (!sub || sub->struct_size < offsetof(tandem_event_subscriber, on_event) + sizeof(void *) || !sub->on_event)
        return TANDEM_EINVAL;
    uint64_t id = engine().events().subscribe(sub->type_mask, [sub](const Event &e) {
        std::vector<tandem_field> fields;
        fields.reserve(e.fields.size());
        for (auto &[k, v] : e.fields)
            fields.push_back({k.c_str(), v.c_str()});
        tandem_event ev{sizeof(tandem_event), static_cast<uint32_t>(e.type), e.name.c_str(), e.timestamp_us,
                        e.call_id.c_str(), e.leg_id.c_str(), e.linked_id.c_str(), fields.size(), fields.data()};
        sub->on_event(sub->user, &ev);
    });
    self->subscriptions.push_back(id);
    return TANDEM_OK;
}

int h_worker_count() { return engine().worker_count(); }

int h_post(tandem_module *self, int worker, tandem_task_fn fn, void *arg) {
    if (worker < 0 || worker >= engine().worker_count() || !fn)
        return TANDEM_EINVAL;
    ModuleUse use = ModuleUse::acquire(self);
    if (!use)
        return TANDEM_EBUSY;
    auto shared_use = std::make_shared<ModuleUse>(std::move(use));
    return engine().worker(worker).post([fn, arg, shared_use] { fn(arg); }) ? TANDEM_OK : TANDEM_EBUSY;
}

Worker *current_worker() {
    Engine &e = engine();
    for (int i = 0; i < e.worker_count(); ++i)
        if (e.worker(i).reactor().in_loop_thread())
            return &e.worker(i);
    return nullptr;
}

uint64_t h_timer_start(tandem_module *self, uint32_t ms, tandem_task_fn fn, void *arg) {
    Worker *w = current_worker();
    if (!w || !fn)
        return 0;
    ModuleUse use = ModuleUse::acquire(self);
    if (!use)
        return 0;
    auto shared_use = std::make_shared<ModuleUse>(std::move(use));
    return w->reactor().add_timer(std::chrono::milliseconds(ms), [fn, arg, shared_use] { fn(arg); });
}

void h_timer_cancel(tandem_module *, uint64_t id) {
    if (Worker *w = current_worker())
        w->reactor().cancel_timer(id);
}

tandem_leg *h_leg_new_inbound(tandem_module *self, const char *driver, const tandem_inbound *in) {
    if (!driver || !in || in->struct_size < offsetof(tandem_inbound, linked_id) + sizeof(void *))
        return nullptr;
    std::string error;
    Ref<Leg> leg = engine().new_inbound_leg(self, driver, *in, error);
    if (!leg) {
        log::warning(self->name, "inbound call refused: {}", error);
        return nullptr;
    }
    return leg.release()->abi();
}

void h_leg_ref(tandem_leg *leg) { Leg::from(leg)->ref(); }
void h_leg_unref(tandem_leg *leg) { Leg::from(leg)->unref(); }

int h_leg_post(tandem_leg *l, void (*fn)(tandem_leg *, void *), void *arg) {
    Ref<Leg> leg(Leg::from(l));
    return leg->worker.post([leg, fn, arg] { fn(leg->abi(), arg); }) ? TANDEM_OK : TANDEM_EBUSY;
}

const char *h_leg_id(const tandem_leg *leg) { return Leg::from(leg)->id.c_str(); }
const char *h_leg_call_id(const tandem_leg *leg) { return Leg::from(leg)->call_id.c_str(); }
const char *h_leg_linked_id(const tandem_leg *leg) { return Leg::from(leg)->linked_id.c_str(); }
int h_leg_worker(const tandem_leg *leg) { return Leg::from(leg)->worker.index(); }
int h_leg_state(const tandem_leg *leg) { return static_cast<int>(Leg::from(leg)->state()); }

int h_leg_set_state(tandem_leg *l, int state) {
    Leg *leg = Leg::from(l);
    if (leg->state() == LegState::hungup)
        return TANDEM_EGONE;
    if (state < TANDEM_LEG_RINGING || state > TANDEM_LEG_UP)
        return TANDEM_EINVAL;
    leg->set_state(static_cast<LegState>(state));
    return TANDEM_OK;
}

int h_leg_hangup(tandem_leg *l, int cause) {
    Leg *leg = Leg::from(l);
    if (leg->state() == LegState::hungup)
        return TANDEM_EGONE;
    leg->remote_hangup(cause);
    return TANDEM_OK;
}

int h_leg_push_frame(tandem_leg *l, const tandem_frame *frame) {
    if (!frame || frame->struct_size < offsetof(tandem_frame, duration_ms) + sizeof(uint32_t))
        return TANDEM_EINVAL;
    Leg *leg = Leg::from(l);
    if (leg->state() == LegState::hungup)
        return TANDEM_EGONE;
    leg->push_frame(*frame);
    return TANDEM_OK;
}

void h_leg_set_pvt(tandem_leg *leg, void *pvt) { Leg::from(leg)->pvt = pvt; }
void *h_leg_pvt(const tandem_leg *leg) { return Leg::from(leg)->pvt; }

const char *h_leg_get_var(const tandem_leg *l, const char *name) {
    const Leg *leg = Leg::from(l);
    auto it = leg->vars.find(name);
    return it == leg->vars.end() ? nullptr : it->second.c_str();
}

int h_leg_set_var(tandem_leg *l, const char *name, const char *value) {
    if (!name)
        return TANDEM_EINVAL;
    Leg *leg = Leg::from(l);
    if (value)
        leg->vars[name] = value;
    else
        leg->vars.erase(name);
    return TANDEM_OK;
}

int h_leg_vars_each(const tandem_leg *l, const char *prefix, void (*fn)(void *, const char *, const char *),
                    void *arg) {
    if (!fn)
        return TANDEM_EINVAL;
    const Leg *leg = Leg::from(l);
    std::string_view want(prefix ? prefix : "");
    int n = 0;
    // the map is sorted: the matching names are one contiguous run
    for (auto it = leg->vars.lower_bound(want); it != leg->vars.end() && it->first.starts_with(want); ++it, ++n)
        fn(arg, it->first.c_str(), it->second.c_str());
    return n;
}

// The CDR lists the files named by its channel's recording_file: those of a
// leg that leaves by a transfer go on with the party that stays.
void carry_recordings(const Leg &from, Leg &to) {
    for (const char *name : {"recording_file", "recording_emitted"}) {
        auto it = from.vars.find(std::string_view(name));
        if (it == from.vars.end())
            continue;
        std::string &list = to.vars[name];
        for (size_t pos = 0; pos < it->second.size();) {
            size_t comma = std::min(it->second.find(',', pos), it->second.size());
            std::string file = it->second.substr(pos, comma - pos);
            if (!file.empty() && ("," + list + ",").find("," + file + ",") == std::string::npos)
                list += (list.empty() ? "" : ",") + file;
            pos = comma + 1;
        }
        if (list.empty())
            to.vars.erase(name);
    }
}

int h_leg_transfer(tandem_leg *l, const char *exten, const char *context) {
    if (!exten || !*exten)
        return TANDEM_EINVAL;
    Leg *leg = Leg::from(l);
    Call *call = leg->call;
    if (!call || leg->state() == LegState::hungup)
        return TANDEM_EGONE;
    // Who stays: the transferor's bridge peer, else the caller a dialled leg was for.
    Leg *party = leg->bridge ? &leg->bridge->peer_of(*leg)
                 : leg != call->channel.get() ? call->channel.get()
                                              : nullptr;
    if (!party)
        return TANDEM_ENOENT;
    std::string ctx = context && *context ? context : call->channel->context;
    int rc = call->worker.lua().redirect(*call, *party, leg, exten, ctx);
    if (rc == TANDEM_OK) {
        if (leg->tapped && !party->tapped)
            call->worker.taps().move(*leg, *party); // a recording follows the call
        carry_recordings(*leg, *party);
    }
    return rc;
}

tandem_leg *h_leg_new_replacing(tandem_module *self, const char *driver, tandem_leg *r, const tandem_inbound *in) {
    if (!driver || !r || !in || in->struct_size < offsetof(tandem_inbound, linked_id) + sizeof(void *))
        return nullptr;
    Leg *old = Leg::from(r);
    Call *call = old->call;
    if (!call || old->state() == LegState::hungup || !old->bridge || current_worker() != &old->worker)
        return nullptr;
    auto snapshot = engine().registry().snapshot();
    auto it = snapshot->channels.find(driver);
    ModuleUse use = it == snapshot->channels.end() || it->second.owner.get() != self ? ModuleUse()
                                                                                       : ModuleUse::acquire(self);
    if (!use)
        return nullptr;
    Ref<Leg> leg(new Leg(call->worker, ids::next_leg_id(call->id, call->next_leg_number()), call->id,
                         call->linked_id, Direction::inbound, it->second, std::move(use)));
    leg->context = old->context;
    leg->exten = old->exten;
    leg->caller_num = in->caller_num ? in->caller_num : "";
    leg->caller_name = in->caller_name ? in->caller_name : "";
    leg->name = std::string(driver) + "/" + leg->exten + "@" + leg->context;
    leg->vars = old->vars;
    if (in->format && *in->format)
        leg->set_format(media::intern_format(in->format));
    if (in->struct_size >= offsetof(tandem_inbound, pvt) + sizeof(void *))
        leg->pvt = in->pvt;
    call->add_leg(leg);
    leg->set_state(LegState::up);
    if (call->worker.lua().replace(*call, *old, *leg) != TANDEM_OK) {
        leg->pvt = nullptr; // the driver keeps its state: it was refused
        leg->hangup(TANDEM_CAUSE_NORMAL_CLEARING);
        return nullptr;
    }
    if (old->tapped)
        call->worker.taps().move(*old, *leg);
    return leg.release()->abi();
}

tandem_leg *h_leg_bridge_peer(const tandem_leg *l) {
    const Leg *leg = Leg::from(l);
    return leg->bridge && !leg->bridge->ended() ? leg->bridge->peer_of(*leg).abi() : nullptr;
}

int h_leg_set_format(tandem_leg *l, const char *format) {
    if (!format)
        return TANDEM_EINVAL;
    media::FormatId id = media::intern_format(format);
    if (id == media::kNoFormat)
        return TANDEM_EINVAL;
    Leg::from(l)->set_format(id);
    return TANDEM_OK;
}

int h_leg_set_format_params(tandem_leg *l, const char *params) {
    Leg *leg = Leg::from(l);
    if (leg->state() == LegState::hungup)
        return TANDEM_EGONE;
    leg->set_format_params(params ? std::optional<std::string>(params) : std::nullopt);
    return TANDEM_OK;
}

tandem_leg *h_inv_leg(tandem_invocation *inv) { return inv->leg->abi(); }
size_t h_inv_argc(const tandem_invocation *inv) { return inv->args.size(); }
const tandem_value *h_inv_arg(const tandem_invocation *inv, size_t i) {
    return i < inv->args.size() ? &inv->args[i] : nullptr;
}

int h_inv_return(tandem_invocation *inv, const tandem_value *value) {
    if (!value)
        return TANDEM_EINVAL;
    tandem_value v = *value;
    if (v.type == TANDEM_VALUE_STRING) {
        inv->result_strings.emplace_back(v.as.string.ptr ? v.as.string.ptr : "", v.as.string.len);
        v.as.string.ptr = inv->result_strings.back().data();
    }
    inv->results.push_back(v);
    return TANDEM_OK;
}

void h_inv_error(tandem_invocation *inv, const char *message) { inv->error = message ? message : ""; }

void h_inv_complete(tandem_invocation *inv) {
    if (!inv->suspended)
        return;
    inv->suspended = false;
    invocation::release(*inv, false);
    inv->lua->complete(*inv->call, [inv](lua_State *L) {
        int n = lua::push_invocation_results(L, *inv);
        inv->use = ModuleUse(); // the module's part is over
        return n;
    });
}

int h_inv_watch(tandem_invocation *inv, const tandem_inv_watch *watch) {
    if (!inv->suspended || !watch || !watch->leg_state)
        return TANDEM_EINVAL;
    tandem_inv_watch copy{};
    std::memcpy(&copy, watch, std::min(watch->struct_size, sizeof copy));
    copy.struct_size = sizeof copy;
    inv->watch = copy;
    return TANDEM_OK;
}

tandem_leg *h_inv_dial(tandem_invocation *inv, const char *target, const tandem_field *vars, size_t count,
                       uint64_t tag) {
    if (!inv->suspended || (count && !vars))
        return nullptr;
    Ref<Leg> leg = invocation::dial(*inv, target, vars, count, tag);
    return leg ? leg.release()->abi() : nullptr;
}

int h_inv_hangup(tandem_invocation *inv, tandem_leg *leg, int cause) {
    if (!inv->suspended || !leg)
        return TANDEM_ENOENT;
    return invocation::hangup(*inv, *Leg::from(leg), cause);
}

int h_inv_bridge(tandem_invocation *inv, tandem_leg *leg) {
    if (!inv->suspended || !leg)
        return TANDEM_ENOENT;
    return invocation::bridge(*inv, *Leg::from(leg));
}

int h_inv_play(tandem_invocation *inv, tandem_leg *leg, const char *const *items, size_t count,
               void (*done)(void *), void *arg) {
    if (!inv->suspended || !leg)
        return TANDEM_ENOENT;
    if (count && !items)
        return TANDEM_EINVAL;
    return invocation::play(*inv, *Leg::from(leg), items, count, done, arg);
}

int h_inv_play_stop(tandem_invocation *inv, tandem_leg *leg) {
    if (!inv->suspended || !leg)
        return TANDEM_ENOENT;
    return invocation::play_stop(*inv, *Leg::from(leg));
}

int h_publish(tandem_module *self, const char *name, const char *call_id, const tandem_field *fields,
              size_t count) {
    if (!name)
        return TANDEM_EINVAL;
    Event e = make_event(EventType::custom, call_id ? call_id : "");
    e.name = name;
    e.with("module", self ? self->name : "");
    for (size_t i = 0; i < count; ++i)
        e.with(fields[i].key ? fields[i].key : "", fields[i].value ? fields[i].value : "");
    engine().events().publish(std::move(e));
    return TANDEM_OK;
}

void h_console_print(tandem_console_out *out, const char *text) { ConsoleServer::print(out, text); }
bool h_console_json(const tandem_console_out *out) { return ConsoleServer::wants_json(out); }

size_t h_codec_list(const tandem_codec **out, size_t cap) {
    auto snapshot = engine().registry().snapshot();
    size_t n = 0;
    for (auto &c : snapshot->codecs) {
        if (n < cap && out)
            out[n] = c.desc;
        n++;
    }
    return n;
}

int h_fd_watch(tandem_module *self, int fd, uint32_t events, void (*fn)(int, uint32_t, void *), void *arg) {
    Worker *w = current_worker();
    if (!w || fd < 0 || !fn)
        return TANDEM_EINVAL;
    ModuleUse use = ModuleUse::acquire(self);
    if (!use)
        return TANDEM_EBUSY;
    auto held = std::make_shared<ModuleUse>(std::move(use)); // while watched
    try {
        w->reactor().watch_fd(fd, events, fn, arg, std::move(held));
    } catch (const std::exception &e) { // epoll refused the fd: no exception may reach the module
        log::warning(self ? self->name : "module", "fd_watch({}): {}", fd, e.what());
        return TANDEM_EINVAL;
    }
    return TANDEM_OK;
}

void h_leg_caller(const tandem_leg *l, const char **number, const char **name) {
    const Leg *leg = Leg::from(l);
    if (number)
        *number = leg->caller_num.c_str();
    if (name)
        *name = leg->caller_name.c_str();
}

int h_leg_set_caller(tandem_leg *l, const char *number, const char *name) {
    Leg *leg = Leg::from(l);
    if (number)
        leg->caller_num = number;
    if (name)
        leg->caller_name = name;
    return TANDEM_OK;
}

const char *h_instance_path(const char *which) {
    if (!which)
        return nullptr;
    const Config &c = engine().config();
    std::string_view w(which);
    if (w == "data")
        return c.paths.data.c_str();
    if (w == "spool")
        return c.paths.spool.c_str();
    if (w == "recordings")
        return c.paths.recordings.c_str();
    if (w == "logs")
        return c.paths.logs.c_str();
    if (w == "sounds")
        return c.paths.sounds.c_str();
    if (w == "config")
        return c.dir.c_str();
    return nullptr;
}

const char *h_instance_name() { return engine().config().instance.c_str(); }

void h_fd_unwatch(tandem_module *, int fd) {
    if (Worker *w = current_worker())
        w->reactor().unwatch_fd(fd);
}

int h_record_emit(tandem_module *self, const char *kind, const char *json, size_t json_len) {
    if (!kind || !*kind || !json || std::string_view(kind) == "cdr" || std::string_view(kind) == "call_start" ||
        std::string_view(kind).find('\n') != std::string_view::npos)
        return TANDEM_EINVAL;
    std::string error;
    if (!engine().records().emit(kind, std::string_view(json, json_len), error)) {
        log::warning(self ? self->name : "modules", "record_emit: {}", error);
        return TANDEM_EINVAL;
    }
    return TANDEM_OK;
}

// --- ABI 1.3: shared audio streams (music on hold) ---

tandem_stream *h_stream_open(tandem_module *self, const char *name, uint32_t rate) {
    std::string error;
    auto stream = engine().streams().open(name ? name : "", rate, self ? self->name : "", error);
    if (!stream) {
        log::error(self ? self->name : "modules", "stream_open: {}", error);
        return nullptr;
    }
    return new tandem_stream{std::move(stream)};
}

size_t h_stream_write(tandem_stream *s, const int16_t *pcm, size_t samples) {
    return s && pcm ? s->stream->write(pcm, samples) : 0;
}

void h_stream_close(tandem_stream *s) {
    if (!s)
        return;
    engine().streams().close(s->stream);
    delete s;
}

int h_leg_hear_stream(tandem_leg *l, const char *name) {
    Leg *leg = Leg::from(l);
    if (!name) {
        leg->worker.streams().stop(*leg);
        return TANDEM_OK;
    }
    if (leg->state() == LegState::hungup)
        return TANDEM_EGONE;
    auto stream = engine().streams().find(name);
    if (!stream)
        return TANDEM_ENOENT;
    leg->worker.streams().hear(*leg, std::move(stream), false);
    return TANDEM_OK;
}

// The class a held party hears: its own moh_class, else the holder's, else
// "default"; "" when one of them sets it empty (no music).
std::string hold_class(const Leg &held, const Leg &holder) {
    for (const Leg *leg : {&held, &holder})
        if (auto it = leg->vars.find("moh_class"); it != leg->vars.end())
            return it->second;
    return "default";
}

int h_leg_set_held(tandem_leg *l, bool held) {
    Leg *leg = Leg::from(l);
    if (leg->state() == LegState::hungup)
        return TANDEM_EGONE;
    if (!leg->bridge || leg->bridge->ended())
        return TANDEM_OK;
    Leg &peer = leg->bridge->peer_of(*leg);
    StreamPlayout &playout = leg->worker.streams();
    if (!held) {
        if (peer.stream_for_hold) {
            playout.stop(peer);
            log::at(log::Level::info, "core", leg->call_id, "{} resumes: {} stops hearing music on hold", leg->id, peer.id);
        }
        return TANDEM_OK;
    }
    std::string cls = hold_class(peer, *leg);
    if (cls.empty())
        return TANDEM_OK;
    auto stream = engine().streams().find(cls);
    if (!stream) {
        // Named by a variable: a configuration mistake; the implicit default
        // is simply absent when no module plays music on hold.
        bool named = peer.vars.contains("moh_class") || leg->vars.contains("moh_class");
        log::at(named ? log::Level::warning : log::Level::debug, "core", leg->call_id,
                "{} holds: no music-on-hold class '{}' is open, {} hears silence", leg->id, cls, peer.id);
        return TANDEM_OK;
    }
    playout.hear(peer, std::move(stream), true);
    log::at(log::Level::info, "core", leg->call_id, "{} holds: {} hears music on hold '{}'", leg->id, peer.id, cls);
    return TANDEM_OK;
}

// --- ABI 1.3: audio taps, calls by id (recording) ---

uint64_t h_leg_tap_add(tandem_module *self, tandem_leg *l, const tandem_tap *tap) {
    Leg *leg = Leg::from(l);
    if (!tap || !leg || current_worker() != &leg->worker)
        return 0;
    return leg->worker.taps().add(self, *leg, *tap);
}

int h_leg_tap_remove(tandem_module *self, uint64_t id) {
    Worker *w = current_worker();
    return w ? w->taps().remove(self, id) : TANDEM_ENOENT;
}

int h_call_post(tandem_module *self, const char *call_id, void (*fn)(tandem_leg *, void *), void *arg) {
    if (!call_id || !fn)
        return TANDEM_EINVAL;
    ModuleUse use = ModuleUse::acquire(self);
    if (!use)
        return TANDEM_EBUSY;
    // Ids do not say which worker owns a call: every worker looks, and the
    // last one to finish reports "no such call" when none had it.
    struct Search {
        std::string id;
        void (*fn)(tandem_leg *, void *);
        void *arg;
        ModuleUse use;
        std::atomic<int> left{0};
        std::atomic<bool> found{false};
        void finish_one() {
            if (left.fetch_sub(1) == 1 && !found.load())
                fn(nullptr, arg);
        }
    };
    int n = engine().worker_count();
    auto search = std::make_shared<Search>();
    search->id = call_id;
    search->fn = fn;
    search->arg = arg;
    search->use = std::move(use);
    search->left = n + 1;
    int posted = 0;
    for (int i = 0; i < n; ++i) {
        Worker &w = engine().worker(i);
        bool ok = w.post([search, &w] {
            if (Call *call = w.find_call(search->id); call && call->channel) {
                search->found = true;
                search->fn(call->channel->abi(), search->arg);
            }
            search->finish_one();
        });
        if (ok)
            ++posted;
        else
            search->left.fetch_sub(1);
    }
    if (!posted)
        return TANDEM_EBUSY;
    search->finish_one(); // the guard: no verdict before every post was made
    return TANDEM_OK;
}

int h_originate(tandem_module *self, const char *dest, const char *exten, const char *context,
                const tandem_field *vars, size_t count, char *call_id, size_t cap) {
    if (!dest || !exten || (count && !vars) || (call_id && cap < TANDEM_CALL_ID_SIZE))
        return TANDEM_EINVAL;
    std::map<std::string, std::string> values;
    for (size_t i = 0; i < count; ++i)
        if (vars[i].key && *vars[i].key)
            values[vars[i].key] = vars[i].value ? vars[i].value : "";
    std::string error;
    Engine::OriginateRefusal why{};
    std::string id = engine().originate(dest, exten, context && *context ? context : "default", values, error, &why);
    if (id.empty()) {
        log::write(log::Level::warning, self ? self->name : "module", "", "originate " + std::string(dest) + ": " + error);
        switch (why) {
        case Engine::OriginateRefusal::no_driver: return TANDEM_ENOENT;
        case Engine::OriginateRefusal::bad_destination: return TANDEM_EINVAL;
        case Engine::OriginateRefusal::unavailable: return TANDEM_EBUSY;
        }
        return TANDEM_EBUSY;
    }
    if (call_id)
        std::memcpy(call_id, id.c_str(), id.size() + 1); // ids are shorter than TANDEM_CALL_ID_SIZE (ids.hpp)
    return TANDEM_OK;
}

int h_call_hangup(tandem_module *, const char *call_id, int cause) {
    if (!call_id || cause < 1 || cause > 127)
        return TANDEM_EINVAL;
    int posted = 0;
    for (int i = 0; i < engine().worker_count(); ++i) {
        Worker &w = engine().worker(i);
        posted += w.post([&w, id = std::string(call_id), cause] {
            if (Call *call = w.find_call(id))
                call->hangup_all(cause);
        });
    }
    return posted ? TANDEM_OK : TANDEM_EBUSY;
}

bool h_leg_relays_directly(const tandem_leg *l) {
    const Leg *leg = Leg::from(l);
    return leg->state() != LegState::hungup && leg->relays_directly();
}

const tandem_host kHost = {
    sizeof(tandem_host),
    TANDEM_ABI_MAJOR,
    TANDEM_ABI_MINOR,
    "0",
    h_log,
    h_config_get,
    h_module_name,
    h_register_channel,
    h_register_function,
    h_register_codec,
    h_register_file_format,
    h_subscribe,
    h_register_cdr_sink,
    h_register_console_command,
    h_worker_count,
    h_post,
    h_timer_start,
    h_timer_cancel,
    h_leg_new_inbound,
    h_leg_ref,
    h_leg_unref,
    h_leg_post,
    h_leg_id,
    h_leg_call_id,
    h_leg_linked_id,
    h_leg_worker,
    h_leg_state,
    h_leg_set_state,
    h_leg_hangup,
    h_leg_push_frame,
    h_leg_set_pvt,
    h_leg_pvt,
    h_leg_get_var,
    h_leg_set_var,
    h_leg_set_format,
    h_inv_leg,
    h_inv_argc,
    h_inv_arg,
    h_inv_return,
    h_inv_error,
    h_inv_complete,
    h_publish,
    h_console_print,
    h_fd_watch,
    h_fd_unwatch,
    h_leg_caller,
    h_leg_set_caller,
    h_instance_path,
    h_instance_name,
    h_console_json,
    h_leg_vars_each,
    h_leg_transfer,
    h_leg_new_replacing,
    h_leg_bridge_peer,
    h_record_emit,
    h_codec_list,
    h_stream_open,
    h_stream_write,
    h_stream_close,
    h_leg_hear_stream,
    h_leg_set_held,
    h_leg_tap_add,
    h_leg_tap_remove,
    h_call_post,
    h_leg_set_format_params,
    h_leg_relays_directly,
    h_inv_watch,
    h_inv_dial,
    h_inv_hangup,
    h_inv_bridge,
    h_inv_play,
    h_inv_play_stop,
    h_originate,
    h_call_hangup,
};

} // namespace

const tandem_host *host_table() {
    static tandem_host host = [] {
        tandem_host h = kHost;
        h.engine_version = Engine::version();
        return h;
    }();
    return &host;
}

} // namespace tandem
