#include "lua/call_ops.hpp"

#include "log.hpp"
#include "lua/call_api.hpp"
#include "lua/lua_args.hpp"
#include "media/player.hpp"
#include "media/prompt_loader.hpp"
#include "media/prompts.hpp"
#include "media/tones.hpp"
#include "modules/invocation.hpp"
#include "modules/invocation_control.hpp"
#include "runtime/bridge.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/prompt_loading.hpp"
#include "runtime/worker.hpp"

#include <algorithm>
#include <functional>
#include <variant>

namespace tandem {

namespace lua {

void read_play_items(lua_State *L, int idx, std::vector<PlayItem> &items) {
    std::vector<std::string> names;
    string_list(L, idx, names, "play");
    for (auto &n : names)
        items.push_back({std::move(n), std::nullopt});
}

int push_invocation_results(lua_State *L, const tandem_invocation &inv) {
    for (auto &v : inv.results) {
        switch (v.type) {
        case TANDEM_VALUE_BOOLEAN: lua_pushboolean(L, v.as.boolean); break;
        case TANDEM_VALUE_INTEGER: lua_pushinteger(L, v.as.integer); break;
        case TANDEM_VALUE_NUMBER: lua_pushnumber(L, v.as.number); break;
        case TANDEM_VALUE_STRING: lua_pushlstring(L, v.as.string.ptr, v.as.string.len); break;
        default: lua_pushnil(L);
        }
    }
    return static_cast<int>(inv.results.size());
}

} // namespace lua

namespace {

int push_nothing(lua_State *) { return 0; }
int push_nil(lua_State *L) {
    lua_pushnil(L);
    return 1;
}

// What a play list resolves to on the worker: tones, and prompt files by
// path. Missing prompts and refused names are logged and left out, as a
// missing recording must not cut a caller off.
struct PlayPlan {
    std::vector<std::variant<media::ToneSpec, std::string>> items;
    std::vector<std::string> uncached; // paths the loader must decode first
};

std::shared_ptr<PlayPlan> plan_playback(Call &call, const std::vector<PlayItem> &items,
                                        const media::FileFormatList &formats) {
    Engine &engine = call.worker.engine();
    auto plan = std::make_shared<PlayPlan>();
    for (auto &item : items) {
        std::string error;
        if (item.tone) {
            plan->items.emplace_back(*item.tone);
            continue;
        }
        if (media::is_tone_spec(item.name)) {
            media::ToneSpec tone;
            if (media::parse_tone(item.name, tone, &error))
                plan->items.emplace_back(std::move(tone));
            else
                log::at(log::Level::warning, "lua", call.id, "play: {}: {}", item.name, error);
            continue;
        }
        if (item.name.empty() || item.name[0] == '/' || item.name.find("..") != std::string::npos) {
            // A tenant's dialplan reads only its own sounds directory.
            log::at(log::Level::warning, "lua", call.id,
                    "play: '{}' refused: prompt names are relative to the sounds directory, without '..'",
                    item.name);
            continue;
        }
        std::string path = media::resolve_prompt_path(engine.config().paths.sounds, item.name, formats);
        if (path.empty()) {
            log::at(log::Level::warning, "lua", call.id, "play: prompt '{}' not found", item.name);
            continue;
        }
        if (!engine.prompts().find(path))
            plan->uncached.push_back(path);
        plan->items.emplace_back(std::move(path));
    }
    return plan;
}

// The player for a plan whose prompts are cached; nullptr when nothing in
// it can be played.
std::unique_ptr<media::Player> build_player(Call &call, const PlayPlan &plan) {
    auto player = std::make_unique<media::Player>();
    bool any = false;
    for (auto &item : plan.items) {
        if (auto *tone = std::get_if<media::ToneSpec>(&item)) {
            player->add_tone(*tone);
            any = true;
        } else if (auto prompt = call.worker.engine().prompts().find(std::get<std::string>(item))) {
            player->add_prompt(std::move(prompt));
            any = true;
        } // else: the loader could not decode it and said why
    }
    return any ? std::move(player) : nullptr;
}

// Plans `items` and calls ready(plan) on the worker: at once when every
// prompt is cached, else after the engine's loader thread has decoded the
// missing ones, the script waiting meanwhile. ready is skipped when `alive`
// has expired (the operation is gone); it must check itself whether it
// still wants the player.
void prepare_playback(Call &call, const std::vector<PlayItem> &items, std::weak_ptr<void> alive,
                      std::function<void(const PlayPlan &)> ready) {
    Engine &engine = call.worker.engine();
    auto held = std::make_shared<HeldFileFormats>(hold_file_formats(*engine.registry().snapshot()));
    auto plan = plan_playback(call, items, held->list);
    if (plan->uncached.empty()) {
        ready(*plan);
        return;
    }
    Worker *worker = &call.worker;
    std::string call_id = call.id;
    engine.prompt_loader().submit([&engine, worker, held, plan, call_id, alive, ready = std::move(ready)] {
        for (auto &path : plan->uncached) {
            std::string error;
            if (!engine.prompts().load(path, held->list, &error))
                log::at(log::Level::warning, "lua", call_id, "play: prompt cannot be decoded: {}", error);
        }
        worker->post([held, plan, alive, ready] {
            if (alive.lock())
                ready(*plan);
        });
    });
}

class SleepOp : public PendingOp {
public:
    SleepOp(Call &call, uint32_t ms) : call_(call), ms_(ms) {}
    void start() override {
        timer_ = call_.worker.reactor().add_timer(std::chrono::milliseconds(ms_), [this] {
            timer_ = 0;
            call_.worker.lua().complete(call_, push_nothing);
        });
    }
    void cancel() override {
        if (timer_)
            call_.worker.reactor().cancel_timer(timer_);
    }

private:
    Call &call_;
    uint32_t ms_;
    uint64_t timer_ = 0;
};

class PlayOp : public PendingOp {
public:
    PlayOp(Call &call, Leg &leg, PlayRequest req) : call_(call), leg_(&leg), req_(std::move(req)) {}
    void start() override {
        prepare_playback(call_, req_.items, alive_, [this](const PlayPlan &plan) {
            if (finished_)
                return;
            auto player = build_player(call_, plan);
            if (!player) {
                finish(push_nil);
                return;
            }
            call_.worker.start_playing(*leg_, std::move(player), [this] { finish(push_nil); });
        });
    }
    void on_dtmf(Leg &leg, char digit) override {
        if (finished_ || &leg != leg_.get() || req_.interrupt.find(digit) == std::string::npos)
            return;
        if (!leg.dtmf_buffer.empty())
            leg.dtmf_buffer.pop_back(); // the digit answers this prompt
        call_.worker.stop_playing(leg);
        finish([digit](lua_State *L) {
            lua_pushlstring(L, &digit, 1);
            return 1;
        });
    }
    void on_leg_state(Leg &leg, LegState state) override {
        if (&leg == leg_.get() && state == LegState::hungup)
            finish(push_nil); // a dialled leg went away mid-prompt
    }
    void cancel() override {
        finished_ = true;
        call_.worker.stop_playing(*leg_);
    }

private:
    void finish(std::function<int(lua_State *)> push) {
        if (finished_)
            return;
        finished_ = true;
        call_.worker.lua().complete(call_, std::move(push));
    }

    Call &call_;
    Ref<Leg> leg_;
    PlayRequest req_;
    bool finished_ = false;
    std::shared_ptr<int> alive_ = std::make_shared<int>(); // expires with the op: late decodes see it
};

class ReadOp : public PendingOp {
public:
    ReadOp(Call &call, Leg &leg, ReadRequest req) : call_(call), leg_(&leg), req_(std::move(req)) {}

    void start() override {
        // Digits typed ahead count, as callers expect.
        while (!leg_->dtmf_buffer.empty()) {
            char d = leg_->dtmf_buffer.front();
            leg_->dtmf_buffer.erase(0, 1); // what this read does not need stays for the next
            if (accept(d))
                return;
        }
        if (digits_.empty() && !req_.prompt.empty()) {
            // Digits that come while the prompt decodes count as usual.
            prepare_playback(call_, req_.prompt, alive_, [this](const PlayPlan &plan) {
                if (finished_ || !digits_.empty())
                    return; // a digit came while the prompt was decoding: no prompt
                auto player = build_player(call_, plan);
                if (!player) {
                    arm(req_.timeout_ms);
                    return;
                }
                playing_ = true;
                call_.worker.start_playing(*leg_, std::move(player), [this] {
                    playing_ = false;
                    arm(req_.timeout_ms);
                });
            });
            return;
        }
        arm(digits_.empty() ? req_.timeout_ms : req_.digit_timeout_ms);
    }

    void on_dtmf(Leg &leg, char digit) override {
        if (finished_ || &leg != leg_.get())
            return;
        if (!leg.dtmf_buffer.empty())
            leg.dtmf_buffer.pop_back();
        if (playing_) {
            playing_ = false;
            call_.worker.stop_playing(leg);
        }
        if (!accept(digit))
            arm(req_.digit_timeout_ms);
    }

    void on_leg_state(Leg &leg, LegState state) override {
        if (&leg == leg_.get() && state == LegState::hungup)
            finish("hangup");
    }

    void cancel() override {
        finished_ = true;
        disarm();
        if (playing_)
            call_.worker.stop_playing(*leg_);
    }

private:
    // Returns true when the read finished.
    bool accept(char digit) {
        if (req_.terminators.find(digit) != std::string::npos) {
            finish("terminator");
            return true;
        }
        digits_.push_back(digit);
        if (digits_.size() >= req_.max) {
            finish("max");
            return true;
        }
        return false;
    }
    void arm(uint32_t ms) {
        disarm();
        timer_ = call_.worker.reactor().add_timer(std::chrono::milliseconds(ms), [this] {
            timer_ = 0;
            finish("timeout");
        });
    }
    void disarm() {
        if (timer_)
            call_.worker.reactor().cancel_timer(timer_);
        timer_ = 0;
    }
    void finish(const char *reason) {
        if (finished_)
            return;
        finished_ = true;
        disarm();
        if (playing_) {
            playing_ = false;
            call_.worker.stop_playing(*leg_);
        }
        bool enough = digits_.size() >= req_.min;
        std::string digits = digits_;
        call_.worker.lua().complete(call_, [enough, digits, reason](lua_State *L) {
            if (enough)
                lua_pushlstring(L, digits.data(), digits.size());
            else
                lua_pushnil(L);
            lua_pushstring(L, reason);
            return 2;
        });
    }

    Call &call_;
    Ref<Leg> leg_;
    ReadRequest req_;
    std::string digits_;
    bool playing_ = false;
    bool finished_ = false;
    uint64_t timer_ = 0;
    std::shared_ptr<int> alive_ = std::make_shared<int>(); // expires with the op: late decodes see it
};

// Dials every target at once; the first to answer wins, the others are
// released with cause 26 (answered elsewhere).
class DialOp : public PendingOp {
public:
    DialOp(Call &call, Leg &channel, DialRequest req) : call_(call), channel_(&channel), req_(std::move(req)) {}

    void start() override {
        starting_ = true;
        for (auto &target : req_.targets) {
            auto slash = target.find('/');
            if (slash == std::string::npos || slash == 0) {
                log::at(log::Level::warning, "lua", call_.id, "dial: '{}' is not DRIVER/DESTINATION", target);
                note_failure(TANDEM_CAUSE_INVALID_NUMBER_FORMAT);
                continue;
            }
            std::string error;
            Ref<Leg> leg = call_.new_outbound_leg(target.substr(0, slash), error);
            if (!leg) {
                log::at(log::Level::warning, "lua", call_.id, "dial {}: {}", target, error);
                note_failure(TANDEM_CAUSE_INCOMPATIBLE_DESTINATION);
                continue;
            }
            leg->name = target;
            leg->exten = target.substr(slash + 1);
            leg->caller_num = req_.caller_num.empty() ? channel_->caller_num : req_.caller_num;
            leg->caller_name = req_.caller_name.empty() ? channel_->caller_name : req_.caller_name;
            leg->vars = channel_->vars; // dialled legs inherit the caller's variables
            for (auto &[k, v] : req_.vars)
                leg->vars[k] = v;
            legs_.push_back(leg);
            log::at(log::Level::info, "lua", call_.id, "dialling {} as leg {}", target, leg->id);
            int rc = leg->request(leg->exten);
            if (rc > 0)
                leg->remote_hangup(rc);
            if (done_)
                return; // answered synchronously
        }
        starting_ = false;
        if (pending() == 0) {
            finish_failed();
            return;
        }
        timer_ = call_.worker.reactor().add_timer(std::chrono::seconds(req_.timeout_s), [this] {
            timer_ = 0;
            timed_out_ = true;
            for (auto &leg : legs_)
                leg->hangup(TANDEM_CAUSE_NO_ANSWER);
        });
    }

    void on_leg_state(Leg &leg, LegState state) override {
        if (done_ || std::find(legs_.begin(), legs_.end(), Ref<Leg>(&leg)) == legs_.end())
            return;
        if (state == LegState::ringing || state == LegState::early) {
            if (!indicated_ && channel_->state() < LegState::up) {
                indicated_ = true;
                channel_->indicate(LegState::ringing);
            }
        } else if (state == LegState::up) {
            done_ = true;
            disarm();
            for (auto &other : legs_)
                if (other.get() != &leg)
                    other->hangup(26);
            Ref<Leg> winner(&leg);
            call_.worker.lua().complete(call_, [winner](lua_State *L) {
                lua_pushliteral(L, "answer");
                lua::push_leg(L, *winner);
                return 2;
            });
        } else if (state == LegState::hungup) {
            note_failure(timed_out_ ? TANDEM_CAUSE_NO_ANSWER : leg.cause());
            if (pending() == 0 && !starting_)
                finish_failed();
        }
    }

    void cancel() override {
        done_ = true;
        disarm();
        for (auto &leg : legs_)
            leg->hangup(TANDEM_CAUSE_NORMAL_CLEARING);
    }

private:
    size_t pending() const {
        return static_cast<size_t>(std::count_if(legs_.begin(), legs_.end(),
                                                 [](const Ref<Leg> &l) { return l->state() != LegState::hungup; }));
    }
    // The most telling cause wins: busy beats no answer beats the rest.
    static int rank(int cause) {
        switch (cause) {
        case TANDEM_CAUSE_USER_BUSY: return 4;
        case TANDEM_CAUSE_NO_ANSWER:
        case TANDEM_CAUSE_NO_USER_RESPONSE: return 3;
        case TANDEM_CAUSE_CONGESTION:
        case TANDEM_CAUSE_SWITCH_CONGESTION: return 2;
        default: return 1;
        }
    }
    void note_failure(int cause) {
        if (rank(cause) > rank(cause_) || cause_ == 0)
            cause_ = cause;
    }
    void disarm() {
        if (timer_)
            call_.worker.reactor().cancel_timer(timer_);
        timer_ = 0;
    }
    void finish_failed() {
        if (done_)
            return;
        done_ = true;
        disarm();
        const char *status;
        switch (cause_) {
        case TANDEM_CAUSE_USER_BUSY: status = "busy"; break;
        case TANDEM_CAUSE_NO_ANSWER:
        case TANDEM_CAUSE_NO_USER_RESPONSE: status = "noanswer"; break;
        case TANDEM_CAUSE_CONGESTION:
        case TANDEM_CAUSE_SWITCH_CONGESTION: status = "congestion"; break;
        case TANDEM_CAUSE_UNALLOCATED:
        case TANDEM_CAUSE_INVALID_NUMBER_FORMAT: status = "invalid"; break;
        default: status = "unavailable";
        }
        int cause = cause_;
        call_.worker.lua().complete(call_, [status, cause](lua_State *L) {
            lua_pushstring(L, status);
            lua_pushnil(L);
            lua_pushinteger(L, cause);
            return 3;
        });
    }

    Call &call_;
    Ref<Leg> channel_;
    DialRequest req_;
    std::vector<Ref<Leg>> legs_;
    uint64_t timer_ = 0;
    int cause_ = 0;
    bool done_ = false, indicated_ = false, timed_out_ = false, starting_ = false;
};

class BridgeOp : public PendingOp {
public:
    BridgeOp(Call &call, Leg &a, Leg &b) : call_(call), a_(&a), b_(&b) {}
    void start() override {
        bridge_ = std::make_unique<Bridge>(call_.worker, *a_, *b_);
        log::at(log::Level::info, "lua", call_.id, "bridged {} with {}", a_->id, b_->id);
        bridge_->on_end = [this](Bridge &, Leg *gone) {
            const char *how = gone == b_.get() ? "peer_hangup" : gone ? "hangup" : "dissolved";
            call_.worker.lua().complete(call_, [how](lua_State *L) {
                lua_pushstring(L, how);
                return 1;
            });
        };
    }
    void cancel() override {
        if (bridge_) {
            bridge_->on_end = nullptr;
            bridge_->dissolve();
        }
    }

private:
    Call &call_;
    Ref<Leg> a_, b_;
    std::unique_ptr<Bridge> bridge_;
};

class EchoOp : public PendingOp {
public:
    EchoOp(Call &call, Leg &leg, uint32_t ms) : call_(call), leg_(&leg), ms_(ms) {}
    void start() override {
        leg_->echo = true;
        if (ms_)
            timer_ = call_.worker.reactor().add_timer(std::chrono::milliseconds(ms_), [this] {
                timer_ = 0;
                finish("timeout");
            });
    }
    void on_dtmf(Leg &leg, char digit) override {
        if (&leg != leg_.get() || digit != '#')
            return;
        if (!leg.dtmf_buffer.empty())
            leg.dtmf_buffer.pop_back();
        finish("#");
    }
    void on_leg_state(Leg &leg, LegState state) override {
        if (&leg == leg_.get() && state == LegState::hungup)
            finish("hangup");
    }
    void cancel() override { stop(); }

private:
    void stop() {
        leg_->echo = false;
        if (timer_)
            call_.worker.reactor().cancel_timer(timer_);
        timer_ = 0;
    }
    void finish(const char *how) {
        stop();
        call_.worker.lua().complete(call_, [how](lua_State *L) {
            lua_pushstring(L, how);
            return 1;
        });
    }
    Call &call_;
    Ref<Leg> leg_;
    uint32_t ms_;
    uint64_t timer_ = 0;
};

class InvocationOp : public PendingOp {
public:
    explicit InvocationOp(std::unique_ptr<tandem_invocation> inv) : inv_(std::move(inv)) {}
    void start() override {}
    void on_leg_state(Leg &leg, LegState state) override { invocation::leg_state(*inv_, leg, state); }
    void on_dtmf(Leg &leg, char digit) override {
        if (invocation::dtmf(*inv_, leg, digit) && !leg.dtmf_buffer.empty())
            leg.dtmf_buffer.pop_back(); // the function took it
    }
    void cancel() override {
        // What it controls goes first and silently; then the module forgets it.
        inv_->suspended = false;
        invocation::release(*inv_, true);
        const tandem_function *fn = inv_->function.desc;
        fn->cancel(fn->user, inv_.get());
        inv_->use = ModuleUse();
    }

private:
    std::unique_ptr<tandem_invocation> inv_;
};

} // namespace

void play_to_leg(Call &call, Leg &leg, const std::vector<PlayItem> &items, std::weak_ptr<void> alive,
                 std::function<void()> on_done) {
    Ref<Leg> target(&leg);
    Call *owner = &call; // alive expires before the call goes
    prepare_playback(call, items, alive, [owner, target, alive, on_done = std::move(on_done)](const PlayPlan &plan) {
        if (target->state() == LegState::hungup)
            return;
        auto player = build_player(*owner, plan);
        if (!player) {
            owner->worker.post([alive, on_done] {
                if (alive.lock())
                    on_done();
            });
            return;
        }
        owner->worker.start_playing(*target, std::move(player), on_done);
    });
}

std::unique_ptr<PendingOp> make_sleep_op(Call &call, uint32_t ms) { return std::make_unique<SleepOp>(call, ms); }
std::unique_ptr<PendingOp> make_play_op(Call &call, Leg &leg, PlayRequest request) {
    return std::make_unique<PlayOp>(call, leg, std::move(request));
}
std::unique_ptr<PendingOp> make_read_op(Call &call, Leg &leg, ReadRequest request) {
    return std::make_unique<ReadOp>(call, leg, std::move(request));
}
std::unique_ptr<PendingOp> make_dial_op(Call &call, Leg &channel, DialRequest request) {
    return std::make_unique<DialOp>(call, channel, std::move(request));
}
std::unique_ptr<PendingOp> make_bridge_op(Call &call, Leg &a, Leg &b) { return std::make_unique<BridgeOp>(call, a, b); }
std::unique_ptr<PendingOp> make_echo_op(Call &call, Leg &leg, uint32_t ms) {
    return std::make_unique<EchoOp>(call, leg, ms);
}
std::unique_ptr<PendingOp> make_invocation_op(std::unique_ptr<tandem_invocation> invocation) {
    return std::make_unique<InvocationOp>(std::move(invocation));
}

} // namespace tandem
