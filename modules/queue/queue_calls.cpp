// Callers in queues: call:queue(NAME [, PRIORITY [, SKILLS]]).
//
// The script waits in call:queue while the caller waits in the line. The
// caller's side lives on its call's worker (a Waiting: music on hold,
// announcements, exit keys, the legs ringing agents, the bridge); the ACD's
// side on the ACD's thread (a Router: which worker and token each ACD caller
// belongs to). They talk only by posting: worker → ACD with AcdService::post,
// ACD → worker with host->post and the caller's token, so a message for a
// caller who has gone finds nothing and is dropped.
//
// Returns, when the caller is out of the line (docs/queues.md, "Callers"):
//   "completed", AGENT     the call with the agent ended (either side hung up)
//   "timeout"              waited the queue's max_wait: the script goes on (overflow)
//   "exitkey", DIGIT       pressed one of the queue's exit_keys
//   "leaveempty"           no agent left who could answer (leave_when_empty)
//   "full" / "joinempty"   refused at entry (max_callers, join_when_empty)
//   "removed"              taken out from the console
//   nil, MESSAGE           no such queue, or bad skills
#include "invocation_values.hpp"
#include "queue_callback.hpp"
#include "waiting_registry.hpp"
#include "queue_module.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tandem::queue {

namespace {

const tandem_host &host() { return *module.host; }

// --- the caller's side, on its worker ------------------------------------

// One offer: the agent's phones (one per contact) ringing for the caller.
struct Ring {
    std::string agent;
    std::vector<tandem_leg *> legs;  // referenced; the phones not hung up yet
    tandem_leg *answered = nullptr;  // the phone that answered (one of legs)
    bool ever_answered = false;
    bool confirming = false;         // its answer is with the ACD: the ring stays until the reply
    bool dialling = false;           // still dialling its contacts: no verdict yet
    bool withdrawn = false;          // the ACD ended it: its hang-ups report nothing
    int cause = 0;                   // the most telling cause of the phones that failed
};

struct Waiting {
    tandem_invocation *inv;
    uint64_t token;
    int worker;
    std::string queue;
    CallerExperience experience;
    enum class Phase { Entering, Waiting, Connected } phase = Phase::Entering;
    std::map<acd::OfferId, Ring> rings;
    acd::OfferId connected = 0;
    bool bridged = false;
    std::string agent;
    uint64_t announce_timer = 0;
    std::string language = "en";
    acd::CallerInfo info; // what it entered with: a callback keeps it
    acd::Ms entered_at = AcdService::monotonic_ms();
};

WaitingRegistry<Waiting> callers_waiting;

Waiting *find(uint64_t token) { return callers_waiting.find(token); }

// Runs fn on `worker` with the caller of `token`, if it is still waiting.
// On the ACD's thread: a reply or an order to the caller's worker.
void to_worker(int worker, uint64_t token, std::function<void(Waiting &)> fn) {
    AcdService::Telling telling(*module.service);
    callers_waiting.post(worker, token, std::move(fn));
}

void forget(Waiting &w) {
    if (w.announce_timer) host().timer_cancel(module.self, w.announce_timer);
    callers_waiting.remove(w.token, w.inv);
}

void drop_legs(Waiting &w) {
    for (auto &[offer, ring] : w.rings)
        for (tandem_leg *leg : ring.legs) host().leg_unref(leg);
    w.rings.clear();
}

// Hangs up the ring's phones but `keep`.
void hang_up_ring(Waiting &w, Ring &r, tandem_leg *keep, int cause) {
    for (tandem_leg *leg : std::vector<tandem_leg *>(r.legs))
        if (leg != keep) host().inv_hangup(w.inv, leg, cause);
}

// The script goes on with `status` (and `detail`); `w` is gone afterwards.
void finish(Waiting *w, std::string_view status, std::string_view detail = {}) {
    forget(*w);
    push_string(w->inv, status);
    if (!detail.empty()) push_string(w->inv, detail);
    host().inv_complete(w->inv); // hangs up what it still rings
    drop_legs(*w);
    delete w;
}

// --- the ACD's side, on its thread ---------------------------------------

struct Link {
    uint64_t token;
    int worker;
    std::string call_id;
};

class Router : public CallerSink {
public:
    std::unordered_map<acd::CallerId, Link> by_caller;
    std::unordered_map<uint64_t, acd::CallerId> caller_of; // token → ACD caller, until its last message
    Link entering{};                                      // the caller enter() is taking in

    const Link *link(acd::CallerId caller) {
        auto it = by_caller.find(caller);
        if (it != by_caller.end()) return &it->second;
        if (entering.token) { // offered inside enter(), before it returned the id
            by_caller[caller] = entering;
            caller_of[entering.token] = caller;
            return &by_caller[caller];
        }
        return nullptr;
    }

    void offer(const acd::Acd &acd, const acd::Offer &o) override;
    void withdraw(const acd::Offer &o, acd::OfferEnd why) override;
    void caller_left(acd::CallerId caller, acd::ExitReason why) override;
    std::string call_id(acd::CallerId caller) override {
        const Link *l = link(caller);
        return l ? l->call_id : callback::call_id(caller).value_or("");
    }
};

Router router;

// Runs fn(acd, now, caller) on the ACD's thread for the caller of `token`.
void to_acd(uint64_t token, std::function<void(acd::Acd &, acd::Ms, acd::CallerId)> fn) {
    module.service->post([token, fn = std::move(fn)](acd::Acd &acd, acd::Ms now) {
        auto it = router.caller_of.find(token);
        if (it != router.caller_of.end()) fn(acd, now, it->second);
    });
}

// The caller of `token` is done with the ACD.
void unlink(uint64_t token) {
    auto it = router.caller_of.find(token);
    if (it == router.caller_of.end()) return;
    router.by_caller.erase(it->second);
    router.caller_of.erase(it);
}

// The caller of `token` is out of the queue's hands for `why`. The worker
// may not know yet that the ACD connected it (an answer being confirmed):
// the ACD's own state decides whether it leaves the line or ends a call.
void out_of_queue(uint64_t token, acd::ExitReason why, bool transferred = false) {
    to_acd(token, [token, why, transferred](acd::Acd &acd, acd::Ms now, acd::CallerId caller) {
        if (acd.position(caller) > 0)
            acd.leave(caller, why, now);
        else if (transferred)
            acd.transferred(caller, now);
        else
            acd.hung_up(caller, false, now); // nothing when it is not connected either
        unlink(token);
    });
}

// The connected call of the caller of `token` ended.
void call_ended(uint64_t token, bool by_agent) {
    to_acd(token, [token, by_agent](acd::Acd &acd, acd::Ms now, acd::CallerId caller) {
        acd.hung_up(caller, by_agent, now);
        unlink(token);
    });
}

// Busy says the most about an agent, then no answer, then anything else.
int telling(int cause) {
    switch (cause) {
    case TANDEM_CAUSE_USER_BUSY: return 3;
    case TANDEM_CAUSE_NO_ANSWER:
    case TANDEM_CAUSE_NO_USER_RESPONSE: return 2;
    default: return cause ? 1 : 0;
    }
}

acd::OfferEnd offer_end_of(int cause) {
    switch (cause) {
    case TANDEM_CAUSE_USER_BUSY: return acd::OfferEnd::Busy;
    case TANDEM_CAUSE_NO_ANSWER:
    case TANDEM_CAUSE_NO_USER_RESPONSE: return acd::OfferEnd::NoAnswer;
    default: return acd::OfferEnd::Rejected;
    }
}

void declined(acd::OfferId offer, acd::OfferEnd why) {
    module.service->post([offer, why](acd::Acd &acd, acd::Ms now) { acd.declined(offer, why, now); });
}

// --- the caller's side: what happens on the worker -----------------------

void bridge_to_agent(Waiting &w) {
    auto it = w.rings.find(w.connected);
    tandem_leg *phone = it == w.rings.end() ? nullptr : it->second.answered;
    int rc = phone ? host().inv_bridge(w.inv, phone) : TANDEM_EGONE;
    if (rc == TANDEM_OK) {
        w.bridged = true;
        return;
    }
    // the agent left before the bridge: the call is over for the ACD
    call_ended(w.token, true);
    finish(&w, "completed", w.agent);
}

void whisper_done(void *arg) {
    if (Waiting *w = find(reinterpret_cast<uintptr_t>(arg))) bridge_to_agent(*w);
}

// A whisper item with the caller's data in it: {queue}, {caller_num},
// {wait} (seconds waited) and {var:NAME} (the caller's variable), e.g.
// "en/queue-{queue}" or "digits:{caller_num}". Unknown names stay as written.
std::string fill_in(Waiting &w, const std::string &item) {
    tandem_leg *channel = host().inv_leg(w.inv);
    std::string out;
    for (size_t i = 0; i < item.size();) {
        size_t close = item[i] == '{' ? item.find('}', i) : std::string::npos;
        if (close == std::string::npos) {
            out += item[i++];
            continue;
        }
        std::string name = item.substr(i + 1, close - i - 1), value;
        const char *number = nullptr, *caller_name = nullptr;
        if (name == "queue") {
            value = w.queue;
        } else if (name == "caller_num") {
            host().leg_caller(channel, &number, &caller_name);
            value = number ? number : "";
        } else if (name == "wait") {
            value = std::to_string((AcdService::monotonic_ms() - w.entered_at) / 1000);
        } else if (name.starts_with("var:")) {
            const char *v = host().leg_get_var(channel, name.c_str() + 4);
            value = v ? v : "";
        } else {
            value = item.substr(i, close - i + 1);
        }
        out += value;
        i = close + 1;
    }
    return out;
}

// The ACD confirmed: the caller is the agent's.
void connect(Waiting &w, acd::OfferId offer) {
    w.phase = Waiting::Phase::Connected;
    w.connected = offer;
    w.agent = w.rings[offer].agent;
    if (w.announce_timer) host().timer_cancel(module.self, w.announce_timer);
    w.announce_timer = 0;
    host().inv_play_stop(w.inv, host().inv_leg(w.inv));
    std::vector<acd::OfferId> others; // a ring whose last phone hangs up leaves the map at once
    for (auto &[id, ring] : w.rings)
        if (id != offer) {
            ring.withdrawn = true;
            others.push_back(id);
        }
    for (acd::OfferId id : others)
        if (auto it = w.rings.find(id); it != w.rings.end()) hang_up_ring(w, it->second, nullptr, 26); // answered elsewhere
    Ring &r = w.rings[offer];
    if (w.experience.whisper.empty() || !r.answered) {
        bridge_to_agent(w);
        return;
    }
    std::vector<std::string> whisper;
    for (const std::string &item : w.experience.whisper) whisper.push_back(fill_in(w, item));
    std::vector<const char *> items;
    for (const std::string &item : whisper) items.push_back(item.c_str());
    if (host().inv_play(w.inv, r.answered, items.data(), items.size(), whisper_done,
                        reinterpret_cast<void *>(static_cast<uintptr_t>(w.token))) != TANDEM_OK)
        bridge_to_agent(w);
}

// A ring's verdict once none of its phones is left: declined with the most
// telling cause, unless the ACD ended it or one of them answered.
void settle(Waiting &w, std::map<acd::OfferId, Ring>::iterator it) {
    Ring &r = it->second;
    if (r.dialling || r.confirming || !r.legs.empty()) return;
    if (!r.withdrawn && !r.ever_answered) declined(it->first, offer_end_of(r.cause));
    w.rings.erase(it);
}

void answered(Waiting &w, acd::OfferId offer) {
    uint64_t token = w.token;
    int worker = w.worker;
    to_acd(token, [token, worker, offer](acd::Acd &acd, acd::Ms now, acd::CallerId) {
        bool ok = acd.answered(offer, now);
        to_worker(worker, token, [offer, ok](Waiting &caller) {
            auto it = caller.rings.find(offer); // kept while confirming
            if (it == caller.rings.end()) { // cannot happen; if it did, the agent must not stay on a call
                if (ok) call_ended(caller.token, true);
                return;
            }
            it->second.confirming = false;
            tandem_leg *phone = it->second.answered;
            if (ok && caller.phase == Waiting::Phase::Waiting && phone) {
                connect(caller, offer);
                return;
            }
            if (ok) { // the agent's phone went while the ACD confirmed: that call is over
                call_ended(caller.token, true);
                finish(&caller, "completed", it->second.agent);
                return;
            }
            if (phone) host().inv_hangup(caller.inv, phone, TANDEM_CAUSE_NORMAL_CLEARING); // may settle it
            if (auto again = caller.rings.find(offer); again != caller.rings.end()) settle(caller, again);
        });
    });
}

void on_leg_state(void *user, tandem_leg *leg, uint64_t tag, int state, int cause) {
    auto *w = static_cast<Waiting *>(user);
    auto it = w->rings.find(tag);
    if (it == w->rings.end()) return;
    Ring &r = it->second;
    if (state == TANDEM_LEG_UP) {
        if (w->phase != Waiting::Phase::Waiting || r.withdrawn || r.answered) {
            host().inv_hangup(w->inv, leg, 26);
            return;
        }
        r.answered = leg;
        r.ever_answered = true;
        r.confirming = true;
        hang_up_ring(*w, r, leg, 26); // the agent's other phones
        answered(*w, tag);
        return;
    }
    if (state != TANDEM_LEG_HUNGUP) return;
    if (w->phase == Waiting::Phase::Connected && tag == w->connected && leg == r.answered) {
        if (w->bridged) return; // the bridge reports its own end
        r.answered = nullptr;   // the agent hung up during the whisper
        bridge_to_agent(*w);    // which ends the call for the ACD
        return;
    }
    if (leg == r.answered) r.answered = nullptr;
    if (telling(cause) > telling(r.cause)) r.cause = cause;
    if (auto at = std::find(r.legs.begin(), r.legs.end(), leg); at != r.legs.end()) {
        r.legs.erase(at);
        host().leg_unref(leg);
    }
    settle(*w, it);
}

void on_bridge_end(void *user, uint64_t, int how) {
    auto *w = static_cast<Waiting *>(user);
    call_ended(w->token, how != TANDEM_BRIDGE_CHANNEL_GONE);
    finish(w, "completed", w->agent);
}

// The caller asks for a callback: out of the line, its place held for the
// queue_callback() its script calls next (queue_callback.cpp).
void ask_for_callback(Waiting *w) {
    uint64_t token = w->token;
    callback::Place place{w->queue, 0, w->info};
    std::string call_id = host().leg_call_id(host().inv_leg(w->inv));
    to_acd(token, [place, call_id](acd::Acd &acd, acd::Ms now, acd::CallerId caller) mutable {
        if (auto entered = acd.entered_at(caller)) {
            place.entered = *entered;
            callback::hold(call_id, place, now);
        }
    });
    out_of_queue(token, acd::ExitReason::Callback);
    finish(w, "callback");
}

void on_dtmf(void *user, char digit) {
    auto *w = static_cast<Waiting *>(user);
    if (w->phase != Waiting::Phase::Waiting) return;
    if (!w->experience.callback_key.empty() && digit == w->experience.callback_key[0]) {
        ask_for_callback(w);
        return;
    }
    if (w->experience.exit_keys.find(digit) == std::string::npos) return;
    out_of_queue(w->token, acd::ExitReason::Key);
    finish(w, "exitkey", std::string(1, digit));
}

const tandem_inv_watch watch_template = {sizeof(tandem_inv_watch), nullptr, on_leg_state, on_dtmf, on_bridge_end};

// A `queue_offer` event: who rings for whom, with what the IVR collected
// (the caller's sip_h_X-... variables, as X-... fields), for a CTI client
// that pops the caller's record on the agent's screen.
void publish_offer(Waiting &w, const std::string &agent, const std::string &wait_s) {
    std::vector<std::pair<std::string, std::string>> data;
    tandem_leg *channel = host().inv_leg(w.inv);
    host().leg_vars_each(channel, "sip_h_X-", [](void *arg, const char *name, const char *value) {
        static_cast<decltype(data) *>(arg)->emplace_back(name + 6, value); // without "sip_h_"
    }, &data);
    std::vector<tandem_field> fields = {{"queue", w.queue.c_str()}, {"agent", agent.c_str()}, {"wait_s", wait_s.c_str()}};
    for (const auto &[key, value] : data) fields.push_back({key.c_str(), value.c_str()});
    host().publish(module.self, "queue_offer", host().leg_call_id(channel), fields.data(), fields.size());
}

// The caller is in line: the module follows its call from now on. The ACD
// may offer it before its reply to the entry arrives (both are posted, and
// an agent's phone on another worker may answer or fail in between), so the
// first of ring() and entered() does this.
void start_waiting(Waiting &w) {
    if (w.phase != Waiting::Phase::Entering) return;
    w.phase = Waiting::Phase::Waiting;
    tandem_inv_watch watch = watch_template;
    watch.user = &w;
    host().inv_watch(w.inv, &watch);
}

// Rings `agent` at its `contacts` (all at once) for `offer`; each phone gets
// the caller's variables (its `sip_h_X-...` ones as headers) and the queue's.
void ring(Waiting &w, acd::OfferId offer, const std::string &agent, const std::vector<std::string> &contacts) {
    if (w.phase == Waiting::Phase::Connected) return; // the ACD withdraws it with the connect
    start_waiting(w);
    if (contacts.empty()) {
        host().log(module.self, TANDEM_LOG_WARNING, nullptr, "queue %s: agent %s has no contact", w.queue.c_str(),
                   agent.c_str());
        declined(offer, acd::OfferEnd::Rejected);
        return;
    }
    auto it = w.rings.emplace(offer, Ring{}).first;
    Ring &r = it->second;
    r.agent = agent;
    r.dialling = true;
    std::string wait_s = std::to_string((AcdService::monotonic_ms() - w.entered_at) / 1000);
    const tandem_field vars[] = {{"queue", w.queue.c_str()},
                                 {"queue_agent", agent.c_str()},
                                 {"sip_h_X-Tandem-Queue", w.queue.c_str()},
                                 {"sip_h_X-Tandem-Queue-Wait", wait_s.c_str()}};
    publish_offer(w, agent, wait_s);
    for (const std::string &contact : contacts) {
        if (r.answered || r.withdrawn) break; // a phone answered at once, or the ACD ended it meanwhile
        tandem_leg *leg = host().inv_dial(w.inv, contact.c_str(), vars, 4, offer);
        if (!leg) {
            r.cause = r.cause ? r.cause : TANDEM_CAUSE_INCOMPATIBLE_DESTINATION;
            continue;
        }
        if (host().leg_state(leg) == TANDEM_LEG_HUNGUP) { // it failed at once and said so
            host().leg_unref(leg);
            continue;
        }
        r.legs.push_back(leg);
    }
    r.dialling = false;
    settle(w, it);
}

void withdraw_ring(Waiting &w, acd::OfferId offer, acd::OfferEnd why) {
    auto it = w.rings.find(offer);
    if (it == w.rings.end()) return;
    Ring &r = it->second;
    r.withdrawn = true;
    if (r.answered) return; // the ACD's refusal of the answer hangs it up
    hang_up_ring(w, r, nullptr, why == acd::OfferEnd::NoAnswer ? TANDEM_CAUSE_NO_ANSWER : TANDEM_CAUSE_NORMAL_CLEARING);
}

void announce_tick(void *arg);

void arm_announcements(Waiting &w) {
    if (w.experience.announce_every_s > 0)
        w.announce_timer = host().timer_start(module.self, static_cast<uint32_t>(w.experience.announce_every_s) * 1000,
                                              announce_tick, reinterpret_cast<void *>(static_cast<uintptr_t>(w.token)));
}

// Position and estimated wait from the ACD, then played over the music.
void announce_tick(void *arg) {
    Waiting *w = find(reinterpret_cast<uintptr_t>(arg));
    if (!w) return;
    w->announce_timer = 0;
    uint64_t token = w->token;
    int worker = w->worker;
    to_acd(token, [token, worker](acd::Acd &acd, acd::Ms, acd::CallerId caller) {
        int position = acd.position(caller);
        acd::QueueId q = acd.queue_of(caller);
        int64_t wait_min = 0;
        if (q && position > 0) {
            auto [wall, day] = AcdService::wall_and_day();
            acd::Counts hour = module.service->stats().queue(q, 60, wall, day);
            // The line ahead shared by the agents staffing the queue, each
            // taking the last hour's handle time; whole minutes, rounded up.
            if (hour.completed > 0) {
                double aht = hour.talk_s() + acd.queue_config(q).wrapup / 1000.0;
                double seconds = position * aht / std::max(1, module.service->staffed(q));
                wait_min = static_cast<int64_t>(std::ceil(seconds / 60));
            }
        }
        to_worker(worker, token, [position, wait_min](Waiting &waiting) {
            if (waiting.phase != Waiting::Phase::Waiting) return;
            const CallerExperience &x = waiting.experience;
            std::vector<std::string> items = x.announce;
            if (x.announce_position && position > 0) {
                items.push_back(waiting.language + "/you-are-caller-number");
                items.push_back("number:" + std::to_string(position));
            }
            if (x.announce_wait && wait_min > 0) {
                items.push_back(waiting.language + "/estimated-wait-time-is");
                items.push_back("duration:" + std::to_string(wait_min * 60));
            }
            std::vector<const char *> list;
            for (const std::string &item : items) list.push_back(item.c_str());
            if (!list.empty())
                host().inv_play(waiting.inv, host().inv_leg(waiting.inv), list.data(), list.size(), nullptr, nullptr);
            arm_announcements(waiting);
        });
    });
}

// The ACD took the caller in (or refused it).
void entered(Waiting &w, std::string refused) {
    if (!refused.empty()) {
        finish(&w, refused);
        return;
    }
    start_waiting(w);
    if (w.phase != Waiting::Phase::Waiting) return;
    tandem_leg *channel = host().inv_leg(w.inv);
    if (!w.experience.moh.empty() && host().leg_hear_stream(channel, w.experience.moh.c_str()) == TANDEM_ENOENT)
        host().log(module.self, TANDEM_LOG_WARNING, host().leg_call_id(channel),
                   "queue %s: no music-on-hold stream '%s' (is the moh module loaded?)", w.queue.c_str(),
                   w.experience.moh.c_str());
    arm_announcements(w);
}

void Router::offer(const acd::Acd &acd, const acd::Offer &o) {
    const Link *l = link(o.caller);
    if (!l) {
        callback::offer(acd, o);
        return;
    }
    std::string agent = acd.agent_config(o.agent).name;
    std::vector<std::string> contacts = agent_contacts(agent);
    acd::OfferId id = o.id;
    to_worker(l->worker, l->token, [id, agent, contacts](Waiting &w) { ring(w, id, agent, contacts); });
}

void Router::withdraw(const acd::Offer &o, acd::OfferEnd why) {
    const Link *l = link(o.caller);
    if (!l) {
        callback::withdraw(o, why);
        return;
    }
    acd::OfferId id = o.id;
    to_worker(l->worker, l->token, [id, why](Waiting &w) { withdraw_ring(w, id, why); });
}

void Router::caller_left(acd::CallerId caller, acd::ExitReason why) {
    if (why == acd::ExitReason::Connected) return; // its call goes on: unlinked when it ends
    auto it = by_caller.find(caller);
    if (it == by_caller.end()) {
        callback::left(caller, why);
        return;
    }
    Link l = it->second;
    caller_of.erase(l.token);
    by_caller.erase(it);
    const char *status = why == acd::ExitReason::Timeout ? "timeout"
                         : why == acd::ExitReason::Empty ? "leaveempty"
                                                         : "removed";
    to_worker(l.worker, l.token, [status](Waiting &w) { finish(&w, status); });
}

// --- the dialplan function ------------------------------------------------

int invoke_queue(void *, tandem_invocation *inv) {
    std::string name = arg_text(inv, 0);
    acd::CallerInfo info;
    if (const tandem_value *p = host().inv_arg(inv, 1); p && p->type == TANDEM_VALUE_INTEGER)
        info.priority = static_cast<int>(std::clamp<int64_t>(p->as.integer, -1000000, 1000000));
    std::string skills = arg_text(inv, 2);
    if (!skills.empty() && !parse_skills(skills, info.requires_skills))
        return return_failure(inv, "skills must be SKILL:LEVEL[, SKILL:LEVEL...], got '" + skills + "'");
    auto w = std::make_unique<Waiting>();
    std::optional<CallerExperience> experience = queue_experience(name);
    if (!experience) return return_failure(inv, "no queue named '" + name + "'");
    w->experience = std::move(*experience);
    tandem_leg *channel = host().inv_leg(inv);
    if (const char *lang = host().leg_get_var(channel, "language"); lang && *lang) w->language = lang;
    w->inv = inv;
    w->queue = name;
    w->info = info;
    w->worker = host().leg_worker(channel);
    w->token = callers_waiting.add(w.get(), inv);
    uint64_t token = w->token;
    int worker = w->worker;
    w.release();
    std::string call_id = host().leg_call_id(channel);
    module.service->post([token, worker, name, info, call_id](acd::Acd &acd, acd::Ms now) {
        acd::QueueId q = acd.find_queue(name);
        router.entering = {token, worker, call_id};
        acd::EnterResult r = q ? acd.enter(q, info, now) : acd::EnterResult{0, "no such queue", 0};
        router.entering = {};
        std::string refused;
        if (r.caller) {
            router.by_caller[r.caller] = {token, worker, call_id};
            router.caller_of[token] = r.caller;
        } else {
            refused = r.refused == "full" ? "full" : r.refused == "empty" ? "joinempty" : "removed";
        }
        to_worker(worker, token, [refused](Waiting &caller) { entered(caller, refused); });
    });
    return TANDEM_SUSPENDED;
}

// The call hung up (or the script was stopped) while in the queue.
void cancel_queue(void *, tandem_invocation *inv) {
    Waiting *w = callers_waiting.find(inv);
    if (!w) return;
    forget(*w);
    // A script stopped while its channel is still up was redirected: a
    // transfer of the call (REFER, or INVITE with Replaces) by either party.
    bool transferred = host().leg_state(host().inv_leg(inv)) != TANDEM_LEG_HUNGUP;
    out_of_queue(w->token, acd::ExitReason::Abandoned, transferred);
    drop_legs(*w);
    delete w;
}

const tandem_function queue_function = {
    sizeof(tandem_function), "queue", "s|is",
    "queue(NAME [, PRIORITY [, SKILLS]]): wait in a queue for an agent; returns how it ended", true, nullptr,
    invoke_queue, cancel_queue};

} // namespace

int register_queue_function() {
    module.service->call([](acd::Acd &, acd::Ms) { module.service->set_caller_sink(&router); });
    return host().register_function(module.self, &queue_function);
}

} // namespace tandem::queue
