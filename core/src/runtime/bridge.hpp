#pragma once
// A two-party bridge: each media tick moves the frames one leg received to
// the other, translating only when their formats differ. DTMF is relayed as
// soon as it arrives. Lives on the legs' worker; ends when either leg leaves.
#include "media/frame.hpp"
#include "runtime/ref.hpp"
#include "runtime/translation.hpp"
#include "tandem/module.h"

#include <cstdint>
#include <functional>
#include <memory>

namespace tandem {

class Leg;
class Worker;

class Bridge {
public:
    Bridge(Worker &worker, Leg &a, Leg &b);
    ~Bridge();
    Bridge(const Bridge &) = delete;
    Bridge &operator=(const Bridge &) = delete;

    // Media tick: forward what `from` received to its peer.
    void forward_from(Leg &from);
    // A frame `from` received while it relays directly (Leg::relays_directly)
    // and nothing waits in its inbox: sent to the peer as the driver gave it
    // when the peer takes the same format untapped (true), else false and
    // the caller queues it for forward_from.
    bool relay_now(Leg &from, const tandem_frame &frame, media::FormatId format);
    void relay_dtmf(Leg &from, char digit, uint32_t duration_ms);
    // A leg hung up or was taken out: the bridge ends (once).
    void leg_gone(Leg &leg);
    // The engine or the dialplan ends the bridge with both legs alive.
    void dissolve();

    bool ended() const { return ended_; }
    Leg &a() const { return *a_; }
    Leg &b() const { return *b_; }
    Leg &peer_of(const Leg &leg) const;
    uint64_t frames_relayed() const { return frames_relayed_; }
    uint64_t frames_translated() const { return frames_translated_; }

    // Called once when the bridge ends; `gone` is the leg that left, or null
    // when dissolved.
    std::function<void(Bridge &, Leg *gone)> on_end;

private:
    void end(Leg *gone);
    HeldTranslator *translator_for(Leg &from, Leg &to);

    // What every relayed packet reads comes first, in one cache line;
    // the 2 KB scratch frame comes last.
    bool ended_ = false;
    Worker &worker_;
    Ref<Leg> a_, b_;
    uint64_t frames_relayed_ = 0;
    uint64_t frames_translated_ = 0;
    TranslatorSlot a_to_b_, b_to_a_;
    media::Frame scratch_;
};

} // namespace tandem
