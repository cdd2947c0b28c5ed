#pragma once
// Mixing bridges: conferences of N legs and supervisor spies on a two-party
// bridge. See docs/architecture.md "Mixing and spying across workers".
//
// A Mixer lives on one worker (its home) and mixes, once per media tick, one
// frame of linear PCM at its rate from every participant. A participant is a
// MixMember on the worker of its leg — which may be another worker, since a
// supervisor's call and an agent's call are different calls. The two sides
// exchange frames only through their MixLink's lock-free rings; control
// (joining) travels by posted tasks, leaving and ending by the link's
// atomics, which each side checks on its own tick.
#include "media/frame.hpp"
#include "runtime/mix_link.hpp"
#include "runtime/translation.hpp"
#include "runtime/ref.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tandem {

class Bridge;
class Engine;
class Leg;
class Worker;

// The linear rate that keeps a leg's audio: 8, 16 or 48 kHz (worker-only).
uint32_t mix_rate_for(Engine &engine, const Leg &leg);

// The participant's side: turns its leg's audio into the mixer's linear
// format and back. Worker-only (the leg's worker).
class MixMember {
public:
    MixMember(Worker &worker, Leg &leg, std::shared_ptr<MixLink> link);
    ~MixMember();
    // Media tick: the leg's received frames go to the mixer.
    void take_input(Leg &leg);
    // Hub tick: the mix goes to the leg. False once this member is over
    // (the mixer ended it or its leg hung up); `reason()` says why.
    bool deliver();
    MixEnd reason() const { return reason_; }
    Leg &leg() const { return *leg_; }
    MixLink &link() const { return *link_; }
    // Called (after the hub's tick) when the member ends other than by leave().
    std::function<void(MixEnd)> on_end;

private:
    Worker &worker_;
    Ref<Leg> leg_;
    std::shared_ptr<MixLink> link_;
    TranslatorSlot in_, out_;
    // The last conversion with no translator (from, to): not searched for
    // again, and logged once, for every frame that would need it.
    std::unique_ptr<media::Frame> scratch_ = std::make_unique<media::Frame>();
    MixEnd reason_ = MixEnd::none;
};

// The mixing side. Worker-only (its home worker).
class Mixer {
public:
    // A conference room: every participant hears every other one.
    Mixer(Worker &home, std::string room, uint32_t rate);
    // A spy on the bridge of `target` (the agent) and `peer` (the customer).
    Mixer(Worker &home, Leg &target, Leg &peer, uint32_t rate);
    ~Mixer();

    // Adds a participant (it was waiting in `pending`) and tells it the rate.
    void add(std::shared_ptr<MixLink> link, bool speaks = true);
    // One frame of mixing; false once the mixer is over.
    bool tick();
    // Ends every participant with `why` (console stop, target gone).
    void end_all(MixEnd why);

    const std::string &room() const { return room_; }
    uint32_t rate() const { return rate_; }
    size_t size() const { return slots_.size(); }
    bool over() const { return over_; }
    bool is_spy() const { return bool(target_); }
    Leg *target() const { return target_.get(); }
    Leg *peer() const { return peer_.get(); }
    MixLink *supervisor() const; // null until the supervisor's link is added
    std::vector<MixLink *> participants() const;

private:
    struct Slot {
        std::shared_ptr<MixLink> link;
        bool speaks = true;   // in everybody's mix (false: a listener or a whisperer)
        int whisper_to = -1;  // slot that hears this one although it does not speak
        bool has_frame = false;
        uint32_t offset = 0; // samples of the ring's front frame already mixed
        std::unique_ptr<media::Frame> in = std::make_unique<media::Frame>();
    };
    void apply_spy_mode();
    bool spied_bridge_alive() const;
    // Custom events "conference" and "spy" (docs/console.md, events).
    void announce_member(const MixLink &who, const char *action);
    void announce_spy(const char *action, const char *detail);

    Worker &home_;
    const std::string room_;
    const uint32_t rate_;
    std::vector<Slot> slots_;
    std::vector<int32_t> acc_;
    bool over_ = false;
    // Spies only: slot 0 is the peer, 1 the target, 2 the supervisor.
    Ref<Leg> target_, peer_;
    Bridge *bridge_ = nullptr;
    SpyMode announced_mode_ = SpyMode::listen;
};

// Per worker: the mixers it hosts and the members whose legs it owns.
class MixHub {
public:
    explicit MixHub(Worker &worker);
    ~MixHub();

    // --- participant side ---
    MixMember &add_member(Leg &leg, std::shared_ptr<MixLink> link);
    // The member leaves of its own accord (its op ended or was cancelled).
    void leave(MixMember &member);

    // --- mixer side ---
    // Puts `link` in conference `room` (created on first join) at `rate`
    // (the first joiner's choice). Runs on the room's home worker. A muted
    // participant (MixLink::muted) is in nobody's mix.
    void join_room(const std::string &room, std::shared_ptr<MixLink> link, uint32_t rate);
    // Attaches a supervisor's link to the bridge of the leg named by
    // `target` if this worker has it; false when it does not.
    bool attach_spy(const std::string &target, std::shared_ptr<MixLink> link);
    // Console: the spies hosted here matching `id` (any leg or call id of
    // supervisor, target or peer; empty matches all).
    std::vector<Mixer *> spies_matching(const std::string &id);
    // Console: the conference rooms hosted here (`room` empty: all).
    std::vector<Mixer *> rooms_named(const std::string &room);

    // Media tick, after the legs' input: mix, then play the mixes.
    void tick();
    // Shutdown: drop everything (on the worker thread).
    void clear();

    // The worker hosting conference `room`.
    static int home_of(const std::string &room, int worker_count);
    // Looks for `target` on worker `index`, then the next ones, each in a
    // task on that worker; ends `link` with not_found when nobody has it.
    static void request_spy(Engine &engine, std::string target, std::shared_ptr<MixLink> link, int index = 0);

private:
    Worker &worker_;
    std::vector<std::unique_ptr<MixMember>> members_;
    std::vector<std::unique_ptr<Mixer>> mixers_;
    std::unordered_map<std::string, Mixer *> rooms_;
    std::vector<std::pair<std::function<void(MixEnd)>, MixEnd>> ended_; // reused every tick
};

} // namespace tandem
