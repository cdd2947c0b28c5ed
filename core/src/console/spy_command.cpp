// `tandem ctl spy`: the supervisor spies running now, switching their mode
// and stopping them. Spies start from the dialplan (call:spy); the console
// can start one through `originate` to a route that calls it.
#include "console/fan_out.hpp"

#include "runtime/leg.hpp"
#include "runtime/mixer.hpp"
#include "runtime/worker.hpp"

#include <fmt/format.h>

namespace tandem::console {

using nlohmann::json;

namespace {

json spy_json(const Mixer &m, int worker) {
    const MixLink &sup = *m.supervisor();
    return {{"supervisor", sup.leg_id},
            {"supervisor_call", sup.call_id},
            {"supervisor_name", sup.leg_name},
            {"target", m.target()->id},
            {"target_name", m.target()->name},
            {"peer", m.peer()->id},
            {"mode", spy_mode_name(static_cast<SpyMode>(sup.mode.load(std::memory_order_relaxed)))},
            {"rate", m.rate()},
            {"worker", worker}};
}

// Runs `change` on every spy matching `id`, on its home worker; returns them.
json change_spies(Engine &engine, const std::string &id, const std::function<void(Mixer &)> &change) {
    return on_every_worker(engine, [id, change](Worker &w) {
        json out = json::array();
        for (Mixer *m : w.mixing().spies_matching(id)) {
            out.push_back(spy_json(*m, w.index()));
            change(*m);
        }
        return out;
    });
}

Reply list(Engine &engine) {
    json spies = change_spies(engine, "", [](Mixer &) {});
    std::string text = fmt::format("{:<24}  {:<24}  {:<24}  {}\n", "SUPERVISOR", "TARGET", "PEER", "MODE");
    for (auto &s : spies)
        text += fmt::format("{:<24}  {:<24}  {:<24}  {}\n", s["supervisor"].get<std::string>(),
                            s["target"].get<std::string>() + " " + s["target_name"].get<std::string>(),
                            s["peer"].get<std::string>(), s["mode"].get<std::string>());
    text += fmt::format("{} spies", spies.size());
    return {true, text, spies};
}

} // namespace

Reply cmd_spy(Engine &engine, const std::vector<std::string> &args) {
    const char *usage = "usage: spy [list] | spy mode ID listen|whisper|barge | spy stop ID "
                        "(ID: a leg or call id of the supervisor, the target or its peer)";
    if (asks_for_list(args))
        return list(engine);
    if (args.size() == 4 && args[1] == "mode") {
        SpyMode mode;
        if (!parse_spy_mode(args[3], mode))
            return {false, "mode is listen, whisper or barge", nullptr};
        json changed = change_spies(engine, args[2], [mode](Mixer &m) {
            m.supervisor()->mode.store(static_cast<int>(mode), std::memory_order_relaxed);
        });
        if (changed.empty())
            return {false, "no spy matches " + args[2], nullptr};
        for (auto &s : changed)
            s["mode"] = args[3];
        return {true, fmt::format("{} spy(s) now in {} mode", changed.size(), args[3]), changed};
    }
    if (args.size() == 3 && args[1] == "stop") {
        json stopped = change_spies(engine, args[2], [](Mixer &m) { m.end_all(MixEnd::stopped); });
        if (stopped.empty())
            return {false, "no spy matches " + args[2], nullptr};
        return {true, fmt::format("stopped {} spy(s)", stopped.size()), stopped};
    }
    return {false, usage, nullptr};
}

} // namespace tandem::console
