// The Lua sandbox: every escape hatch is closed.
#include "lua/sandbox.hpp"

#include "engine_fixture.hpp"

#include <catch2/catch.hpp>

namespace {
// Runs `code` in a fresh sandbox; returns "ok:<value>" or "error:<message>".
std::string run_sandboxed(const std::string &code, const std::string &dir = "/nonexistent") {
    lua_State *L = luaL_newstate();
    tandem::lua::open_base_libraries(L);
    tandem::lua::push_sandbox_env(L, dir, "test");
    int env = lua_gettop(L);
    std::string result;
    if (luaL_loadbufferx(L, code.data(), code.size(), "=test", "t") != LUA_OK) {
        result = std::string("error:") + lua_tostring(L, -1);
    } else {
        lua_pushvalue(L, env);
        lua_setupvalue(L, -2, 1);
        if (lua_pcall(L, 0, 1, 0) != LUA_OK)
            result = std::string("error:") + lua_tostring(L, -1);
        else
            result = std::string("ok:") + luaL_tolstring(L, -1, nullptr);
    }
    lua_close(L);
    return result;
}
} // namespace

TEST_CASE("the sandbox exposes no way to run programs or touch files", "[sandbox]") {
    CHECK(run_sandboxed("return os.execute") == "ok:nil");
    CHECK(run_sandboxed("return os.exit") == "ok:nil");
    CHECK(run_sandboxed("return os.remove") == "ok:nil");
    CHECK(run_sandboxed("return os.getenv") == "ok:nil");
    CHECK(run_sandboxed("return io") == "ok:nil");
    CHECK(run_sandboxed("return debug") == "ok:nil");
    CHECK(run_sandboxed("return package") == "ok:nil");
    CHECK(run_sandboxed("return dofile") == "ok:nil");
    CHECK(run_sandboxed("return loadfile") == "ok:nil");
    CHECK(run_sandboxed("return collectgarbage") == "ok:nil");
    CHECK(run_sandboxed("return coroutine") == "ok:nil");
    CHECK(run_sandboxed("return string.dump") == "ok:nil");
    CHECK(run_sandboxed("return os.time() > 0") == "ok:true");
}

TEST_CASE("bytecode cannot be produced or loaded", "[sandbox]") {
    CHECK(run_sandboxed("return getmetatable('')") == "ok:false");
    CHECK(run_sandboxed("return ('').dump") == "ok:nil");
    auto r = run_sandboxed("return select(2, load('\\27Lua\\84\\0'))");
    CHECK(r.find("bytecode is not allowed") != std::string::npos);
    // Text chunks load, and see the sandbox, not the real globals.
    CHECK(run_sandboxed("return load('return io')()") == "ok:nil");
}

TEST_CASE("require loads only plain Lua files from the dialplan directory", "[sandbox]") {
    std::string dir = tandem::test::make_temp_dir();
    tandem::test::write_file(dir + "/helper.lua", "return { answer = 42, io = io }");
    CHECK(run_sandboxed("return require('helper').answer", dir) == "ok:42");
    CHECK(run_sandboxed("return require('helper').io", dir) == "ok:nil");
    CHECK(run_sandboxed("return require('os')", dir).find("error:") == 0);
    CHECK(run_sandboxed("return require('../etc/passwd')", dir).find("invalid module name") != std::string::npos);
    CHECK(run_sandboxed("return require('socket.core')", dir).find("error:") == 0);
}

TEST_CASE("a library table changed by one script is not changed for the others", "[sandbox]") {
    CHECK(run_sandboxed("string.format = nil; return 1") == "ok:1");
    CHECK(run_sandboxed("return type(string.format)") == "ok:function");
}
