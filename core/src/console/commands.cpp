// The built-in console commands. Each returns human text and, for --json,
// the same facts as structured data.
#include "console/server.hpp"

#include "console/fan_out.hpp"

#include "lua/lua_worker.hpp"
#include "runtime/bridge.hpp"
#include "runtime/call.hpp"
#include "records/service.hpp"
#include "runtime/engine.hpp"
#include "runtime/ids.hpp"
#include "runtime/worker.hpp"

#include <fmt/format.h>

struct tandem_console_out {
    std::string text;
    bool json = false; // the client asked for --json (host->console_json)
};

namespace tandem {

using console::Reply;
using nlohmann::json;
using console::on_every_worker;

namespace {

const char *const kHelp = R"(commands:
  status                          uptime, workers, calls, Lua memory
  calls                           running calls
  legs                            every leg of every call
  modules                         loaded modules
  module load|unload|reload NAME  manage a module at runtime
  registry                        channel drivers, dialplan functions, codecs, formats, sinks
  reload                          re-read tandem.lua and the dialplan (new calls use it)
  hangup CALL_ID [CAUSE]          hang up every leg of a call (Q.850 cause, default 16)
  originate DEST EXTEN [CONTEXT] [VAR=VALUE ...]
                                  call DEST; when it answers it runs EXTEN@CONTEXT
  events [TYPE ...]               stream events as they happen (call_start call_end leg_state dtmf
                                  bridge unbridge module dialplan custom); Ctrl-C stops
  records                         record spool and sinks: health, checkpoints, delivery
  spy [list|mode ID MODE|stop ID] supervisor spies: list them, switch listen/whisper/barge, stop one
  conference [list|kick|mute|unmute ROOM ID]
                                  conference rooms and participants; remove, mute or unmute one (or all)
  shutdown                        stop taking calls, let running calls finish, exit
  help                            this text)";

// A plain text table whose columns fit their widest cell.
std::string render_table(const std::vector<std::string> &header, const std::vector<std::vector<std::string>> &rows) {
    std::vector<size_t> width(header.size());
    for (size_t i = 0; i < header.size(); ++i)
        width[i] = header[i].size();
    for (auto &row : rows)
        for (size_t i = 0; i < row.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    auto line = [&](const std::vector<std::string> &cells) {
        std::string out;
        for (size_t i = 0; i < cells.size(); ++i) {
            out += cells[i];
            if (i + 1 < cells.size())
                out += std::string(width[i] - cells[i].size() + 2, ' ');
        }
        return out + "\n";
    };
    std::string text = line(header);
    for (auto &row : rows)
        text += line(row);
    return text;
}

json leg_json(Leg &leg) {
    json j = {{"id", leg.id},
              {"call_id", leg.call_id},
              {"linked_id", leg.linked_id},
              {"name", leg.name},
              {"state", leg_state_name(leg.state())},
              {"direction", leg.direction == Direction::inbound ? "inbound" : "outbound"},
              {"format", media::format_name(leg.format())},
              {"caller_num", leg.caller_num},
              {"exten", leg.exten},
              {"context", leg.context}};
    if (leg.bridge)
        j["bridged_to"] = leg.bridge->peer_of(leg).id;
    return j;
}

uint64_t sum_over_workers(Engine &engine, uint64_t (Worker::*counter)() const) {
    uint64_t n = 0;
    for (int i = 0; i < engine.worker_count(); ++i)
        n += (engine.worker(i).*counter)();
    return n;
}

Reply cmd_status(Engine &engine) {
    auto s = engine.stats();
    json lua_mem = on_every_worker(engine, [](Worker &w) { return json::array({w.lua().total_memory()}); });
    uint64_t bytes = 0;
    for (auto &b : lua_mem)
        bytes += b.get<uint64_t>();
    json data = {{"version", Engine::version()},
                 {"instance", engine.config().instance},
                 {"uptime_s", s.uptime_s},
                 {"workers", s.workers},
                 {"calls", s.calls},
                 {"calls_total", s.calls_total},
                 {"accepting", s.accepting},
                 {"lua_bytes", bytes},
                 {"media_overruns", sum_over_workers(engine, &Worker::media_overruns)},
                 {"media_slow_ticks", sum_over_workers(engine, &Worker::media_slow_ticks)}};
    return {true,
            fmt::format("tandem {} instance '{}': up {} s, {} workers, {} calls now, {} since start, Lua heap {} KiB{}",
                        Engine::version(), engine.config().instance, s.uptime_s, s.workers, s.calls, s.calls_total,
                        bytes / 1024, s.accepting ? "" : " (shutting down)"),
            data};
}

Reply cmd_calls(Engine &engine) {
    json calls = on_every_worker(engine, [](Worker &w) {
        json out = json::array();
        uint64_t now = ids::now_us();
        for (auto &[id, call] : w.calls()) {
            Leg &ch = *call->channel;
            out.push_back({{"id", id},
                           {"linked_id", call->linked_id},
                           {"worker", w.index()},
                           {"channel", ch.name},
                           {"state", leg_state_name(ch.state())},
                           {"exten", ch.exten},
                           {"context", ch.context},
                           {"legs", call->legs.size()},
                           {"duration_s", (now - call->started_us) / 1000000},
                           {"lua_bytes", w.lua().memory_of(*call)}});
        }
        return out;
    });
    std::vector<std::vector<std::string>> rows;
    for (auto &c : calls)
        rows.push_back({c["id"].get<std::string>(), c["state"].get<std::string>(), c["channel"].get<std::string>(),
                        c["exten"].get<std::string>(), std::to_string(c["legs"].get<size_t>()),
                        std::to_string(c["duration_s"].get<uint64_t>())});
    std::string text = render_table({"CALL", "STATE", "CHANNEL", "EXTEN", "LEGS", "SECS"}, rows);
    text += fmt::format("{} calls", calls.size());
    return {true, text, calls};
}

Reply cmd_legs(Engine &engine) {
    json legs = on_every_worker(engine, [](Worker &w) {
        json out = json::array();
        for (auto &[_, call] : w.calls())
            for (auto &leg : call->legs)
                out.push_back(leg_json(*leg));
        return out;
    });
    std::vector<std::vector<std::string>> rows;
    for (auto &l : legs)
        rows.push_back({l["id"].get<std::string>(), l["state"].get<std::string>(), l["direction"].get<std::string>(),
                        l["name"].get<std::string>(), l["format"].get<std::string>(),
                        l.value("bridged_to", std::string("-"))});
    std::string text = render_table({"LEG", "STATE", "DIRECTION", "NAME", "FORMAT", "BRIDGED TO"}, rows);
    text += fmt::format("{} legs", legs.size());
    return {true, text, legs};
}

Reply cmd_modules(Engine &engine) {
    json data = json::array();
    std::vector<std::vector<std::string>> rows;
    for (auto &m : engine.modules().list()) {
        data.push_back({{"name", m.name},
                        {"version", m.version},
                        {"path", m.path},
                        {"description", m.description},
                        {"depends", m.depends},
                        {"users", m.users}});
        rows.push_back({m.name, m.version, std::to_string(m.users), m.description});
    }
    std::string text = render_table({"MODULE", "VERSION", "USERS", "DESCRIPTION"}, rows);
    text += fmt::format("{} modules", data.size());
    return {true, text, data};
}

Reply cmd_module(Engine &engine, const std::vector<std::string> &args) {
    if (args.size() != 3)
        return {false, "usage: module load|unload|reload NAME", nullptr};
    std::string error;
    bool ok;
    if (args[1] == "load")
        ok = engine.modules().load(args[2], error);
    else if (args[1] == "unload")
        ok = engine.modules().unload(args[2], error);
    else if (args[1] == "reload")
        ok = engine.modules().reload(args[2], error);
    else
        return {false, "usage: module load|unload|reload NAME", nullptr};
    if (!ok)
        return {false, error, {{"error", error}}};
    return {true, "module " + args[2] + ": " + args[1] + " done", {{"module", args[2]}, {"action", args[1]}}};
}

// The built-ins, then what the loaded modules add (e.g. `record ...`).
Reply cmd_help(Engine &engine) {
    std::string text = kHelp;
    auto s = engine.registry().snapshot();
    if (!s->commands.empty())
        text += "\nmodule commands:";
    for (auto &[name, r] : s->commands)
        text += fmt::format("\n  {:<31} {}", r.desc->usage ? r.desc->usage : name.c_str(),
                            r.desc->help ? r.desc->help : "");
    return {true, text, nullptr};
}

Reply cmd_registry(Engine &engine) {
    auto s = engine.registry().snapshot();
    json data = {{"channels", json::array()},
                 {"functions", json::array()},
                 {"codecs", json::array()},
                 {"file_formats", json::array()},
                 {"cdr_sinks", json::array()},
                 {"commands", json::array()}};
    auto owner = [](const auto &r) { return r.owner ? r.owner->name : std::string("core"); };
    std::string text;
    for (auto &[name, r] : s->channels) {
        const char *about = r.desc->description ? r.desc->description : "";
        data["channels"].push_back({{"name", name}, {"module", owner(r)}, {"description", about}});
        text += fmt::format("channel   {:<16} {} ({})\n", name, about, owner(r));
    }
    for (auto &[name, r] : s->functions) {
        const char *help = r.desc->help ? r.desc->help : "";
        data["functions"].push_back({{"name", name},
                                     {"module", owner(r)},
                                     {"signature", r.desc->signature},
                                     {"may_suspend", r.desc->may_suspend},
                                     {"help", help}});
        text += fmt::format("function  call:{}({}) {}{} ({})\n", name, r.desc->signature,
                            r.desc->may_suspend ? "[suspends] " : "", help, owner(r));
    }
    for (auto &r : s->codecs) {
        data["codecs"].push_back({{"name", r.desc->name}, {"rate", r.desc->sample_rate}, {"module", owner(r)}});
        text += fmt::format("codec     {:<16} {} Hz ({})\n", r.desc->name, r.desc->sample_rate, owner(r));
    }
    for (auto &r : s->file_formats) {
        data["file_formats"].push_back({{"name", r.desc->name}, {"extensions", r.desc->extensions}});
        text += fmt::format("format    {:<16} {} ({})\n", r.desc->name, r.desc->extensions, owner(r));
    }
    for (auto &r : s->cdr_sinks) {
        data["cdr_sinks"].push_back({{"name", r.desc->name}, {"module", owner(r)}});
        text += fmt::format("cdr sink  {:<16} ({})\n", r.desc->name, owner(r));
    }
    for (auto &[name, r] : s->commands) {
        data["commands"].push_back({{"name", name}, {"usage", r.desc->usage}, {"module", owner(r)}});
        text += fmt::format("command   {:<16} {} ({})\n", name, r.desc->usage ? r.desc->usage : "", owner(r));
    }
    if (!text.empty())
        text.pop_back();
    return {true, text, data};
}

Reply cmd_reload(Engine &engine) {
    std::vector<std::string> errors;
    if (!engine.reload(errors)) {
        std::string text = "reload refused; the running configuration stays:";
        for (auto &e : errors)
            text += "\n  " + e;
        return {false, text, {{"errors", errors}}};
    }
    return {true, "reloaded; running calls finish on their old dialplan", {{"reloaded", true}}};
}

Reply cmd_hangup(Engine &engine, const std::vector<std::string> &args) {
    if (args.size() < 2 || args.size() > 3)
        return {false, "usage: hangup CALL_ID [CAUSE]", nullptr};
    int cause = TANDEM_CAUSE_NORMAL_CLEARING;
    if (args.size() == 3) {
        try {
            cause = std::stoi(args[2]);
        } catch (...) {
            cause = 0;
        }
        if (cause < 1 || cause > 127)
            return {false, "cause must be a Q.850 number 1..127", nullptr};
    }
    std::string id = args[1];
    json found = on_every_worker(engine, [id, cause](Worker &w) {
        if (Call *call = w.find_call(id)) {
            call->hangup_all(cause);
            return json::array({true});
        }
        return json::array();
    });
    if (found.empty())
        return {false, "no call " + id, nullptr};
    return {true, "hung up " + id, {{"call_id", id}, {"cause", cause}}};
}

Reply cmd_records(Engine &engine) {
    json st = engine.records().status();
    const json &spool = st["spool"];
    std::string text = fmt::format("spool {}: {}, durable up to {}, {} segments, on error: {}\n",
                                   spool["dir"].get<std::string>(),
                                   spool["healthy"].get<bool>() ? "healthy" : "FAILING: " + spool["error"].get<std::string>(),
                                   spool["durable"].get<std::string>(), spool["segments"].get<size_t>(),
                                   spool["on_spool_error"].get<std::string>());
    for (auto &s : st["sinks"])
        text += fmt::format("sink {}: checkpoint {}, {}, {} delivered, {} failed attempts{}\n",
                            s["name"].get<std::string>(), s["checkpoint"].get<std::string>(),
                            s["caught_up"].get<bool>() ? "caught up" : "behind", s["delivered"].get<uint64_t>(),
                            s["failures"].get<uint64_t>(),
                            s["last_error"].get<std::string>().empty() ? "" : " (" + s["last_error"].get<std::string>() + ")");
    text.pop_back();
    return {true, text, st};
}

Reply cmd_originate(Engine &engine, const std::vector<std::string> &args) {
    if (args.size() < 3)
        return {false, "usage: originate DEST EXTEN [CONTEXT] [VAR=VALUE ...]", nullptr};
    std::string context = "default";
    std::map<std::string, std::string> vars;
    for (size_t i = 3; i < args.size(); ++i) {
        auto eq = args[i].find('=');
        if (eq == std::string::npos && i == 3)
            context = args[i];
        else if (eq != std::string::npos && eq > 0)
            vars[args[i].substr(0, eq)] = args[i].substr(eq + 1);
        else
            return {false, "expected VAR=VALUE, got '" + args[i] + "'", nullptr};
    }
    std::string error;
    std::string id = engine.originate(args[1], args[2], context, vars, error);
    if (id.empty())
        return {false, "originate failed: " + error, {{"error", error}}};
    return {true, "originated call " + id, {{"call_id", id}}};
}

Reply cmd_module_command(Engine &engine, const std::vector<std::string> &args, bool want_json) {
    auto s = engine.registry().snapshot();
    auto it = s->commands.find(args[0]);
    if (it == s->commands.end())
        return {false, "unknown command '" + args[0] + "'; try: help", nullptr};
    ModuleUse use = ModuleUse::acquire(it->second.owner.get());
    if (!use)
        return {false, "command '" + args[0] + "' is unavailable: its module is unloading", nullptr};
    std::vector<const char *> argv;
    for (auto &a : args)
        argv.push_back(a.c_str());
    tandem_console_out out;
    out.json = want_json;
    const tandem_console_command *c = it->second.desc;
    int rc = c->run(c->user, static_cast<int>(argv.size()), argv.data(), &out);
    if (!out.text.empty() && out.text.back() == '\n')
        out.text.pop_back();
    auto data = json::parse(out.text, nullptr, false);
    if (data.is_discarded() || !(data.is_object() || data.is_array()))
        data = {{"output", out.text}};
    return {rc == TANDEM_OK, out.text, data};
}

} // namespace

std::vector<std::string> ConsoleServer::builtin_command_names() {
    return {"status", "calls",  "legs",      "modules",  "module", "registry",
            "reload", "hangup", "originate", "shutdown", "help",   "events", "records", "spy",
            "conference"};
}

void ConsoleServer::print(tandem_console_out *out, const char *text) {
    if (out && text)
        out->text += text;
}

bool ConsoleServer::wants_json(const tandem_console_out *out) { return out && out->json; }

Reply ConsoleServer::execute(const std::vector<std::string> &args, bool want_json) {
    if (args.empty() || args[0] == "help")
        return cmd_help(engine_);
    const std::string &cmd = args[0];
    if (cmd == "status")
        return cmd_status(engine_);
    if (cmd == "calls")
        return cmd_calls(engine_);
    if (cmd == "legs")
        return cmd_legs(engine_);
    if (cmd == "modules")
        return cmd_modules(engine_);
    if (cmd == "module")
        return cmd_module(engine_, args);
    if (cmd == "registry")
        return cmd_registry(engine_);
    if (cmd == "reload")
        return cmd_reload(engine_);
    if (cmd == "hangup")
        return cmd_hangup(engine_, args);
    if (cmd == "originate")
        return cmd_originate(engine_, args);
    if (cmd == "records")
        return cmd_records(engine_);
    if (cmd == "spy")
        return console::cmd_spy(engine_, args);
    if (cmd == "conference")
        return console::cmd_conference(engine_, args);
    if (cmd == "shutdown") {
        engine_.request_shutdown();
        return {true, "shutting down", {{"shutdown", true}}};
    }
    return cmd_module_command(engine_, args, want_json);
}

} // namespace tandem
