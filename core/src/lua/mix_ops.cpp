#include "lua/mix_ops.hpp"

#include "log.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/mixer.hpp"
#include "runtime/worker.hpp"

#include <utility>

namespace tandem {

namespace {

// A leg in a mixer until the mixer lets it go, its leg hangs up, or a digit
// the subclass cares about; completes with one string saying why.
class MixOp : public PendingOp {
public:
    MixOp(Call &call, Leg &leg) : call_(call), leg_(&leg) {}
    void cancel() override { leave(); }
    void on_dtmf(Leg &leg, char digit) override {
        if (&leg != leg_.get() || !member_ || !wants(digit))
            return;
        if (!leg.dtmf_buffer.empty()) // consumed here, not left for a later read
            leg.dtmf_buffer.pop_back();
        pressed(digit);
    }

protected:
    // Joins the local hub; the subclass then asks the mixer's worker.
    std::shared_ptr<MixLink> join() {
        auto link = std::make_shared<MixLink>(leg_->id, leg_->call_id, leg_->name);
        member_ = &call_.worker.mixing().add_member(*leg_, link);
        member_->on_end = [this](MixEnd reason) {
            member_ = nullptr;
            finish(mix_end_name(reason));
        };
        return link;
    }
    // Digits the op acts on (they are consumed, not left for a later read).
    virtual bool wants(char digit) const = 0;
    virtual void pressed(char digit) = 0;
    void finish(std::string how) {
        leave();
        call_.worker.lua().complete(call_, [how = std::move(how)](lua_State *L) {
            lua_pushstring(L, how.c_str());
            return 1;
        });
    }
    void leave() {
        if (auto *m = std::exchange(member_, nullptr))
            call_.worker.mixing().leave(*m);
    }

    Call &call_;
    Ref<Leg> leg_;
    MixMember *member_ = nullptr;
};

class ConferenceOp : public MixOp {
public:
    ConferenceOp(Call &call, Leg &leg, ConferenceRequest request) : MixOp(call, leg), req_(std::move(request)) {}
    void start() override {
        auto link = join();
        Engine &engine = call_.worker.engine();
        Worker &home = engine.worker(MixHub::home_of(req_.room, engine.worker_count()));
        log::at(log::Level::info, "lua", call_.id, "{} joins conference {}", leg_->id, req_.room);
        uint32_t rate = req_.rate ? req_.rate : mix_rate_for(engine, *leg_);
        link->muted.store(req_.muted, std::memory_order_relaxed);
        bool posted = home.post([&home, room = req_.room, link, rate] {
            home.mixing().join_room(room, link, rate);
        });
        if (!posted)
            link->end(MixEnd::ended);
    }

private:
    bool wants(char digit) const override { return req_.exit_digits.find(digit) != std::string::npos; }
    void pressed(char digit) override { finish(std::string(1, digit)); }
    ConferenceRequest req_;
};

class SpyOp : public MixOp {
public:
    SpyOp(Call &call, Leg &leg, SpyRequest request) : MixOp(call, leg), req_(std::move(request)) {}
    void start() override {
        auto link = join();
        link->mode.store(static_cast<int>(req_.mode), std::memory_order_relaxed);
        link_ = link;
        MixHub::request_spy(call_.worker.engine(), req_.target, std::move(link));
    }

private:
    // 4, 5, 6: listen, whisper, barge (as in a ChanSpy with DTMF modes); # stops.
    bool wants(char digit) const override { return digit == '#' || (digit >= '4' && digit <= '6'); }
    void pressed(char digit) override {
        if (digit == '#') {
            finish("#");
            return;
        }
        auto mode = static_cast<SpyMode>(digit - '4');
        link_->mode.store(static_cast<int>(mode), std::memory_order_relaxed);
        log::at(log::Level::info, "lua", call_.id, "{} switches to {} mode", leg_->id, spy_mode_name(mode));
    }
    SpyRequest req_;
    std::shared_ptr<MixLink> link_;
};

} // namespace

std::unique_ptr<PendingOp> make_conference_op(Call &call, Leg &leg, ConferenceRequest request) {
    return std::make_unique<ConferenceOp>(call, leg, std::move(request));
}

std::unique_ptr<PendingOp> make_spy_op(Call &call, Leg &leg, SpyRequest request) {
    return std::make_unique<SpyOp>(call, leg, std::move(request));
}

} // namespace tandem
