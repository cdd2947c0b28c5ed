#pragma once
// The Lua sandbox shared by tandem.lua and dialplans: what a script may
// reach. No os.execute, io, debug, package/C modules, bytecode, dofile or
// collectgarbage; `require` loads only plain-text .lua files from the
// dialplan's own directory, into the same sandbox.
#include <lua.hpp>
#include <string>

namespace tandem::lua {

// Opens the libraries the sandbox draws from and removes what it must never
// expose even indirectly (string.dump, the string metatable).
void open_base_libraries(lua_State *L);

// Pushes a new environment table. `root_dir` is where require() looks.
// `log_source` names the log lines that print() writes ("config", "lua").
void push_sandbox_env(lua_State *L, const std::string &root_dir, const std::string &log_source);

// Loads FILE (text only) as a chunk whose _ENV is the table at `env_index`.
// Returns LUA_OK with the function pushed, or an error with the message
// ("FILE:LINE: ...") pushed.
int load_file(lua_State *L, const std::string &file, int env_index);

} // namespace tandem::lua
