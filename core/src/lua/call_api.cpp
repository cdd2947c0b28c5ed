#include "lua/call_api.hpp"

#include "log.hpp"
#include "lua/call_ops.hpp"
#include "lua/lua_args.hpp"
#include "lua/lua_worker.hpp"
#include "lua/menu.lua.hpp"
#include "lua/mix_ops.hpp"
#include "media/say.hpp"
#include "media/tone_plans.hpp"
#include "modules/invocation.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/worker.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

namespace tandem::lua {

namespace {

const char *const kLegMeta = "tandem.leg";

struct LegHandle {
    Leg *leg;
};

LuaWorker &worker_of(lua_State *L) { return *static_cast<LuaWorker *>(lua_touserdata(L, lua_upvalueindex(1))); }

Leg &check_leg(lua_State *L, int idx) {
    auto *h = static_cast<LegHandle *>(luaL_testudata(L, idx, kLegMeta));
    if (!h || !h->leg)
        throw Raise{"call or leg expected, got " + type_name(L, idx), idx};
    return *h->leg;
}

// The running call, and `leg` checked to belong to it.
Call &running_call(lua_State *L, Leg &leg) {
    Call *call = worker_of(L).running_call();
    if (!call)
        throw Raise{"call methods can only be used while a call runs the dialplan"};
    if (leg.call != call)
        throw Raise{"leg " + leg.id + " does not belong to this call"};
    return *call;
}

bool channel_gone(Call &call) { return call.channel->state() == LegState::hungup; }

int wait_for(Call &call, std::unique_ptr<PendingOp> op) {
    PendingOp *installed = op.get();
    call.script->op = std::move(op);
    installed->start(); // a completion inside start() is delivered after the yield
    return kYieldOp;
}

int parse_cause(lua_State *L, int idx, int fallback) {
    if (lua_isnoneornil(L, idx))
        return fallback;
    if (lua_type(L, idx) == LUA_TNUMBER)
        return static_cast<int>(arg_integer(L, idx, 1, 127, "Q.850 cause"));
    std::string name = arg_string(L, idx, "cause name or number");
    for (int c = 1; c < 128; ++c)
        if (name == cause_name(c))
            return c;
    if (name == "busy")
        return TANDEM_CAUSE_USER_BUSY;
    throw Raise{"unknown cause name '" + name + "'", idx};
}

// --- methods -----------------------------------------------------------

int m_answer(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    if (leg.answer() != TANDEM_OK && channel_gone(call))
        return kYieldStop;
    return 0;
}

int m_ring(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    running_call(L, leg);
    leg.indicate(LegState::ringing);
    return 0;
}

int m_progress(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    running_call(L, leg);
    leg.indicate(LegState::early);
    return 0;
}

int m_hangup(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    leg.hangup(parse_cause(L, 2, TANDEM_CAUSE_NORMAL_CLEARING));
    return &leg == call.channel.get() ? kYieldStop : 0;
}

int m_get(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    auto it = leg.vars.find(std::string_view(arg_string(L, 2, "variable name")));
    if (it == leg.vars.end())
        lua_pushnil(L);
    else
        lua_pushlstring(L, it->second.data(), it->second.size());
    return 1;
}

int m_set(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    std::string name = arg_string(L, 2, "variable name");
    switch (lua_type(L, 3)) {
    case LUA_TNIL:
    case LUA_TNONE: leg.vars.erase(name); break;
    case LUA_TSTRING:
    case LUA_TNUMBER: leg.vars[name] = lua_tostring(L, 3); break;
    case LUA_TBOOLEAN: leg.vars[name] = lua_toboolean(L, 3) ? "true" : "false"; break;
    default: throw Raise{"variable values are strings, numbers or booleans, got " + type_name(L, 3), 3};
    }
    return 0;
}

int m_vars(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    lua_createtable(L, 0, static_cast<int>(leg.vars.size()));
    for (auto &[k, v] : leg.vars) {
        lua_pushlstring(L, v.data(), v.size());
        lua_setfield(L, -2, k.c_str());
    }
    return 1;
}

int m_sleep(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    auto ms = static_cast<uint32_t>(arg_integer(L, 2, 0, 86'400'000, "milliseconds"));
    if (channel_gone(call))
        return kYieldStop;
    return wait_for(call, make_sleep_op(call, ms));
}

uint32_t int_field(lua_State *L, int table, const char *name, uint32_t fallback, lua_Integer lo, lua_Integer hi) {
    raw_field(L, table, name);
    uint32_t v = fallback;
    if (!lua_isnil(L, -1)) {
        int ok = 0;
        lua_Integer x = lua_tointegerx(L, -1, &ok);
        if (!ok || x < lo || x > hi) {
            lua_pop(L, 1);
            throw Raise{std::string("'") + name + "' must be an integer in " + std::to_string(lo) + ".." +
                        std::to_string(hi)};
        }
        v = static_cast<uint32_t>(x);
    }
    lua_pop(L, 1);
    return v;
}

// The digits that stop playback, from an options table's `interrupt`: a
// string of digits, or true for any digit.
std::string interrupt_field(lua_State *L, int table) {
    std::string digits;
    int t = raw_field(L, table, "interrupt");
    if (t == LUA_TSTRING)
        digits = lua_tostring(L, -1);
    else if (lua_toboolean(L, -1))
        digits = "0123456789*#ABCD";
    lua_pop(L, 1);
    return digits;
}

// Starts playing `req` to `leg` and yields until it ends (play's contract).
int play_request(lua_State *L, Call &call, Leg &leg, PlayRequest req) {
    if (channel_gone(call))
        return kYieldStop;
    if (leg.state() == LegState::hungup) { // a dialled leg that already left
        lua_pushnil(L);
        return 1;
    }
    return wait_for(call, make_play_op(call, leg, std::move(req)));
}

int m_play(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    PlayRequest req;
    read_play_items(L, 2, req.items);
    if (lua_istable(L, 3))
        req.interrupt = interrupt_field(L, 3);
    else if (lua_type(L, 3) == LUA_TSTRING)
        req.interrupt = lua_tostring(L, 3);
    return play_request(L, call, leg, std::move(req));
}

// A string field of an optional options table, or `fallback`.
std::string string_field(lua_State *L, int table, const char *name, std::string fallback) {
    if (!lua_istable(L, table))
        return fallback;
    if (raw_field(L, table, name) == LUA_TSTRING)
        fallback = lua_tostring(L, -1);
    lua_pop(L, 1);
    return fallback;
}

// say_*'s options (argument 3): `lang` (default: the leg's `language`
// variable, else "en") and `interrupt` as for play.
PlayRequest say_request(lua_State *L, Leg &leg, std::string &lang) {
    if (!lua_isnoneornil(L, 3) && !lua_istable(L, 3))
        throw Raise{"options table expected, got " + type_name(L, 3), 3};
    auto var = leg.vars.find(std::string_view("language"));
    lang = string_field(L, 3, "lang", var == leg.vars.end() ? "en" : var->second);
    PlayRequest req;
    if (lua_istable(L, 3))
        req.interrupt = interrupt_field(L, 3);
    return req;
}

// Turns a list of prompt names into play items.
void add_items(PlayRequest &req, std::vector<std::string> names) {
    for (auto &name : names)
        req.items.push_back({std::move(name), std::nullopt});
}

media::Gender gender_field(lua_State *L) {
    std::string g = string_field(L, 3, "gender", "m");
    if (g == "m" || g == "masculine")
        return media::Gender::masculine;
    if (g == "f" || g == "feminine")
        return media::Gender::feminine;
    if (g == "n" || g == "neuter")
        return media::Gender::neuter;
    throw Raise{"gender is \"m\", \"f\" or \"n\", got '" + g + "'"};
}

// What the say_* methods share: options, then `speak(lang, names, error)`
// (which reads its own arguments) turns argument 2 into prompt names, and
// they play like play.
template <typename Speak> int say(lua_State *L, const char *method, Speak speak) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    std::string lang, error;
    PlayRequest req = say_request(L, leg, lang);
    std::vector<std::string> names;
    if (!speak(lang, names, error))
        throw Raise{std::string(method) + ": " + error};
    add_items(req, std::move(names));
    return play_request(L, call, leg, std::move(req));
}

int m_say_digits(lua_State *L) {
    return say(L, "say_digits", [L](const std::string &lang, std::vector<std::string> &names, std::string &error) {
        return media::say_digits(arg_string(L, 2, "digits"), lang, names, &error);
    });
}

int m_say_number(lua_State *L) {
    return say(L, "say_number", [L](const std::string &lang, std::vector<std::string> &names, std::string &error) {
        lua_Integer n = arg_integer(L, 2, 0, media::kMaxSayNumber, "number");
        std::string unit = string_field(L, 3, "unit", "");
        if (!unit.empty()) // the unit decides the gender
            return media::say_count(n, unit, lang, names, &error);
        return media::say_number(n, lang, gender_field(L), names, &error);
    });
}

int m_say_duration(lua_State *L) {
    return say(L, "say_duration", [L](const std::string &lang, std::vector<std::string> &names, std::string &error) {
        lua_Integer seconds = arg_integer(L, 2, 0, media::kMaxSayNumber * 3600 + 3599, "seconds");
        return media::say_duration(seconds, lang, names, &error);
    });
}

int m_play_tone(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    std::string name = arg_string(L, 2, "tone name");
    if (!lua_isnoneornil(L, 3) && !lua_istable(L, 3))
        throw Raise{"options table expected, got " + type_name(L, 3), 3};
    auto var = leg.vars.find(std::string_view("tone_plan"));
    std::string plan = string_field(L, 3, "plan", var == leg.vars.end() ? "eu" : var->second);
    uint32_t duration = 0;
    PlayRequest req;
    if (lua_istable(L, 3)) {
        duration = int_field(L, 3, "duration", 0, 0, 3'600'000);
        req.interrupt = interrupt_field(L, 3);
    }
    media::ToneSpec spec;
    std::string error;
    if (!media::plan_tone(plan, name, duration, spec, &error))
        throw Raise{"play_tone: " + error};
    req.items.push_back({plan + " " + name + " tone", std::move(spec)});
    return play_request(L, call, leg, std::move(req));
}

int m_read(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    ReadRequest req;
    if (!lua_isnoneornil(L, 2)) {
        if (!lua_istable(L, 2))
            throw Raise{"options table expected, got " + type_name(L, 2), 2};
        req.min = int_field(L, 2, "min", req.min, 0, 64);
        req.max = int_field(L, 2, "max", req.max, 1, 64);
        req.timeout_ms = int_field(L, 2, "timeout", req.timeout_ms, 0, 3'600'000);
        req.digit_timeout_ms = int_field(L, 2, "digit_timeout", req.timeout_ms, 0, 3'600'000);
        if (raw_field(L, 2, "terminator") == LUA_TSTRING)
            req.terminators = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (raw_field(L, 2, "prompt") != LUA_TNIL) {
            try {
                read_play_items(L, -1, req.prompt);
            } catch (...) {
                lua_pop(L, 1);
                throw;
            }
        }
        lua_pop(L, 1);
        if (req.min > req.max)
            throw Raise{"read: min (" + std::to_string(req.min) + ") is greater than max (" +
                        std::to_string(req.max) + ")"};
    }
    if (channel_gone(call))
        return kYieldStop;
    if (leg.state() == LegState::hungup) {
        lua_pushnil(L);
        lua_pushliteral(L, "hangup");
        return 2;
    }
    return wait_for(call, make_read_op(call, leg, std::move(req)));
}

int m_send_dtmf(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    running_call(L, leg);
    std::string digits = arg_string(L, 2, "digits");
    auto duration = static_cast<uint32_t>(lua_isnoneornil(L, 3) ? 100 : arg_integer(L, 3, 40, 10000, "duration"));
    if (digits.find_first_not_of("0123456789*#ABCD") != std::string::npos)
        throw Raise{"digits are 0-9, *, #, A-D", 2};
    for (char d : digits)
        leg.write_dtmf(d, duration);
    return 0;
}

int m_dial(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    DialRequest req;
    string_list(L, 2, req.targets, "dial targets");
    if (req.targets.empty())
        throw Raise{"no dial targets", 2};
    if (lua_istable(L, 3)) {
        req.timeout_s = int_field(L, 3, "timeout", req.timeout_s, 1, 86400);
        if (raw_field(L, 3, "caller_num") == LUA_TSTRING)
            req.caller_num = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (raw_field(L, 3, "caller_name") == LUA_TSTRING)
            req.caller_name = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (raw_field(L, 3, "vars") == LUA_TTABLE) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                int kt = lua_type(L, -2), vt = lua_type(L, -1);
                if (kt == LUA_TSTRING && (vt == LUA_TSTRING || vt == LUA_TNUMBER)) {
                    lua_pushvalue(L, -1); // convert a copy, never the key lua_next needs
                    req.vars[lua_tostring(L, -3)] = lua_tostring(L, -1);
                    lua_pop(L, 1);
                }
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    if (channel_gone(call))
        return kYieldStop;
    return wait_for(call, make_dial_op(call, leg, std::move(req)));
}

int m_bridge(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    Leg &peer = check_leg(L, 2);
    if (peer.call != &call)
        throw Raise{"the leg to bridge must belong to this call", 2};
    if (&peer == &leg)
        throw Raise{"cannot bridge a leg with itself", 2};
    if (channel_gone(call))
        return kYieldStop;
    if (peer.state() == LegState::hungup) {
        lua_pushliteral(L, "peer_hangup");
        return 1;
    }
    if (leg.bridge || peer.bridge)
        throw Raise{"a leg is already bridged"};
    if (leg.state() != LegState::up && leg.answer() != TANDEM_OK)
        return kYieldStop;
    return wait_for(call, make_bridge_op(call, leg, peer));
}

int m_echo(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    auto ms = static_cast<uint32_t>(lua_isnoneornil(L, 2) ? 0 : arg_integer(L, 2, 1, 86'400'000, "milliseconds"));
    if (channel_gone(call))
        return kYieldStop;
    if (leg.state() == LegState::hungup) {
        lua_pushliteral(L, "hangup");
        return 1;
    }
    if (leg.bridge)
        throw Raise{"cannot echo a bridged leg"};
    if (leg.state() != LegState::up && leg.answer() != TANDEM_OK)
        return kYieldStop;
    return wait_for(call, make_echo_op(call, leg, ms));
}

// A leg that may join a mixer: answered (or answerable), not bridged, not
// in another mixer. Returns a yield code or 0 to go on.
int ready_to_mix(Call &call, Leg &leg) {
    if (channel_gone(call))
        return kYieldStop;
    if (leg.bridge || leg.mix)
        throw Raise{"the leg is already bridged or in a conference"};
    if (leg.state() != LegState::up && leg.answer() != TANDEM_OK)
        return kYieldStop;
    return 0;
}

// The common end of conference and spy: "hangup" for a leg already gone,
// else the leg joins (make() builds the operation) and the script waits.
template <class MakeOp> int start_mixing(lua_State *L, Call &call, Leg &leg, MakeOp make) {
    if (leg.state() == LegState::hungup) {
        lua_pushliteral(L, "hangup");
        return 1;
    }
    if (int rc = ready_to_mix(call, leg))
        return rc;
    return wait_for(call, make());
}

int m_conference(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    ConferenceRequest req;
    req.room = arg_string(L, 2, "conference name");
    if (req.room.empty() || req.room.size() > 128)
        throw Raise{"a conference name has 1 to 128 characters", 2};
    if (!lua_isnoneornil(L, 3)) {
        if (!lua_istable(L, 3))
            throw Raise{"options table expected, got " + type_name(L, 3), 3};
        req.rate = int_field(L, 3, "rate", req.rate, 0, 48000);
        if (req.rate != 0 && req.rate != 8000 && req.rate != 16000 && req.rate != 48000)
            throw Raise{"rate is 8000, 16000 or 48000", 3};
        req.muted = raw_field(L, 3, "muted") == LUA_TBOOLEAN && lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (raw_field(L, 3, "exit_digits") == LUA_TSTRING)
            req.exit_digits = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    return start_mixing(L, call, leg, [&] { return make_conference_op(call, leg, std::move(req)); });
}

int m_spy(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    if (!lua_istable(L, 2))
        throw Raise{"options table expected, got " + type_name(L, 2), 2};
    SpyRequest req;
    if (raw_field(L, 2, "target") != LUA_TSTRING) {
        lua_pop(L, 1);
        throw Raise{"spy: target (a leg id, leg name or call id) is required", 2};
    }
    req.target = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (raw_field(L, 2, "mode") == LUA_TSTRING) {
        std::string mode = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (!parse_spy_mode(mode, req.mode))
            throw Raise{"spy: mode is \"listen\", \"whisper\" or \"barge\", got '" + mode + "'", 2};
    } else {
        lua_pop(L, 1);
    }
    return start_mixing(L, call, leg, [&] { return make_spy_op(call, leg, std::move(req)); });
}

int m_transfer(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    auto &s = *call.script;
    if (s.phase == ScriptState::Phase::on_hangup)
        throw Raise{"transfer: the call has ended (on_hangup cannot transfer)"};
    std::string exten = arg_string(L, 2, "extension");
    std::string context = opt_string(L, 3, call.channel->context.c_str());
    if (s.generation->find(context, exten) == LUA_NOREF)
        throw Raise{"transfer: no route for '" + exten + "' in context '" + context + "'"};
    call.channel->exten = exten;
    call.channel->context = context;
    s.transfer_exten = exten;
    s.transfer_context = context;
    return kYieldTransfer;
}

int m_on_hangup(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    if (!lua_isfunction(L, 2))
        throw Raise{"function expected, got " + type_name(L, 2), 2};
    auto &s = *call.script;
    luaL_unref(L, LUA_REGISTRYINDEX, s.on_hangup_ref);
    lua_pushvalue(L, 2);
    s.on_hangup_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int m_log(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    log::Level level = log::Level::info;
    int msg = 2;
    if (lua_gettop(L) >= 3) {
        if (!log::parse_level(arg_string(L, 2, "level"), level))
            throw Raise{"level is debug, info, notice, warning or error", 2};
        msg = 3;
    }
    log::write(level, "lua", leg.call_id, arg_string(L, msg, "message"));
    return 0;
}

// --- module functions ------------------------------------------------------

bool check_argument(lua_State *L, int idx, char type, tandem_value &out) {
    switch (type) {
    case 's':
        if (lua_type(L, idx) != LUA_TSTRING && lua_type(L, idx) != LUA_TNUMBER)
            return false;
        out.type = TANDEM_VALUE_STRING;
        out.as.string.ptr = lua_tolstring(L, idx, &out.as.string.len);
        return true;
    case 'i': {
        int ok = 0;
        out.as.integer = lua_tointegerx(L, idx, &ok);
        out.type = TANDEM_VALUE_INTEGER;
        return ok;
    }
    case 'n': {
        int ok = 0;
        out.as.number = lua_tonumberx(L, idx, &ok);
        out.type = TANDEM_VALUE_NUMBER;
        return ok;
    }
    case 'b':
        if (!lua_isboolean(L, idx))
            return false;
        out.type = TANDEM_VALUE_BOOLEAN;
        out.as.boolean = lua_toboolean(L, idx);
        return true;
    }
    return false;
}

const char *type_word(char t) {
    switch (t) {
    case 's': return "string";
    case 'i': return "integer";
    case 'n': return "number";
    default: return "boolean";
    }
}

int m_module_function(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    std::string name = lua_tostring(L, lua_upvalueindex(2));
    auto inv = std::make_unique<tandem_invocation>();
    {
        auto snapshot = call.worker.engine().registry().snapshot();
        auto it = snapshot->functions.find(name);
        if (it == snapshot->functions.end())
            throw Raise{"function '" + name + "' is no longer available (its module was unloaded)"};
        inv->use = ModuleUse::acquire(it->second.owner.get());
        if (!inv->use)
            throw Raise{"function '" + name + "' is unavailable: its module is unloading"};
        inv->function = it->second;
    }
    inv->call = &call;
    inv->leg = &leg;
    inv->lua = &worker_of(L);
    // Check arguments against the declared signature.
    const tandem_function *fn = inv->function.desc;
    int nargs = lua_gettop(L) - 1;
    while (nargs > 0 && lua_isnil(L, nargs + 1)) // f("a", nil) is f("a")
        --nargs;
    bool optional = false;
    int idx = 2;
    for (const char *p = fn->signature; *p; ++p) {
        if (*p == '|') {
            optional = true;
            continue;
        }
        if (idx - 1 > nargs || lua_isnil(L, idx)) {
            if (!optional)
                throw Raise{"bad argument #" + std::to_string(idx - 1) + " to '" + name + "' (" + type_word(*p) +
                            " expected, got no value)"};
            break;
        }
        tandem_value v{};
        if (!check_argument(L, idx, *p, v))
            throw Raise{"bad argument #" + std::to_string(idx - 1) + " to '" + name + "' (" + type_word(*p) +
                        " expected, got " + type_name(L, idx) + ")"};
        inv->args.push_back(v);
        ++idx;
    }
    if (idx - 2 < nargs) // arguments left over after the signature
        throw Raise{"too many arguments to '" + name + "' (signature \"" + fn->signature + "\")"};

    int rc = fn->invoke(fn->user, inv.get());
    if (rc == TANDEM_SUSPENDED) {
        if (!fn->may_suspend)
            throw Raise{"module function '" + name + "' suspended but did not declare may_suspend"};
        inv->suspended = true;
        return wait_for(call, make_invocation_op(std::move(inv)));
    }
    if (rc != TANDEM_OK)
        throw Raise{inv->error.empty() ? name + " failed" : inv->error};
    if (channel_gone(call) && call.script->phase != ScriptState::Phase::on_hangup)
        return kYieldStop;
    return push_invocation_results(L, *inv);
}

// --- metatable ---------------------------------------------------------------

const luaL_Reg kMethods[] = {{"answer", lua_entry<m_answer>},
                             {"ring", lua_entry<m_ring>},
                             {"progress", lua_entry<m_progress>},
                             {"hangup", lua_entry<m_hangup>},
                             {"get", lua_entry<m_get>},
                             {"set", lua_entry<m_set>},
                             {"vars", lua_entry<m_vars>},
                             {"sleep", lua_entry<m_sleep>},
                             {"play", lua_entry<m_play>},
                             {"say_digits", lua_entry<m_say_digits>},
                             {"say_number", lua_entry<m_say_number>},
                             {"say_duration", lua_entry<m_say_duration>},
                             {"play_tone", lua_entry<m_play_tone>},
                             {"read", lua_entry<m_read>},
                             {"send_dtmf", lua_entry<m_send_dtmf>},
                             {"dial", lua_entry<m_dial>},
                             {"bridge", lua_entry<m_bridge>},
                             {"echo", lua_entry<m_echo>},
                             {"conference", lua_entry<m_conference>},
                             {"spy", lua_entry<m_spy>},
                             {"transfer", lua_entry<m_transfer>},
                             {"on_hangup", lua_entry<m_on_hangup>},
                             {"log", lua_entry<m_log>},
                             {nullptr, nullptr}};

const char *const kMethodNames[] = {"answer", "ring",     "progress", "hangup",   "get",       "set",
                                    "vars",   "sleep",    "play",     "read",     "send_dtmf", "dial",   "echo",
                                    "bridge", "transfer", "on_hangup", "log",     "id",        "call_id",
                                    "linked_id", "name",  "state",    "cause",    "exten",     "context",
                                    "caller_num", "caller_name", "direction", "say_digits", "say_number",
                                    "say_duration", "play_tone", "menu", "conference", "spy", nullptr};

bool is_module_function(const Leg &leg, const char *name) {
    return leg.worker.engine().registry().snapshot()->functions.count(name) != 0;
}

// Properties first, then methods, then module functions.
int leg_index_body(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    const char *key = arg_string(L, 2, "key");
    auto str = [&](const std::string &v) {
        lua_pushlstring(L, v.data(), v.size());
        return 1;
    };
    if (!std::strcmp(key, "id"))
        return str(leg.id);
    if (!std::strcmp(key, "call_id"))
        return str(leg.call_id);
    if (!std::strcmp(key, "linked_id"))
        return str(leg.linked_id);
    if (!std::strcmp(key, "name"))
        return str(leg.name);
    if (!std::strcmp(key, "exten"))
        return str(leg.exten);
    if (!std::strcmp(key, "context"))
        return str(leg.context);
    if (!std::strcmp(key, "caller_num"))
        return str(leg.caller_num);
    if (!std::strcmp(key, "caller_name"))
        return str(leg.caller_name);
    if (!std::strcmp(key, "state")) {
        lua_pushstring(L, leg_state_name(leg.state()));
        return 1;
    }
    if (!std::strcmp(key, "cause")) {
        lua_pushinteger(L, leg.cause());
        return 1;
    }
    if (!std::strcmp(key, "direction")) {
        lua_pushstring(L, leg.direction == Direction::inbound ? "inbound" : "outbound");
        return 1;
    }
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    if (is_module_function(leg, key)) {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushstring(L, key);
        lua_pushcclosure(L, lua_entry<m_module_function>, 2);
        return 1;
    }
    return 0;
}

int leg_gc(lua_State *L) {
    auto *h = static_cast<LegHandle *>(luaL_checkudata(L, 1, kLegMeta));
    if (h->leg)
        h->leg->unref();
    h->leg = nullptr;
    return 0;
}

int leg_eq(lua_State *L) {
    auto *a = static_cast<LegHandle *>(luaL_testudata(L, 1, kLegMeta));
    auto *b = static_cast<LegHandle *>(luaL_testudata(L, 2, kLegMeta));
    lua_pushboolean(L, a && b && a->leg == b->leg);
    return 1;
}

int leg_tostring_body(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    lua_pushfstring(L, "leg %s (%s, %s)", leg.id.c_str(), leg.name.c_str(), leg_state_name(leg.state()));
    return 1;
}

} // namespace

const char *const *builtin_method_names() { return kMethodNames; }

void push_yield_marker(lua_State *L, int code) {
    lua_pushlightuserdata(L, code == kYieldTransfer ? LuaWorker::transfer_marker() : LuaWorker::stop_marker());
}

int begin_engine_section(lua_State *L) {
    auto *w = static_cast<LuaWorker *>(lua_touserdata(L, lua_upvalueindex(1)));
    return w ? static_cast<int>(w->exchange_memory_slot(0)) : 0;
}

void end_engine_section(lua_State *L, int saved) {
    if (auto *w = static_cast<LuaWorker *>(lua_touserdata(L, lua_upvalueindex(1))))
        w->exchange_memory_slot(static_cast<uint32_t>(saved));
}

void register_call_api(lua_State *L, LuaWorker *worker) {
    luaL_newmetatable(L, kLegMeta);
    lua_pushlightuserdata(L, worker);
    lua_newtable(L);
    for (const luaL_Reg *r = kMethods; r->name; ++r) {
        lua_pushlightuserdata(L, worker);
        lua_pushcclosure(L, r->func, 1);
        lua_setfield(L, -2, r->name);
    }
    // Methods written in Lua (menu.lua.hpp) join the same table. A failure
    // here is a bug in the engine's own chunk: fail loudly at start-up.
    if (luaL_loadbuffer(L, kMenuChunk, sizeof kMenuChunk - 1, "=menu") != LUA_OK) {
        log::error("lua", "menu chunk: {}", lua_tostring(L, -1));
        std::abort();
    }
    lua_pushvalue(L, -2);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        log::error("lua", "menu chunk: {}", lua_tostring(L, -1));
        std::abort();
    }
    lua_pushcclosure(L, lua_entry<leg_index_body>, 2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, leg_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, leg_eq);
    lua_setfield(L, -2, "__eq");
    lua_pushcfunction(L, lua_entry<leg_tostring_body>);
    lua_setfield(L, -2, "__tostring");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

void push_dialplan_globals(lua_State *L, int env) {
    env = lua_absindex(L, env);
    lua_newtable(L);
    lua_pushstring(L, Engine::version());
    lua_setfield(L, -2, "version");
    lua_newtable(L);
    for (int c = 1; c < 128; ++c)
        if (std::strcmp(cause_name(c), "other") != 0) {
            lua_pushinteger(L, c);
            lua_setfield(L, -2, cause_name(c));
        }
    lua_setfield(L, -2, "cause");
    lua_setfield(L, env, "tandem");
}

void push_leg(lua_State *L, Leg &leg) {
    auto *h = static_cast<LegHandle *>(lua_newuserdatauv(L, sizeof(LegHandle), 0));
    h->leg = &leg;
    leg.ref();
    luaL_setmetatable(L, kLegMeta);
}

} // namespace tandem::lua
