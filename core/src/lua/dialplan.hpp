#pragma once
// A loaded dialplan (one "generation") inside one worker's Lua state.
// The file returns { contexts = { NAME = { [EXTEN] = function(call) ... end } },
// on_error = function(call, err) ... end }. Calls keep the generation they
// started on alive, so a reload never changes code under a running call.
#include "lua/pattern.hpp"

#include <lua.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tandem::dialplan {

struct Route {
    Pattern pattern;
    int handler_ref = LUA_NOREF;
};

class Generation {
public:
    Generation(lua_State *L, uint64_t number) : L_(L), number_(number) {}
    ~Generation();
    Generation(const Generation &) = delete;
    Generation &operator=(const Generation &) = delete;

    // Loads FILE into this generation. On failure fills errors ("FILE:LINE: ...").
    bool load(const std::string &file, std::vector<std::string> &errors);

    // Registry ref of the handler for exten in context, or LUA_NOREF.
    int find(const std::string &context, const std::string &exten) const;
    bool has_context(const std::string &context) const { return contexts_.count(context) != 0; }
    int on_error_ref() const { return on_error_ref_; }
    uint64_t number() const { return number_; }
    const std::string &file() const { return file_; }
    size_t route_count() const;

private:
    lua_State *L_;
    uint64_t number_;
    std::string file_;
    int env_ref_ = LUA_NOREF;
    int on_error_ref_ = LUA_NOREF;
    std::map<std::string, std::vector<Route>, std::less<>> contexts_;
};

} // namespace tandem::dialplan
