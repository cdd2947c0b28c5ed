#pragma once
// Audio taps (ABI 1.3, host->leg_tap_add): a module sees both directions of
// a leg's audio as PCM, 20 ms of each per media tick, on the leg's worker.
// What the far end sent (rx) is taken from the leg's inbox before the tick
// forwards it; what the engine sent (tx) from Leg::write. Each direction
// passes a small FIFO, so the two stay aligned on the media clock even when
// a driver delivers frames in pairs; a direction with nothing is silence.
#include "media/frame.hpp"
#include "modules/registry.hpp"
#include "runtime/ref.hpp"
#include "runtime/translation.hpp"
#include "tandem/module.h"

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace tandem {

class Leg;
class Worker;

class TapSet {
public:
    explicit TapSet(Worker &worker);
    ~TapSet();

    // Returns the tap id (> 0), or 0 for a bad descriptor/leg.
    uint64_t add(tandem_module *module, Leg &leg, const tandem_tap &desc);
    // Detaches and calls closed(TANDEM_TAP_REMOVED); TANDEM_ENOENT when unknown.
    int remove(tandem_module *module, uint64_t id);

    // Hooks (only for a leg with Leg::tapped set).
    void received(Leg &leg);                         // its inbox, before forwarding
    void sent(Leg &leg, const media::Frame &frame);  // written to its driver
    void leg_gone(Leg &leg);                         // hung up: its taps close
    // `from` leaves the call by a transfer or a replacement: its taps go on
    // on `to` (the party that stays, or the leg that replaces it).
    void move(Leg &from, Leg &to);
    // End of a media tick: every tap gets its 20 ms of each direction.
    void tick();
    // Engine stopping: every tap closes.
    void close_all();
    size_t size() const { return taps_.size(); }

private:
    struct Direction {
        std::vector<int16_t> fifo; // samples waiting, oldest first
        TranslatorSlot to_pcm;
    };
    struct Tap {
        uint64_t id = 0;
        Ref<Leg> leg;
        tandem_tap desc{};
        ModuleUse use;
        media::FormatId pcm = media::kSlin8;
        uint32_t samples = 160; // per tick
        Direction rx, tx;
        bool closing = false;
    };
    void feed(Tap &tap, Direction &dir, const media::Frame &frame);
    void close(Tap &tap, int reason);
    void sweep();
    static void mark_tapped(Leg &leg, bool on);
    bool any_on(const Leg &leg) const;

    Worker &worker_;
    std::vector<std::unique_ptr<Tap>> taps_;
    std::unique_ptr<media::Frame> scratch_ = std::make_unique<media::Frame>();
    std::array<int16_t, media::kMaxFrameBytes / 2> silence_{};
    std::array<int16_t, media::kMaxFrameBytes / 2> out_rx_{}, out_tx_{};
    uint64_t next_id_ = 1;
    bool in_tick_ = false;
};

} // namespace tandem
