#include "lua/call_api.hpp"

#include "log.hpp"
#include "lua/call_ops.hpp"
#include "lua/lua_worker.hpp"
#include "modules/invocation.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/worker.hpp"

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
    auto *h = static_cast<LegHandle *>(luaL_checkudata(L, idx, kLegMeta));
    return *h->leg;
}

// The running call, and `leg` checked to belong to it.
Call &running_call(lua_State *L, Leg &leg) {
    Call *call = worker_of(L).running_call();
    if (!call)
        luaL_error(L, "call methods can only be used while a call runs the dialplan");
    if (leg.call != call)
        luaL_error(L, "leg %s does not belong to this call", leg.id.c_str());
    return *call;
}

// Ends the script when its own channel is gone (the runner then runs on_hangup).
int stop(lua_State *L) {
    lua_pushlightuserdata(L, LuaWorker::stop_marker());
    return lua_yield(L, 1);
}

bool channel_gone(Call &call) { return call.channel->state() == LegState::hungup; }

int wait_for(lua_State *L, Call &call, std::unique_ptr<PendingOp> op) {
    PendingOp *installed = op.get();
    call.script->op = std::move(op);
    installed->start(); // a completion inside start() is delivered after the yield
    return lua_yield(L, 0);
}

int parse_cause(lua_State *L, int idx, int fallback) {
    if (lua_isnoneornil(L, idx))
        return fallback;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Integer c = lua_tointeger(L, idx);
        if (c < 1 || c > 127)
            luaL_argerror(L, idx, "Q.850 cause must be 1..127");
        return static_cast<int>(c);
    }
    const char *name = luaL_checkstring(L, idx);
    for (int c = 1; c < 128; ++c)
        if (std::strcmp(cause_name(c), name) == 0)
            return c;
    if (std::strcmp(name, "busy") == 0)
        return TANDEM_CAUSE_USER_BUSY;
    luaL_argerror(L, idx, "unknown cause name");
    return fallback;
}

// --- methods -----------------------------------------------------------

int m_answer(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    if (leg.answer() != TANDEM_OK && channel_gone(call))
        return stop(L);
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
    if (&leg == call.channel.get())
        return stop(L);
    return 0;
}

int m_get(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    const char *name = luaL_checkstring(L, 2);
    auto it = leg.vars.find(name);
    if (it == leg.vars.end())
        lua_pushnil(L);
    else
        lua_pushlstring(L, it->second.data(), it->second.size());
    return 1;
}

int m_set(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    std::string name = luaL_checkstring(L, 2);
    if (lua_isnil(L, 3)) {
        leg.vars.erase(name);
        return 0;
    }
    size_t len;
    const char *value = luaL_tolstring(L, 3, &len);
    leg.vars[name] = std::string(value, len);
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
    lua_Integer ms = luaL_checkinteger(L, 2);
    luaL_argcheck(L, ms >= 0 && ms <= 86'400'000, 2, "milliseconds must be 0..86400000");
    if (channel_gone(call))
        return stop(L);
    return wait_for(L, call, make_sleep_op(call, static_cast<uint32_t>(ms)));
}

int m_play(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    PlayRequest req;
    read_play_items(L, 2, req.items);
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "interrupt");
        if (lua_isstring(L, -1))
            req.interrupt = lua_tostring(L, -1);
        else if (lua_toboolean(L, -1))
            req.interrupt = "0123456789*#ABCD";
        lua_pop(L, 1);
    } else if (lua_isstring(L, 3)) {
        req.interrupt = lua_tostring(L, 3);
    }
    if (channel_gone(call))
        return stop(L);
    return wait_for(L, call, make_play_op(call, leg, std::move(req)));
}

int m_read(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    ReadRequest req;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        auto int_field = [&](const char *name, uint32_t &out, lua_Integer lo, lua_Integer hi) {
            lua_getfield(L, 2, name);
            if (!lua_isnil(L, -1)) {
                int ok = 0;
                lua_Integer v = lua_tointegerx(L, -1, &ok);
                if (!ok || v < lo || v > hi)
                    luaL_error(L, "read: '%s' must be an integer in %d..%d", name, static_cast<int>(lo),
                               static_cast<int>(hi));
                out = static_cast<uint32_t>(v);
            }
            lua_pop(L, 1);
        };
        int_field("min", req.min, 0, 64);
        int_field("max", req.max, 1, 64);
        int_field("timeout", req.timeout_ms, 0, 3'600'000);
        req.digit_timeout_ms = req.timeout_ms;
        int_field("digit_timeout", req.digit_timeout_ms, 0, 3'600'000);
        lua_getfield(L, 2, "terminator");
        if (lua_isstring(L, -1))
            req.terminators = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, 2, "prompt");
        if (!lua_isnil(L, -1))
            read_play_items(L, lua_gettop(L), req.prompt);
        lua_pop(L, 1);
        if (req.min > req.max)
            luaL_error(L, "read: min (%d) is greater than max (%d)", static_cast<int>(req.min),
                       static_cast<int>(req.max));
    }
    if (channel_gone(call))
        return stop(L);
    return wait_for(L, call, make_read_op(call, leg, std::move(req)));
}

int m_send_dtmf(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    running_call(L, leg);
    const char *digits = luaL_checkstring(L, 2);
    lua_Integer duration = luaL_optinteger(L, 3, 100);
    for (const char *d = digits; *d; ++d) {
        if (!std::strchr("0123456789*#ABCD", *d))
            luaL_argerror(L, 2, "digits are 0-9, *, #, A-D");
        leg.write_dtmf(*d, static_cast<uint32_t>(duration));
    }
    return 0;
}

int m_dial(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    DialRequest req;
    if (lua_type(L, 2) == LUA_TSTRING) {
        req.targets.push_back(lua_tostring(L, 2));
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_Integer n = luaL_len(L, 2);
        for (lua_Integer i = 1; i <= n; ++i) {
            lua_geti(L, 2, i);
            req.targets.push_back(luaL_checkstring(L, -1));
            lua_pop(L, 1);
        }
    }
    luaL_argcheck(L, !req.targets.empty(), 2, "no dial targets");
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "timeout");
        if (!lua_isnil(L, -1)) {
            lua_Integer t = luaL_checkinteger(L, -1);
            luaL_argcheck(L, t > 0 && t <= 86400, 3, "timeout is in seconds, 1..86400");
            req.timeout_s = static_cast<uint32_t>(t);
        }
        lua_pop(L, 1);
        lua_getfield(L, 3, "caller_num");
        if (lua_isstring(L, -1))
            req.caller_num = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, 3, "caller_name");
        if (lua_isstring(L, -1))
            req.caller_name = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, 3, "vars");
        if (lua_istable(L, -1)) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (lua_type(L, -2) == LUA_TSTRING) {
                    lua_pushvalue(L, -1);
                    req.vars[lua_tostring(L, -3)] = luaL_tolstring(L, -1, nullptr);
                    lua_pop(L, 2);
                }
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    if (channel_gone(call))
        return stop(L);
    return wait_for(L, call, make_dial_op(call, leg, std::move(req)));
}

int m_bridge(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    Leg &peer = check_leg(L, 2);
    if (peer.call != &call)
        luaL_argerror(L, 2, "the leg to bridge must belong to this call");
    if (&peer == &leg)
        luaL_argerror(L, 2, "cannot bridge a leg with itself");
    if (channel_gone(call))
        return stop(L);
    if (peer.state() == LegState::hungup) {
        lua_pushliteral(L, "peer_hangup");
        return 1;
    }
    if (leg.bridge || peer.bridge)
        luaL_error(L, "a leg is already bridged");
    if (leg.state() != LegState::up && leg.answer() != TANDEM_OK)
        return stop(L);
    return wait_for(L, call, make_bridge_op(call, leg, peer));
}

int m_transfer(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    auto &s = *call.script;
    std::string exten = luaL_checkstring(L, 2);
    std::string context = luaL_optstring(L, 3, call.channel->context.c_str());
    if (s.generation->find(context, exten) == LUA_NOREF)
        luaL_error(L, "transfer: no route for '%s' in context '%s'", exten.c_str(), context.c_str());
    call.channel->exten = exten;
    call.channel->context = context;
    s.transfer_exten = exten;
    s.transfer_context = context;
    lua_pushlightuserdata(L, LuaWorker::transfer_marker());
    return lua_yield(L, 1);
}

int m_on_hangup(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    Call &call = running_call(L, leg);
    luaL_checktype(L, 2, LUA_TFUNCTION);
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
        if (!log::parse_level(luaL_checkstring(L, 2), level))
            luaL_argerror(L, 2, "level is debug, info, notice, warning or error");
        msg = 3;
    }
    log::write(level, "lua", leg.call_id, luaL_checkstring(L, msg));
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
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    auto snapshot = call.worker.engine().registry().snapshot();
    auto it = snapshot->functions.find(name);
    if (it == snapshot->functions.end())
        return luaL_error(L, "function '%s' is no longer available (its module was unloaded)", name);
    auto inv = std::make_unique<tandem_invocation>();
    inv->use = ModuleUse::acquire(it->second.owner.get());
    if (!inv->use)
        return luaL_error(L, "function '%s' is unavailable: its module is unloading", name);
    inv->function = it->second;
    inv->call = &call;
    inv->leg = &leg;
    inv->lua = &worker_of(L);
    // Check arguments against the declared signature.
    int nargs = lua_gettop(L) - 1;
    bool optional = false;
    int idx = 2;
    for (const char *p = it->second.desc->signature; *p; ++p) {
        if (*p == '|') {
            optional = true;
            continue;
        }
        if (idx - 1 > nargs || lua_isnil(L, idx)) {
            if (!optional)
                return luaL_error(L, "bad argument #%d to '%s' (%s expected, got no value)", idx - 1, name,
                                  type_word(*p));
            break;
        }
        tandem_value v{};
        if (!check_argument(L, idx, *p, v))
            return luaL_error(L, "bad argument #%d to '%s' (%s expected, got %s)", idx - 1, name, type_word(*p),
                              luaL_typename(L, idx));
        inv->args.push_back(v);
        ++idx;
    }
    if (idx - 1 <= nargs)
        return luaL_error(L, "too many arguments to '%s' (signature \"%s\")", name, it->second.desc->signature);

    const tandem_function *fn = it->second.desc;
    int rc = fn->invoke(fn->user, inv.get());
    if (rc == TANDEM_SUSPENDED) {
        if (!fn->may_suspend)
            return luaL_error(L, "module function '%s' suspended but did not declare may_suspend", name);
        inv->suspended = true;
        return wait_for(L, call, make_invocation_op(call, std::move(inv)));
    }
    if (rc != TANDEM_OK) {
        std::string msg = inv->error.empty() ? std::string(name) + " failed" : inv->error;
        return luaL_error(L, "%s", msg.c_str());
    }
    if (channel_gone(call))
        return stop(L);
    return push_invocation_results(L, *inv);
}

// --- metatable ---------------------------------------------------------------

const luaL_Reg kMethods[] = {
    {"answer", m_answer},     {"ring", m_ring},         {"progress", m_progress}, {"hangup", m_hangup},
    {"get", m_get},           {"set", m_set},           {"vars", m_vars},         {"sleep", m_sleep},
    {"play", m_play},         {"read", m_read},         {"send_dtmf", m_send_dtmf}, {"dial", m_dial},
    {"bridge", m_bridge},     {"transfer", m_transfer}, {"on_hangup", m_on_hangup}, {"log", m_log},
    {nullptr, nullptr}};

const char *const kMethodNames[] = {"answer", "ring",     "progress", "hangup",   "get",       "set",
                                    "vars",   "sleep",    "play",     "read",     "send_dtmf", "dial",
                                    "bridge", "transfer", "on_hangup", "log",     "id",        "call_id",
                                    "linked_id", "name",  "state",    "cause",    "exten",     "context",
                                    "caller_num", "caller_name", "direction", nullptr};

// Properties first, then methods, then module functions.
int leg_index(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    const char *key = luaL_checkstring(L, 2);
    auto str = [&](const std::string &s) {
        lua_pushlstring(L, s.data(), s.size());
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
    auto snapshot = leg.worker.engine().registry().snapshot();
    if (snapshot->functions.count(key)) {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushstring(L, key);
        lua_pushcclosure(L, m_module_function, 2);
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
    lua_pushboolean(L, &check_leg(L, 1) == &check_leg(L, 2));
    return 1;
}

int leg_tostring(lua_State *L) {
    Leg &leg = check_leg(L, 1);
    lua_pushfstring(L, "leg %s (%s, %s)", leg.id.c_str(), leg.name.c_str(), leg_state_name(leg.state()));
    return 1;
}

} // namespace

const char *const *builtin_method_names() { return kMethodNames; }

void register_call_api(lua_State *L, LuaWorker *worker) {
    luaL_newmetatable(L, kLegMeta);
    lua_pushlightuserdata(L, worker);
    lua_newtable(L);
    for (const luaL_Reg *r = kMethods; r->name; ++r) {
        lua_pushlightuserdata(L, worker);
        lua_pushcclosure(L, r->func, 1);
        lua_setfield(L, -2, r->name);
    }
    lua_pushcclosure(L, leg_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, leg_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, leg_eq);
    lua_setfield(L, -2, "__eq");
    lua_pushcfunction(L, leg_tostring);
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
