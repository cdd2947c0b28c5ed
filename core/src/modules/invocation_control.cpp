#include "modules/invocation_control.hpp"

#include "log.hpp"
#include "lua/call_ops.hpp"
#include "media/say.hpp"
#include "modules/invocation.hpp"
#include "modules/loader.hpp"
#include "runtime/bridge.hpp"
#include "runtime/call.hpp"
#include "runtime/worker.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace tandem::invocation {

namespace {

const char *module_name(const tandem_invocation &inv) { return inv.function.owner ? inv.function.owner->name.c_str() : "module"; }

tandem_invocation::Dialled *find_dialled(tandem_invocation &inv, const Leg &leg) {
    for (auto &d : inv.dialled)
        if (d.leg.get() == &leg)
            return &d;
    return nullptr;
}

bool is_own_leg(tandem_invocation &inv, const Leg &leg) { return &leg == inv.leg || find_dialled(inv, leg); }

// "number:N", "duration:S", "digits:D" spoken in `lang`; other items as
// they are. False (with *error) for a spoken value out of range.
bool expand_item(std::string_view item, const std::string &lang, std::vector<PlayItem> &out, std::string *error) {
    auto colon = item.find(':');
    std::string_view kind = colon == std::string_view::npos ? std::string_view() : item.substr(0, colon);
    if (kind != "number" && kind != "duration" && kind != "digits") {
        out.push_back({std::string(item), std::nullopt});
        return true;
    }
    std::string_view value = item.substr(colon + 1);
    std::vector<std::string> names;
    bool ok;
    if (kind == "digits") {
        ok = media::say_digits(value, lang, names, error);
    } else {
        int64_t n = -1;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc() || end != value.data() + value.size() || n < 0) {
            *error = "'" + std::string(item) + "': not a whole number";
            return false;
        }
        ok = kind == "number" ? media::say_number(n, lang, media::Gender::masculine, names, error)
                              : media::say_duration(n, lang, names, error);
    }
    for (auto &name : names)
        out.push_back({std::move(name), std::nullopt});
    return ok;
}

} // namespace

Ref<Leg> dial(tandem_invocation &inv, const char *target, const tandem_field *vars, size_t count, uint64_t tag) {
    Call &call = *inv.call;
    std::string_view t = target ? target : "";
    auto slash = t.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == t.size()) {
        log::at(log::Level::warning, module_name(inv), call.id, "dial: '{}' is not DRIVER/DESTINATION", t);
        return nullptr;
    }
    std::string error;
    Ref<Leg> leg = call.new_outbound_leg(std::string(t.substr(0, slash)), error);
    if (!leg) {
        log::at(log::Level::warning, module_name(inv), call.id, "dial {}: {}", t, error);
        return nullptr;
    }
    Leg &channel = *inv.leg;
    leg->name = std::string(t);
    leg->exten = std::string(t.substr(slash + 1));
    leg->caller_num = channel.caller_num;
    leg->caller_name = channel.caller_name;
    leg->vars = channel.vars;
    for (size_t i = 0; i < count; ++i)
        if (vars[i].key && *vars[i].key)
            leg->vars[vars[i].key] = vars[i].value ? vars[i].value : "";
    inv.dialled.push_back({leg, tag});
    log::at(log::Level::info, module_name(inv), call.id, "dialling {} as leg {}", t, leg->id);
    int rc = leg->request(leg->exten);
    if (rc > 0)
        leg->remote_hangup(rc);
    return leg;
}

int hangup(tandem_invocation &inv, Leg &leg, int cause) {
    if (!find_dialled(inv, leg))
        return TANDEM_ENOENT;
    leg.hangup(cause > 0 && cause < 128 ? cause : TANDEM_CAUSE_NORMAL_CLEARING);
    return TANDEM_OK;
}

int bridge(tandem_invocation &inv, Leg &leg) {
    auto *d = find_dialled(inv, leg);
    if (!d)
        return TANDEM_ENOENT;
    Leg &channel = *inv.leg;
    if (leg.state() == LegState::hungup || channel.state() == LegState::hungup)
        return TANDEM_EGONE;
    if (leg.state() != LegState::up || leg.bridge || channel.bridge || (inv.bridge && !inv.bridge->ended()))
        return TANDEM_EBUSY;
    play_stop(inv, channel);
    play_stop(inv, leg);
    inv.bridge_tag = d->tag;
    inv.bridge = std::make_unique<Bridge>(inv.call->worker, channel, leg);
    log::at(log::Level::info, module_name(inv), inv.call->id, "bridged {} with {}", channel.id, leg.id);
    inv.bridge->on_end = [&inv](Bridge &, Leg *gone) {
        int how = gone == inv.leg ? TANDEM_BRIDGE_CHANNEL_GONE : gone ? TANDEM_BRIDGE_PEER_GONE : TANDEM_BRIDGE_DISSOLVED;
        if (inv.suspended && inv.watch && inv.watch->bridge_end)
            inv.watch->bridge_end(inv.watch->user, inv.bridge_tag, how);
    };
    return TANDEM_OK;
}

int play(tandem_invocation &inv, Leg &leg, const char *const *items, size_t count, void (*done)(void *), void *arg) {
    if (!is_own_leg(inv, leg))
        return TANDEM_ENOENT;
    if (leg.state() == LegState::hungup)
        return TANDEM_EGONE;
    auto language = leg.vars.find(std::string_view("language"));
    std::string lang = language == leg.vars.end() ? "en" : language->second;
    std::vector<PlayItem> list;
    for (size_t i = 0; i < count; ++i) {
        std::string error;
        if (!items[i])
            continue;
        if (!expand_item(items[i], lang, list, &error)) {
            log::at(log::Level::warning, module_name(inv), inv.call->id, "play: {}", error);
            return TANDEM_EINVAL;
        }
    }
    play_stop(inv, leg);
    auto token = std::make_shared<int>();
    inv.plays[&leg] = token;
    std::weak_ptr<int> current = token;
    tandem_invocation *self = &inv;
    play_to_leg(*inv.call, leg, list, current, [self, current, &leg, done, arg] {
        auto live = current.lock();
        if (!live)
            return; // stopped, replaced, or the invocation ended
        self->plays.erase(&leg);
        if (done)
            done(arg);
    });
    return TANDEM_OK;
}

int play_stop(tandem_invocation &inv, Leg &leg) {
    if (!is_own_leg(inv, leg))
        return TANDEM_ENOENT;
    auto it = inv.plays.find(&leg);
    if (it != inv.plays.end()) {
        inv.plays.erase(it);
        inv.call->worker.stop_playing(leg);
    }
    return TANDEM_OK;
}

void leg_state(tandem_invocation &inv, Leg &leg, LegState state) {
    auto *d = find_dialled(inv, leg);
    if (!d)
        return;
    if (state == LegState::hungup)
        inv.plays.erase(&leg);
    if (inv.suspended && inv.watch)
        inv.watch->leg_state(inv.watch->user, leg.abi(), d->tag, static_cast<int>(state),
                             state == LegState::hungup ? leg.cause() : 0);
}

bool dtmf(tandem_invocation &inv, Leg &leg, char digit) {
    if (&leg != inv.leg || !inv.suspended || !inv.watch || !inv.watch->dtmf)
        return false;
    inv.watch->dtmf(inv.watch->user, digit);
    return true;
}

void release(tandem_invocation &inv, bool cancelled) {
    inv.watch.reset();
    for (auto &[leg, token] : inv.plays)
        if (leg->state() != LegState::hungup)
            inv.call->worker.stop_playing(*leg);
    inv.plays.clear();
    if (inv.bridge) {
        inv.bridge->on_end = nullptr;
        if (!inv.bridge->ended())
            inv.bridge->dissolve();
    }
    for (auto &d : inv.dialled)
        if (!cancelled || d.leg->state() != LegState::up)
            d.leg->hangup(TANDEM_CAUSE_NORMAL_CLEARING);
}

} // namespace tandem::invocation
