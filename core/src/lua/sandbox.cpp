#include "lua/sandbox.hpp"

#include "log.hpp"

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tandem::lua {

namespace {

const char *const kBaseAllowed[] = {"assert",   "error",    "ipairs", "next",     "pairs",    "pcall",
                                    "rawequal", "rawget",   "rawlen", "rawset",   "select",   "setmetatable",
                                    "getmetatable", "tonumber", "tostring", "type", "xpcall", nullptr};
const char *const kOsAllowed[] = {"time", "clock", "date", "difftime", nullptr};
const char *const kLibsCopied[] = {"string", "table", "math", "utf8", nullptr};

// Reads a whole file; false with a message if it cannot.
bool read_file(const std::string &file, std::string &out, std::string &error) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        error = "cannot open " + file;
        return false;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

void copy_fields(lua_State *L, int from, int to, const char *const *names) {
    from = lua_absindex(L, from);
    to = lua_absindex(L, to);
    for (; *names; ++names) {
        lua_getfield(L, from, *names);
        lua_setfield(L, to, *names);
    }
}

// A shallow copy of a library table, so a script that assigns to
// string.format changes only its own sandbox.
void copy_library(lua_State *L, int env, const char *name) {
    env = lua_absindex(L, env);
    lua_getglobal(L, name);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -4);
    }
    lua_remove(L, -2);
    lua_setfield(L, env, name);
}

// The sandbox's C functions keep no C++ objects alive where Lua may raise an
// error (a longjmp would skip their destructors): Lua buffers and C strings.
int sandbox_print(lua_State *L) {
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; ++i) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, nullptr);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    const char *source = lua_tostring(L, lua_upvalueindex(1));
    size_t len;
    const char *line = lua_tolstring(L, -1, &len);
    log::write(log::Level::info, source ? source : "lua", {}, std::string_view(line, len));
    return 0;
}

int sandbox_log(lua_State *L) {
    auto level = static_cast<log::Level>(lua_tointeger(L, lua_upvalueindex(1)));
    const char *source = lua_tostring(L, lua_upvalueindex(2));
    log::write(level, source ? source : "lua", {}, luaL_checkstring(L, 1));
    return 0;
}

// load(chunk [, name [, mode [, env]]]) restricted to text chunks in the sandbox.
int sandbox_load(lua_State *L) {
    size_t len;
    const char *chunk = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(load)");
    if (len > 0 && chunk[0] == LUA_SIGNATURE[0]) {
        luaL_pushfail(L);
        lua_pushliteral(L, "attempt to load a binary chunk (bytecode is not allowed)");
        return 2;
    }
    if (luaL_loadbufferx(L, chunk, len, name, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    // _ENV: the caller's env argument, else the sandbox this load belongs to.
    if (!lua_isnoneornil(L, 4))
        lua_pushvalue(L, 4);
    else
        lua_pushvalue(L, lua_upvalueindex(1));
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    return 1;
}

bool valid_module_name(const char *name) {
    if (!*name)
        return false;
    for (const char *p = name; *p; ++p)
        if (!(std::isalnum(static_cast<unsigned char>(*p)) || *p == '_' || *p == '.'))
            return false;
    return name[0] != '.';
}

// require(name): NAME.lua (dots become slashes) from the sandbox's root dir.
int sandbox_require(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    if (!valid_module_name(name))
        return luaL_error(L, "require: invalid module name '%s' (letters, digits, '_' and '.' only)", name);
    int loaded = lua_upvalueindex(3);
    lua_getfield(L, loaded, name);
    if (!lua_isnil(L, -1))
        return 1;
    lua_pop(L, 1);
    const char *relative = luaL_gsub(L, name, ".", "/"); // name is validated: no "..", no "/"
    const char *path = lua_pushfstring(L, "%s/%s.lua", lua_tostring(L, lua_upvalueindex(2)), relative);
    int status = load_file(L, path, lua_upvalueindex(1));
    if (status != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, loaded, name);
    return 1;
}

} // namespace

void open_base_libraries(lua_State *L) {
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 1);
    lua_pop(L, 6);
    // Bytecode must never be produced or loaded.
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    // getmetatable("") would hand out the one string metatable all scripts share.
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

void push_sandbox_env(lua_State *L, const std::string &root_dir, const std::string &log_source) {
    lua_newtable(L);
    int env = lua_gettop(L);
    lua_pushglobaltable(L);
    copy_fields(L, -1, env, kBaseAllowed);
    lua_pop(L, 1);
    for (const char *const *lib = kLibsCopied; *lib; ++lib)
        copy_library(L, env, *lib);
    lua_newtable(L);
    lua_getglobal(L, LUA_OSLIBNAME);
    copy_fields(L, -1, -2, kOsAllowed);
    lua_pop(L, 1);
    lua_setfield(L, env, "os");

    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");
    lua_pushstring(L, LUA_VERSION);
    lua_setfield(L, env, "_VERSION");

    lua_pushstring(L, log_source.c_str());
    lua_pushcclosure(L, sandbox_print, 1);
    lua_setfield(L, env, "print");

    lua_newtable(L);
    const std::pair<const char *, log::Level> levels[] = {{"debug", log::Level::debug},
                                                          {"info", log::Level::info},
                                                          {"notice", log::Level::notice},
                                                          {"warning", log::Level::warning},
                                                          {"error", log::Level::error}};
    for (auto &[name, level] : levels) {
        lua_pushinteger(L, static_cast<lua_Integer>(level));
        lua_pushstring(L, log_source.c_str());
        lua_pushcclosure(L, sandbox_log, 2);
        lua_setfield(L, -2, name);
    }
    lua_setfield(L, env, "log");

    lua_pushvalue(L, env);
    lua_pushcclosure(L, sandbox_load, 1);
    lua_setfield(L, env, "load");

    lua_pushvalue(L, env);
    lua_pushstring(L, root_dir.c_str());
    lua_newtable(L);
    lua_pushcclosure(L, sandbox_require, 3);
    lua_setfield(L, env, "require");
}

int load_file(lua_State *L, const std::string &file, int env_index) {
    env_index = lua_absindex(L, env_index);
    std::string source, error;
    if (!read_file(file, source, error)) {
        lua_pushstring(L, error.c_str());
        return LUA_ERRFILE;
    }
    if (!source.empty() && source[0] == LUA_SIGNATURE[0]) {
        lua_pushfstring(L, "%s: binary chunks are not allowed", file.c_str());
        return LUA_ERRSYNTAX;
    }
    // Skip a leading #! line, as the stand-alone interpreter does.
    size_t start = 0;
    if (source.rfind("#", 0) == 0) {
        start = source.find('\n');
        start = start == std::string::npos ? source.size() : start;
    }
    std::string chunkname = "@" + file;
    int rc = luaL_loadbufferx(L, source.data() + start, source.size() - start, chunkname.c_str(), "t");
    if (rc != LUA_OK)
        return rc;
    lua_pushvalue(L, env_index);
    lua_setupvalue(L, -2, 1);
    return LUA_OK;
}

} // namespace tandem::lua
