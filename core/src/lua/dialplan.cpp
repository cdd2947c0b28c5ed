#include "lua/dialplan.hpp"

#include "lua/call_api.hpp"
#include "lua/sandbox.hpp"

#include <algorithm>
#include <filesystem>

namespace tandem::dialplan {

Generation::~Generation() {
    for (auto &[_, routes] : contexts_)
        for (auto &r : routes)
            luaL_unref(L_, LUA_REGISTRYINDEX, r.handler_ref);
    luaL_unref(L_, LUA_REGISTRYINDEX, on_error_ref_);
    luaL_unref(L_, LUA_REGISTRYINDEX, env_ref_);
}

namespace {
// "FILE:LINE" of a Lua function, for errors about a handler.
std::string where_defined(lua_State *L, int idx) {
    lua_Debug ar;
    lua_pushvalue(L, idx);
    if (lua_getinfo(L, ">S", &ar) && ar.linedefined > 0)
        return std::string(ar.short_src) + ":" + std::to_string(ar.linedefined);
    return {};
}
} // namespace

namespace {
// Loading runs the file's top level: bound it, so a loop there is an error
// in `tandem check`, start-up and reload instead of a hang.
constexpr int kLoadHookEvery = 1000;
constexpr long kLoadBudget = 50'000'000 / kLoadHookEvery;
thread_local long t_load_budget = 0;
void load_hook(lua_State *L, lua_Debug *) {
    if (--t_load_budget < 0) {
        luaL_where(L, 0); // inside a hook, level 0 is the interrupted code
        lua_pushliteral(L, "the dialplan's top level runs too long (an endless loop?)");
        lua_concat(L, 2);
        lua_error(L);
    }
}

struct LoadBudget {
    explicit LoadBudget(lua_State *L) : L_(L), hook_(lua_gethook(L)), mask_(lua_gethookmask(L)), count_(lua_gethookcount(L)) {
        t_load_budget = kLoadBudget;
        lua_sethook(L, load_hook, LUA_MASKCOUNT, kLoadHookEvery);
    }
    ~LoadBudget() { lua_sethook(L_, hook_, mask_, count_); }
    lua_State *L_;
    lua_Hook hook_;
    int mask_, count_;
};
} // namespace

bool Generation::load(const std::string &file, std::vector<std::string> &errors) {
    LoadBudget budget(L_);
    file_ = file;
    size_t before = errors.size();
    int top = lua_gettop(L_);
    lua::push_sandbox_env(L_, std::filesystem::path(file).parent_path().string(), "lua");
    lua::push_dialplan_globals(L_, lua_gettop(L_));
    int env = lua_gettop(L_);
    if (lua::load_file(L_, file, env) != LUA_OK || lua_pcall(L_, 0, 1, 0) != LUA_OK) {
        errors.push_back(lua_tostring(L_, -1));
        lua_settop(L_, top);
        return false;
    }
    int result = lua_gettop(L_);
    if (!lua_istable(L_, result)) {
        errors.push_back(file + ": must return a table: return { contexts = { ... } }");
        lua_settop(L_, top);
        return false;
    }
    lua_pushnil(L_);
    while (lua_next(L_, result)) {
        const char *key = lua_type(L_, -2) == LUA_TSTRING ? lua_tostring(L_, -2) : "?";
        if (std::string_view(key) != "contexts" && std::string_view(key) != "on_error")
            errors.push_back(file + ": unknown key '" + key + "' (expected contexts, on_error)");
        lua_pop(L_, 1);
    }
    lua_getfield(L_, result, "on_error");
    if (lua_isfunction(L_, -1))
        on_error_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
    else if (!lua_isnil(L_, -1))
        errors.push_back(file + ": on_error must be a function"), lua_pop(L_, 1);
    else
        lua_pop(L_, 1);

    lua_getfield(L_, result, "contexts");
    if (!lua_istable(L_, -1)) {
        errors.push_back(file + ": contexts must be a table of contexts");
    } else {
        int contexts = lua_gettop(L_);
        lua_pushnil(L_);
        while (lua_next(L_, contexts)) {
            if (lua_type(L_, -2) != LUA_TSTRING || !lua_istable(L_, -1)) {
                errors.push_back(file + ": each context must be NAME = { [EXTEN] = function(call) ... end }");
                lua_pop(L_, 1);
                continue;
            }
            std::string context = lua_tostring(L_, -2);
            auto &routes = contexts_[context];
            int ctx = lua_gettop(L_);
            lua_pushnil(L_);
            while (lua_next(L_, ctx)) {
                // Convert a copy: lua_tostring on the key itself would break lua_next.
                lua_pushvalue(L_, -2);
                std::string exten = lua_type(L_, -1) == LUA_TSTRING || lua_type(L_, -1) == LUA_TNUMBER
                                        ? std::string(lua_tostring(L_, -1))
                                        : std::string("?");
                lua_pop(L_, 1);
                std::string label = file + ": context '" + context + "', extension '" + exten + "'";
                Route route;
                std::string error;
                if (!lua_isfunction(L_, -1)) {
                    errors.push_back(label + ": expected a function(call), got " + luaL_typename(L_, -1));
                    lua_pop(L_, 1);
                } else if (!Pattern::compile(exten, route.pattern, error)) {
                    std::string at = where_defined(L_, -1);
                    errors.push_back((at.empty() ? label : at + ": " + label) + ": " + error);
                    lua_pop(L_, 1);
                } else {
                    route.handler_ref = luaL_ref(L_, LUA_REGISTRYINDEX);
                    routes.push_back(std::move(route));
                }
            }
            std::stable_sort(routes.begin(), routes.end(),
                             [](const Route &a, const Route &b) { return a.pattern.more_specific_than(b.pattern); });
            lua_pop(L_, 1);
        }
    }
    lua_pushvalue(L_, env);
    env_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
    lua_settop(L_, top);
    return errors.size() == before;
}

int Generation::find(const std::string &context, const std::string &exten) const {
    auto it = contexts_.find(context);
    if (it == contexts_.end())
        return LUA_NOREF;
    for (auto &r : it->second)
        if (r.pattern.matches(exten))
            return r.handler_ref;
    return LUA_NOREF;
}

size_t Generation::route_count() const {
    size_t n = 0;
    for (auto &[_, routes] : contexts_)
        n += routes.size();
    return n;
}

} // namespace tandem::dialplan
