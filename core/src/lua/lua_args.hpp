#pragma once
// Lua C functions written in C++ must not let Lua's longjmp (lua_error,
// lua_yield) cross a frame that owns C++ objects: their destructors would
// never run. Method bodies therefore report errors by throwing Raise and
// ask to yield by returning a Yield code; lua_entry<Body> — whose own frame
// holds only plain values — turns those into lua_error / lua_yield after the
// body's objects are gone. The readers below never raise Lua errors and
// never call metamethods (raw access only).
#include <cstdio>
#include <exception>
#include <lua.hpp>
#include <string>
#include <vector>

namespace tandem::lua {

struct Raise {
    std::string message;
    int arg = 0; // > 0: reported as "bad argument #arg to 'f' (message)"
};

enum Yield : int { kYieldOp = -1, kYieldStop = -2, kYieldTransfer = -3 };

// Defined in call_api.cpp: pushes the marker for a Yield code.
void push_yield_marker(lua_State *L, int code);

// Body hooks: the running worker's allocations are not charged to the call
// while engine code runs (so a call at its memory limit still gets a clean
// error from its own code, not from the engine's bookkeeping).
int begin_engine_section(lua_State *L);
void end_engine_section(lua_State *L, int saved);

template <int (*Body)(lua_State *)> int lua_entry(lua_State *L) {
    char message[1024];
    int arg = 0;
    int rc;
    int saved = begin_engine_section(L);
    try {
        rc = Body(L);
    } catch (const Raise &e) {
        std::snprintf(message, sizeof message, "%s", e.message.c_str());
        arg = e.arg;
        rc = 0x7fffffff;
    } catch (const std::exception &e) {
        std::snprintf(message, sizeof message, "internal error: %s", e.what());
        rc = 0x7fffffff;
    }
    end_engine_section(L, saved);
    if (rc == 0x7fffffff)
        return arg > 0 ? luaL_argerror(L, arg, message) : luaL_error(L, "%s", message);
    if (rc == kYieldOp)
        return lua_yield(L, 0);
    if (rc == kYieldStop || rc == kYieldTransfer) {
        push_yield_marker(L, rc);
        return lua_yield(L, 1);
    }
    return rc;
}

inline std::string type_name(lua_State *L, int idx) { return luaL_typename(L, idx); }

inline const char *arg_string(lua_State *L, int idx, const char *what = "string") {
    int t = lua_type(L, idx);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        throw Raise{std::string(what) + " expected, got " + type_name(L, idx), idx};
    return lua_tostring(L, idx);
}

inline const char *opt_string(lua_State *L, int idx, const char *fallback) {
    return lua_isnoneornil(L, idx) ? fallback : arg_string(L, idx);
}

inline lua_Integer arg_integer(lua_State *L, int idx, lua_Integer lo, lua_Integer hi, const char *what) {
    int ok = 0;
    lua_Integer v = lua_tointegerx(L, idx, &ok);
    if (!ok || v < lo || v > hi)
        throw Raise{std::string(what) + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi),
                    idx};
    return v;
}

// Pushes t[name] without metamethods; returns its type.
inline int raw_field(lua_State *L, int table, const char *name) {
    table = lua_absindex(L, table);
    lua_pushstring(L, name);
    return lua_rawget(L, table);
}

// A string or a list of strings at idx.
inline void string_list(lua_State *L, int idx, std::vector<std::string> &out, const char *what) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        out.emplace_back(lua_tostring(L, idx));
        return;
    }
    if (!lua_istable(L, idx))
        throw Raise{std::string(what) + ": expected a string or a list of strings, got " + type_name(L, idx), idx};
    auto n = static_cast<lua_Integer>(lua_rawlen(L, idx));
    for (lua_Integer i = 1; i <= n; ++i) {
        int t = lua_rawgeti(L, idx, i);
        if (t != LUA_TSTRING) {
            lua_pop(L, 1);
            throw Raise{std::string(what) + ": item " + std::to_string(i) + " is not a string", idx};
        }
        out.emplace_back(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

} // namespace tandem::lua
