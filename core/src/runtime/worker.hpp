#pragma once
// A worker thread: its own reactor, its calls, its Lua state and its media
// clock. Nothing here is touched by another thread except through post().
#include "runtime/reactor.hpp"
#include "media/frame.hpp"
#include "runtime/ref.hpp"
#include "runtime/stream_playout.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tandem {

class Engine;
class Call;
class Leg;
class LuaWorker;
class MixHub;
class TapSet;
namespace media {
class Player;
}

class Worker {
public:
    Worker(Engine &engine, int index);
    ~Worker();

    void start();
    void stop_and_join();
    int index() const { return index_; }
    Engine &engine() { return engine_; }
    Reactor &reactor() { return reactor_; }
    bool post(Reactor::Task task) { return reactor_.post(std::move(task)); }
    LuaWorker &lua() { return *lua_; }
    MixHub &mixing() { return *mixing_; } // conferences and spies (runtime/mixer.hpp)

    // --- worker-only ---
    Call &add_call(std::unique_ptr<Call> call);
    Call *find_call(const std::string &id);
    // Called by Call::maybe_finish; destroys the call after the current task.
    void remove_call(Call &call);
    const std::unordered_map<std::string, std::unique_ptr<Call>> &calls() const { return calls_; }

    // A leg's inbox went from empty to non-empty: process it on the next tick.
    void media_pending(Leg &leg);
    // Plays `player` to `leg` on every tick until it ends or stop_playing().
    void start_playing(Leg &leg, std::unique_ptr<media::Player> player, std::function<void()> on_done);
    void stop_playing(Leg &leg);
    // Shared streams (music on hold) heard by this worker's legs.
    StreamPlayout &streams() { return streams_; }
    // Audio taps of this worker's legs (ABI 1.3).
    TapSet &taps() { return *taps_; }
    // One media tick (public so benchmarks can drive it without a clock).
    void media_tick(uint64_t periods = 1);

    // --- any thread ---
    size_t call_count() const { return call_count_.load(std::memory_order_relaxed); }
    uint64_t calls_total() const { return calls_total_.load(std::memory_order_relaxed); }
    uint64_t ticks() const { return ticks_.load(std::memory_order_relaxed); }
    // Media periods skipped because a tick ran late: the clock's timerfd
    // reported more than one expiry (a tick that took over 20 ms, or a
    // worker that got no CPU in time). 0 on a healthy worker.
    uint64_t media_overruns() const { return overruns_.load(std::memory_order_relaxed); }
    // Ticks whose own work took more than the 20 ms period of the worker's
    // CPU time: the worker itself is too slow for its load (measured in
    // thread CPU time, so a busy machine that runs it late does not count).
    uint64_t media_slow_ticks() const { return slow_ticks_.load(std::memory_order_relaxed); }

private:
    void play_tick();
    // Runs the leg's received audio through its in-band DTMF detector.
    void detect_inband_dtmf(Leg &leg);
    void abandon_all();

    Engine &engine_;
    const int index_;
    Reactor reactor_;
    std::thread thread_;
    std::unique_ptr<LuaWorker> lua_;
    std::unique_ptr<MixHub> mixing_;
    std::unordered_map<std::string, std::unique_ptr<Call>> calls_;
    std::vector<std::unique_ptr<Call>> finished_;
    std::vector<Ref<Leg>> media_pending_, media_batch_;
    struct Playback {
        Ref<Leg> leg;
        std::function<void()> on_done;
    };
    std::vector<Playback> playbacks_;
    StreamPlayout streams_;
    std::unique_ptr<TapSet> taps_;
    std::vector<std::function<void()>> finished_playbacks_; // reused every tick
    std::unique_ptr<media::Frame> scratch_pcm_holder_ = std::make_unique<media::Frame>();
    std::unique_ptr<media::Frame> scratch_wire_holder_ = std::make_unique<media::Frame>();
    media::Frame &scratch_pcm_ = *scratch_pcm_holder_;
    media::Frame &scratch_wire_ = *scratch_wire_holder_;
    std::atomic<size_t> call_count_{0};
    std::atomic<uint64_t> calls_total_{0};
    std::atomic<uint64_t> ticks_{0};
    std::atomic<uint64_t> overruns_{0};
    std::atomic<uint64_t> slow_ticks_{0};
    int ticker_ = -1;
};

} // namespace tandem
