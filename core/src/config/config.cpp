#include "config/config.hpp"

#include "config/paths.hpp"
#include "lua/sandbox.hpp"

#include <filesystem>
#include <functional>
#include <set>
#include <thread>

namespace tandem {

namespace {

// Reads the config table at the top of the stack, collecting every problem
// rather than stopping at the first.
class TableReader {
public:
    TableReader(lua_State *L, std::string file, std::vector<std::string> &errors)
        : L_(L), file_(std::move(file)), errors_(errors) {}

    void error(const std::string &where, const std::string &msg) { errors_.push_back(file_ + ": " + where + ": " + msg); }

    // Calls fn for each key of the table at `idx`; unknown keys are errors.
    void fields(int idx, const std::string &where, const std::set<std::string> &known,
                const std::function<void(const std::string &key)> &fn) {
        idx = lua_absindex(L_, idx);
        if (!lua_istable(L_, idx)) {
            error(where, std::string("expected a table, got ") + luaL_typename(L_, idx));
            return;
        }
        lua_pushnil(L_);
        while (lua_next(L_, idx)) {
            if (lua_type(L_, -2) != LUA_TSTRING) {
                error(where, "keys must be names");
            } else {
                std::string key = lua_tostring(L_, -2);
                if (!known.empty() && !known.count(key))
                    error(where.empty() ? key : where + "." + key, "unknown setting");
                else
                    fn(key);
            }
            lua_pop(L_, 1);
        }
    }

    bool string(const std::string &where, std::string &out) {
        if (lua_type(L_, -1) != LUA_TSTRING) {
            error(where, std::string("expected a string, got ") + luaL_typename(L_, -1));
            return false;
        }
        out = lua_tostring(L_, -1);
        return true;
    }

    template <typename Int> bool integer(const std::string &where, Int &out, long long min, long long max) {
        int isnum = 0;
        lua_Integer v = lua_tointegerx(L_, -1, &isnum);
        if (!isnum || v < min || v > max) {
            error(where, "expected an integer in " + std::to_string(min) + ".." + std::to_string(max));
            return false;
        }
        out = static_cast<Int>(v);
        return true;
    }

    bool boolean(const std::string &where, bool &out) {
        if (!lua_isboolean(L_, -1)) {
            error(where, "expected true or false");
            return false;
        }
        out = lua_toboolean(L_, -1);
        return true;
    }

    void string_list(const std::string &where, std::vector<std::string> &out) {
        if (lua_type(L_, -1) == LUA_TSTRING) {
            out.push_back(lua_tostring(L_, -1));
            return;
        }
        if (!lua_istable(L_, -1)) {
            error(where, "expected a list of strings");
            return;
        }
        lua_Integer n = luaL_len(L_, -1);
        for (lua_Integer i = 1; i <= n; ++i) {
            lua_geti(L_, -1, i);
            std::string s;
            if (string(where + "[" + std::to_string(i) + "]", s))
                out.push_back(s);
            lua_pop(L_, 1);
        }
    }

    // A table of scalar values, stringified (module_config entries, vars).
    void string_map(const std::string &where, std::map<std::string, std::string> &out) {
        fields(-1, where, {}, [&](const std::string &key) {
            switch (lua_type(L_, -1)) {
            case LUA_TSTRING:
            case LUA_TNUMBER: out[key] = lua_tostring(L_, -1); break;
            case LUA_TBOOLEAN: out[key] = lua_toboolean(L_, -1) ? "true" : "false"; break;
            default: error(where + "." + key, "expected a string, number or boolean");
            }
        });
    }

    // A module's table: scalars as text, nested tables (lists of trunks,
    // CIDR lists, ...) flattened into dotted keys, list positions counted
    // from 1: `trunks = { { name = "p", allowed_ips = { "10.0.0.0/8" } } }`
    // gives "trunks.1.name" and "trunks.1.allowed_ips.1". The module ABI's
    // config_get stays a flat key/value look-up.
    void flat_map(const std::string &where, const std::string &prefix, int depth,
                  std::map<std::string, std::string> &out) {
        int idx = lua_absindex(L_, -1);
        if (!lua_istable(L_, idx)) {
            error(where, std::string("expected a table, got ") + luaL_typename(L_, idx));
            return;
        }
        lua_pushnil(L_);
        while (lua_next(L_, idx)) {
            std::string key;
            if (lua_type(L_, -2) == LUA_TSTRING)
                key = lua_tostring(L_, -2);
            else if (lua_isinteger(L_, -2))
                key = std::to_string(lua_tointeger(L_, -2));
            if (key.empty()) {
                error(where, "keys must be names or list positions");
            } else {
                std::string full = prefix.empty() ? key : prefix + "." + key;
                switch (lua_type(L_, -1)) {
                case LUA_TSTRING:
                case LUA_TNUMBER: out[full] = lua_tostring(L_, -1); break;
                case LUA_TBOOLEAN: out[full] = lua_toboolean(L_, -1) ? "true" : "false"; break;
                case LUA_TTABLE:
                    if (depth < 4)
                        flat_map(where + "." + key, full, depth + 1, out);
                    else
                        error(where + "." + key, "tables nested too deeply");
                    break;
                default: error(where + "." + key, "expected a string, number, boolean or table");
                }
            }
            lua_pop(L_, 1);
        }
    }

private:
    lua_State *L_;
    std::string file_;
    std::vector<std::string> &errors_;
};

void read_records(TableReader &r, RecordsConfig &rc) {
    r.fields(-1, "records",
             {"tenant", "commit_interval_ms", "commit_records", "segment_kb", "on_spool_error", "file", "variables"},
             [&](const std::string &k) {
                 std::string where = "records." + k;
                 if (k == "tenant") {
                     r.string(where, rc.tenant);
                 } else if (k == "commit_interval_ms") {
                     r.integer(where, rc.commit_interval_ms, 1, 10000);
                 } else if (k == "commit_records") {
                     r.integer(where, rc.commit_records, 1, 100000);
                 } else if (k == "segment_kb") {
                     uint64_t kb = 0;
                     if (r.integer(where, kb, 4, 4 * 1024 * 1024))
                         rc.segment_bytes = kb * 1024;
                 } else if (k == "on_spool_error") {
                     std::string v;
                     if (r.string(where, v)) {
                         if (v != "refuse" && v != "warn")
                             r.error(where, "expected \"refuse\" or \"warn\"");
                         rc.refuse_on_spool_error = v != "warn";
                     }
                 } else if (k == "variables") {
                     r.string_list(where, rc.variables);
                 } else {
                     r.fields(-1, where, {"format", "dir"}, [&](const std::string &f) {
                         if (f == "dir") {
                             r.string(where + ".dir", rc.file_dir);
                         } else if (r.string(where + ".format", rc.file_format) && rc.file_format != "jsonl" &&
                                    rc.file_format != "csv" && rc.file_format != "both" && rc.file_format != "off") {
                             r.error(where + ".format", "expected \"jsonl\", \"csv\", \"both\" or \"off\"");
                         }
                     });
                 }
             });
}

void read_config_table(lua_State *L, TableReader &r, Config &c) {
    static const std::set<std::string> top = {"instance", "workers", "modules", "dialplan", "paths", "log",
                                              "limits", "shutdown_grace", "module_config", "originate",
                                              "records"};
    r.fields(-1, "", top, [&](const std::string &key) {
        if (key == "instance") {
            r.string(key, c.instance);
        } else if (key == "workers") {
            r.integer(key, c.workers, 0, 256);
        } else if (key == "modules") {
            r.string_list(key, c.modules);
        } else if (key == "dialplan") {
            r.string(key, c.dialplan);
        } else if (key == "shutdown_grace") {
            r.integer(key, c.shutdown_grace_s, 0, 3600);
        } else if (key == "paths") {
            r.fields(-1, key,
                     {"modules", "data", "spool", "recordings", "logs", "sounds", "control_socket"},
                     [&](const std::string &k) {
                         std::string where = "paths." + k;
                         if (k == "modules")
                             r.string_list(where, c.paths.modules);
                         else if (k == "data")
                             r.string(where, c.paths.data);
                         else if (k == "spool")
                             r.string(where, c.paths.spool);
                         else if (k == "recordings")
                             r.string(where, c.paths.recordings);
                         else if (k == "logs")
                             r.string(where, c.paths.logs);
                         else if (k == "sounds")
                             r.string(where, c.paths.sounds);
                         else if (k == "control_socket")
                             r.string(where, c.paths.control_socket);
                     });
        } else if (key == "log") {
            r.fields(-1, key, {"level", "json", "file"}, [&](const std::string &k) {
                std::string where = "log." + k;
                if (k == "level") {
                    std::string level;
                    if (r.string(where, level) && !log::parse_level(level, c.log.level))
                        r.error(where, "expected debug, info, notice, warning or error");
                } else if (k == "json") {
                    r.boolean(where, c.log.json);
                } else {
                    r.string(where, c.log_file);
                }
            });
        } else if (key == "limits") {
            r.fields(-1, key, {"instructions", "memory_kb", "max_calls"}, [&](const std::string &k) {
                std::string where = "limits." + k;
                if (k == "instructions") {
                    r.integer(where, c.limits.instructions, 1000, 1'000'000'000'000LL);
                } else if (k == "memory_kb") {
                    uint64_t kb = 0;
                    if (r.integer(where, kb, 16, 16 * 1024 * 1024))
                        c.limits.memory_bytes = kb * 1024;
                } else {
                    r.integer(where, c.limits.max_calls, 0, 10'000'000);
                }
            });
        } else if (key == "records") {
            read_records(r, c.records);
        } else if (key == "module_config") {
            r.fields(-1, key, {}, [&](const std::string &mod) {
                r.flat_map("module_config." + mod, "", 0, c.module_config[mod]);
            });
        } else if (key == "originate") {
            if (!lua_istable(L, -1)) {
                r.error(key, "expected a list of { dest = ..., exten = ..., context = ... } tables");
                return;
            }
            lua_Integer n = luaL_len(L, -1);
            for (lua_Integer i = 1; i <= n; ++i) {
                lua_geti(L, -1, i);
                std::string where = "originate[" + std::to_string(i) + "]";
                OriginateSpec o;
                r.fields(-1, where, {"dest", "exten", "context", "every", "delay", "vars"}, [&](const std::string &k) {
                    if (k == "dest")
                        r.string(where + ".dest", o.dest);
                    else if (k == "exten")
                        r.string(where + ".exten", o.exten);
                    else if (k == "context")
                        r.string(where + ".context", o.context);
                    else if (k == "every")
                        r.integer(where + ".every", o.every_s, 0, 86400);
                    else if (k == "delay")
                        r.integer(where + ".delay", o.delay_s, 0, 86400);
                    else
                        r.string_map(where + ".vars", o.vars);
                });
                if (o.dest.empty() || o.exten.empty())
                    r.error(where, "needs dest and exten");
                c.originate.push_back(std::move(o));
                lua_pop(L, 1);
            }
        }
    });
}

void resolve_paths(Config &c, const ConfigOverrides &o) {
    auto abs = [&](const std::string &p) { return paths::absolute(p, c.dir); };
    auto pick = [&](std::string &field, const std::string &override_value, const std::string &fallback) {
        if (!override_value.empty())
            field = paths::absolute(override_value, std::filesystem::current_path().string());
        else if (!field.empty())
            field = abs(field);
        else
            field = fallback;
    };
    std::string state = paths::default_state_dir(c.instance);
    pick(c.paths.data, o.data_dir, state);
    pick(c.paths.spool, o.spool_dir, c.paths.data + "/spool");
    pick(c.paths.recordings, o.recordings_dir, c.paths.data + "/recordings");
    pick(c.paths.logs, o.log_dir, c.paths.data + "/logs");
    pick(c.paths.sounds, o.sounds_dir, paths::default_data_root() + "/sounds");
    pick(c.paths.control_socket, o.control_socket, c.paths.data + "/tandem.ctl");
    c.records.file_dir = c.records.file_dir.empty() ? c.paths.data + "/records" : abs(c.records.file_dir);
    if (c.records.tenant.empty())
        c.records.tenant = c.instance;
    pick(c.dialplan, o.dialplan, c.dir + "/dialplan.lua");
    c.dialplan_from_command_line = !o.dialplan.empty();
    std::vector<std::string> modules;
    for (auto &d : o.module_dirs)
        modules.push_back(paths::absolute(d, std::filesystem::current_path().string()));
    for (auto &d : c.paths.modules)
        modules.push_back(abs(d));
    modules.push_back(paths::default_module_dir());
    c.paths.modules = std::move(modules);
    if (!c.log_file.empty())
        c.log_file = paths::absolute(c.log_file, c.paths.logs);
}

} // namespace

std::optional<Config> load_config(const std::string &file, const ConfigOverrides &overrides,
                                  std::vector<std::string> &errors) {
    Config c;
    std::error_code ec;
    c.file = std::filesystem::absolute(file, ec).lexically_normal().string();
    c.dir = std::filesystem::path(c.file).parent_path().string();
    size_t errors_before = errors.size();

    lua_State *L = luaL_newstate();
    lua::open_base_libraries(L);
    lua::push_sandbox_env(L, c.dir, "config");
    int env = lua_gettop(L);
    // Count instructions so a config with an endless loop fails instead of hanging.
    lua_sethook(
        L, [](lua_State *S, lua_Debug *) { luaL_error(S, "configuration runs too long (endless loop?)"); },
        LUA_MASKCOUNT, 50'000'000);
    if (lua::load_file(L, c.file, env) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        errors.push_back(lua_tostring(L, -1));
        lua_close(L);
        return std::nullopt;
    }
    if (!lua_istable(L, -1)) {
        errors.push_back(c.file + ": must return a table (return { modules = {...}, ... })");
        lua_close(L);
        return std::nullopt;
    }
    TableReader reader(L, c.file, errors);
    read_config_table(L, reader, c);
    lua_close(L);

    if (overrides.workers)
        c.workers = *overrides.workers;
    c.log_overrides.log_level = overrides.log_level;
    c.log_overrides.log_json = overrides.log_json;
    if (overrides.log_level && !log::parse_level(*overrides.log_level, c.log.level))
        errors.push_back("--log-level: expected debug, info, notice, warning or error");
    if (overrides.log_json)
        c.log.json = *overrides.log_json;
    if (c.workers == 0)
        c.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    resolve_paths(c, overrides);
    if (!std::filesystem::exists(c.dialplan))
        errors.push_back(c.file + ": dialplan: " + c.dialplan + " does not exist");
    if (errors.size() != errors_before)
        return std::nullopt;
    return c;
}

} // namespace tandem
