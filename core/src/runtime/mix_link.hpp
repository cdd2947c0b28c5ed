#pragma once
// What one participant of a mixer shares with the mixer, which may run on
// another worker: two single-producer single-consumer rings of linear PCM
// frames (one per direction) and a few atomics. This is the only state two
// workers touch together; there is no lock on it.
#include "media/frame.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace tandem {

// Frames from one worker to another. Exactly one thread pushes and exactly
// one thread pops; a full ring refuses the new frame.
class FrameRing {
public:
    static constexpr uint32_t kSlots = 8;
    // The slot to fill, or null when full; commit_push() publishes it.
    media::Frame *begin_push() {
        uint32_t t = tail_.load(std::memory_order_relaxed);
        return t - head_.load(std::memory_order_acquire) == kSlots ? nullptr : &slots_[t % kSlots];
    }
    void commit_push() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
    // The oldest frame, or null when empty; pop() releases it.
    const media::Frame *front() {
        uint32_t h = head_.load(std::memory_order_relaxed);
        return h == tail_.load(std::memory_order_acquire) ? nullptr : &slots_[h % kSlots];
    }
    void pop() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
    uint32_t size() const { return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire); }

private:
    std::array<media::Frame, kSlots> slots_;
    alignas(64) std::atomic<uint32_t> head_{0}; // written by the consumer
    alignas(64) std::atomic<uint32_t> tail_{0}; // written by the producer
};

// Why a participant left a mixer (what call:conference / call:spy return).
enum class MixEnd : int { none, hangup, ended, stopped, not_found, busy };
const char *mix_end_name(MixEnd reason);

// Supervisor modes of a spy.
enum class SpyMode : int { listen, whisper, barge };
const char *spy_mode_name(SpyMode mode);
bool parse_spy_mode(const std::string &name, SpyMode &mode);

struct MixLink {
    MixLink(std::string leg_id_, std::string call_id_, std::string leg_name_)
        : leg_id(std::move(leg_id_)), call_id(std::move(call_id_)), leg_name(std::move(leg_name_)) {}

    // The participant's identity, for the console (immutable).
    const std::string leg_id, call_id, leg_name;

    FrameRing to_mixer;  // participant's worker -> mixer's worker
    FrameRing to_member; // mixer's worker -> participant's worker

    enum State : int { pending, joined, ended };
    // Set by the mixer's side: `rate` before `joined`, `reason` before `ended`.
    std::atomic<int> state{pending};
    std::atomic<uint32_t> rate{0};
    std::atomic<int> reason{static_cast<int>(MixEnd::none)};
    // Set by the participant's side when it leaves; the mixer drops the slot.
    std::atomic<bool> member_left{false};
    // A spy's mode: the supervisor's digits or the console store it, the
    // mixer applies it on its next tick.
    std::atomic<int> mode{static_cast<int>(SpyMode::listen)};
    // A conference participant heard by nobody: the dialplan's `muted` or
    // the console store it, the mixer applies it on its next tick.
    std::atomic<bool> muted{false};

    void end(MixEnd why) {
        reason.store(static_cast<int>(why), std::memory_order_relaxed);
        state.store(ended, std::memory_order_release);
    }
};

} // namespace tandem
