#pragma once
// The dialplan's view of calls: the `call` object (a Lua userdata for a leg)
// and its methods, API v1 (docs/dialplan.md). Methods that wait yield to the
// worker's loop through PendingOps; module functions registered through the
// C ABI appear as further methods, with arguments checked against their
// declared signature.
#include <lua.hpp>

namespace tandem {
class Leg;
class LuaWorker;
namespace lua {

// Creates the leg metatable and method table in L (once per worker state).
void register_call_api(lua_State *L, LuaWorker *worker);
// Adds the dialplan-only globals (the `tandem` table) to the env at `env`.
void push_dialplan_globals(lua_State *L, int env);
// Pushes a call/leg object for `leg` (holds a reference to it).
void push_leg(lua_State *L, Leg &leg);
// The names of the built-in methods: module functions may not reuse them.
const char *const *builtin_method_names();

} // namespace lua
} // namespace tandem
