#pragma once
// A leg: one channel to one party. Identity is immutable and readable from
// any thread; everything else belongs to the owning worker's thread.
#include "media/frame.hpp"
#include "modules/registry.hpp"
#include "runtime/leg_vars.hpp"
#include "runtime/ref.hpp"
#include "tandem/module.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace tandem {

class Worker;
class Call;
class Bridge;
class HeldTranslator;
class MixMember;
namespace media {
class Player;
class DtmfDetector;
class SharedStream;
}

enum class LegState : int {
    down = TANDEM_LEG_DOWN,
    ringing = TANDEM_LEG_RINGING,
    early = TANDEM_LEG_EARLY,
    up = TANDEM_LEG_UP,
    hungup = TANDEM_LEG_HUNGUP,
};
const char *leg_state_name(LegState s);
const char *cause_name(int cause);

enum class Direction { inbound, outbound };

// Small fixed ring of frames waiting for the media tick; the oldest frame is
// dropped when a far end sends faster than the clock consumes.
class FrameQueue {
public:
    static constexpr size_t kCapacity = 8;
    bool empty() const { return count_ == 0; }
    size_t size() const { return count_; }
    // Returns the slot to fill (overwriting the oldest when full).
    media::Frame &push();
    media::Frame &front() { return (*slots_)[head_]; }
    media::Frame &at(size_t i) { return (*slots_)[(head_ + i) % kCapacity]; } // i < size()
    void pop();
    void clear() { head_ = count_ = 0; }
    uint64_t dropped() const { return dropped_; }

private:
    std::unique_ptr<std::array<media::Frame, kCapacity>> slots_; // allocated on first use
    size_t head_ = 0, count_ = 0;
    uint64_t dropped_ = 0;
};

class Leg : public RefCounted {
public:
    Leg(Worker &worker, std::string id, std::string call_id, std::string linked_id, Direction direction,
        Registered<tandem_channel_driver> driver, ModuleUse use);
    ~Leg() override;

private:
    // --- what a relayed packet reads on both legs, first and together:
    // spread over the object, each field cost a cache miss per packet ---
    LegState state_ = LegState::down;
    bool driver_done_ = false;
    mutable bool inband_wanted_ = false;
    media::FormatId format_ = media::kSlin8;
    mutable uint64_t inband_checked_at_ = UINT64_MAX; // vars.changes() when inband_wanted_ was read
    Registered<tandem_channel_driver> driver_;
    FrameQueue inbox_;

public:
    Bridge *bridge = nullptr; // set while bridged
    MixMember *mix = nullptr; // set while in a conference or a spied bridge (runtime/mixer.hpp)
    bool tapped = false;      // an audio tap watches it (runtime/taps.hpp)
    bool stream_for_hold = false;
    // Music on hold: a shared stream the leg hears (runtime/stream_playout.hpp)
    // while no player plays; for_hold: because its bridge peer holds the call.
    std::shared_ptr<media::SharedStream> stream;
    uint64_t frames_in = 0, frames_out = 0; // audio frames, for CDRs and tests
    LegVars vars;

    // --- identity (any thread) ---
    const std::string id;
    const std::string call_id;
    const std::string linked_id;
    const Direction direction;
    Worker &worker;
    std::string name; // "local/200@default", set once at creation

    // --- worker-only ---
    LegState state() const { return state_; }
    int cause() const { return cause_; }
    const char *driver_name() const { return driver_.desc ? driver_.desc->name : "none"; }

    // Forward-only transitions; false (and no effect) for a backward move.
    bool set_state(LegState next);
    // The engine ends the leg: tells the driver, then moves to hungup.
    void hangup(int cause);
    // The driver reports the far end hung up.
    void remote_hangup(int cause);

    // Driver delivers a frame from the far end.
    void push_frame(const tandem_frame &frame);
    // A digit from the far end, signalled (RFC 4733, SIP INFO: through
    // push_frame) or detected in its audio: one stream for the dialplan.
    // An in-band digit is not relayed to a bridge peer, which hears the
    // tone itself.
    enum class DtmfSource { signalled, inband };
    void receive_dtmf(char digit, uint32_t duration_ms, DtmfSource source);
    // True while the variable dtmf_inband asks for in-band detection.
    bool wants_inband_dtmf() const;
    // True while the leg's audio can go to its bridge peer as it arrives,
    // with nothing in the engine needing it on the media tick: no tap, no
    // mixer, no in-band DTMF detection (the bridge translates if need be).
    bool relays_directly() const { return bridge && !tapped && !mix && !wants_inband_dtmf(); }
    // Send a frame to the far end through the driver.
    int write(const media::Frame &frame);
    // The same for an audio frame as another driver delivered it (a
    // bridge's direct relay, same format, no tap on this leg): no copy.
    int write_wire(const tandem_frame &frame);
    int write_dtmf(char digit, uint32_t duration_ms);
    int answer();
    int indicate(LegState state);
    int request(const std::string &dest);

    media::FormatId format() const { return format_; }
    void set_format(media::FormatId f) {
        if (f != format_)
            format_params_.reset();
        format_ = f;
    }
    // The far end's parameters for format() (an RTP channel's a=fmtp), for
    // the codec states of translators made for this leg; nullptr: unknown.
    const char *format_params() const { return format_params_ ? format_params_->c_str() : nullptr; }
    void set_format_params(std::optional<std::string> params) { format_params_ = std::move(params); }
    FrameQueue &inbox() { return inbox_; }

    std::string context, exten, caller_num, caller_name;
    uint64_t created_us = 0, answered_us = 0, ended_us = 0;
    bool ended_by_far_end = false; // the driver reported the hang-up (CDR hangup_side)
    void *pvt = nullptr;

    Call *call = nullptr;     // the call this leg belongs to
    std::unique_ptr<media::Player> player;
    std::unique_ptr<HeldTranslator> to_wire; // slin -> format for the player
    std::string dtmf_buffer;                      // digits nobody consumed yet
    std::unique_ptr<media::DtmfDetector> inband_dtmf; // while wants_inband_dtmf()
    std::unique_ptr<HeldTranslator> inband_to_slin8;  // received format -> detector input
    bool echo = false;                            // media tick sends received audio back
    // Observer of state changes and DTMF (the owning call).
    std::function<void(Leg &, LegState)> on_state;
    std::function<void(Leg &, char)> on_dtmf;

    tandem_leg *abi() { return reinterpret_cast<tandem_leg *>(this); }
    static Leg *from(tandem_leg *l) { return reinterpret_cast<Leg *>(l); }
    static const Leg *from(const tandem_leg *l) { return reinterpret_cast<const Leg *>(l); }

private:
    void enter_hungup(int cause);

    ModuleUse use_;
    int cause_ = 0;
    std::optional<std::string> format_params_;

};

} // namespace tandem
