// `tandem ctl conference`: the rooms of call:conference, their participants,
// and an operator's kick and mute. Each room is read and changed on the
// worker that mixes it.
#include "console/fan_out.hpp"

#include "runtime/mixer.hpp"
#include "runtime/worker.hpp"

#include <fmt/format.h>

namespace tandem::console {

using nlohmann::json;

namespace {

// A participant kicked or gone stays in its mixer until the mixer's next
// tick drops the slot; the console no longer counts it.
bool present(const MixLink &p) {
    return p.state.load(std::memory_order_acquire) != MixLink::ended && !p.member_left.load(std::memory_order_acquire);
}

json participant_json(const MixLink &p) {
    return {{"leg", p.leg_id},
            {"call_id", p.call_id},
            {"name", p.leg_name},
            {"muted", p.muted.load(std::memory_order_relaxed)}};
}

Reply list(Engine &engine) {
    json rooms = on_every_worker(engine, [](Worker &w) {
        json out = json::array();
        for (Mixer *m : w.mixing().rooms_named("")) {
            json members = json::array();
            for (MixLink *p : m->participants())
                if (present(*p))
                    members.push_back(participant_json(*p));
            out.push_back({{"room", m->room()}, {"rate", m->rate()}, {"worker", w.index()}, {"members", members}});
        }
        return out;
    });
    std::string text;
    for (auto &r : rooms) {
        text += fmt::format("{}: {} members, {} Hz, worker {}\n", r["room"].get<std::string>(), r["members"].size(),
                            r["rate"].get<uint32_t>(), r["worker"].get<int>());
        for (auto &p : r["members"])
            text += fmt::format("  {:<24}  {}{}\n", p["leg"].get<std::string>(), p["name"].get<std::string>(),
                                p["muted"].get<bool>() ? "  (muted)" : "");
    }
    text += fmt::format("{} rooms", rooms.size());
    return {true, text, rooms};
}

// Applies `change` to the participants of `room` that `id` names (a leg id,
// call id or leg name; "all": everybody) and returns them.
json change_participants(Engine &engine, const std::string &room, const std::string &id,
                         const std::function<void(MixLink &)> &change) {
    return on_every_worker(engine, [room, id, change](Worker &w) {
        json out = json::array();
        for (Mixer *m : w.mixing().rooms_named(room))
            for (MixLink *p : m->participants())
                if (present(*p) && (id == "all" || id == p->leg_id || id == p->call_id || id == p->leg_name)) {
                    change(*p);
                    out.push_back(participant_json(*p));
                }
        return out;
    });
}

} // namespace

Reply cmd_conference(Engine &engine, const std::vector<std::string> &args) {
    const char *usage = "usage: conference [list] | conference kick|mute|unmute ROOM ID|all "
                        "(ID: a participant's leg id, call id or leg name)";
    if (asks_for_list(args))
        return list(engine);
    if (args.size() != 4)
        return {false, usage, nullptr};
    const std::string &action = args[1], &room = args[2], &id = args[3];
    std::function<void(MixLink &)> change;
    if (action == "kick")
        change = [](MixLink &p) { p.end(MixEnd::stopped); };
    else if (action == "mute" || action == "unmute")
        change = [mute = action == "mute"](MixLink &p) { p.muted.store(mute, std::memory_order_relaxed); };
    else
        return {false, usage, nullptr};
    json changed = change_participants(engine, room, id, change);
    if (changed.empty())
        return {false, "no participant " + id + " in conference " + room, nullptr};
    return {true, fmt::format("{}: {} participant(s) in {}", action, changed.size(), room), changed};
}

} // namespace tandem::console
