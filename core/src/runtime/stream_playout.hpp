#pragma once
// Plays shared streams (media/shared_stream.hpp) to the legs of one worker
// that hear them: music on hold. Each tick, a stream's current frame is
// copied out once and translated once per wire format, then the same bytes
// are written to every leg listening in that format; no leg decodes,
// resamples or encodes on its own.
//
// A leg's player (a prompt or tone) wins over its stream: the stream goes
// on underneath and the leg hears it again when the prompt ends.
//
// Thread-safety: worker-only, one per worker.
#include "media/frame.hpp"
#include "runtime/ref.hpp"
#include "runtime/translation.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace tandem {

class Engine;
class Leg;
namespace media {
class SharedStream;
}

class StreamPlayout {
public:
    explicit StreamPlayout(Engine &engine);
    ~StreamPlayout();

    // `leg` hears `stream` from the next tick on, instead of what it heard.
    // `for_hold`: started because the leg's bridge peer holds the call.
    void hear(Leg &leg, std::shared_ptr<media::SharedStream> stream, bool for_hold);
    void stop(Leg &leg);
    // One 20 ms period for every listening leg.
    void tick();
    size_t listeners() const { return listeners_.size(); }

private:
    // One wire format a stream's frame was translated to during this tick.
    struct Wire {
        media::FormatId format;
        std::unique_ptr<HeldTranslator> translator;
        std::unique_ptr<media::Frame> frame;
        uint64_t tick = 0;
        bool ok = false;
    };
    // A stream heard on this worker: its position and this tick's frame.
    struct Feed {
        std::shared_ptr<media::SharedStream> stream;
        uint64_t index = 0;
        bool started = false;
        bool have = false; // this tick's frame was there
        uint64_t tick = 0;
        std::unique_ptr<media::Frame> pcm;
        std::vector<Wire> wires;
    };
    Feed &feed_for(const std::shared_ptr<media::SharedStream> &stream);
    void advance(Feed &feed);
    const media::Frame *wire_for(Feed &feed, media::FormatId format);

    Engine &engine_;
    std::vector<Ref<Leg>> listeners_;
    std::vector<Feed> feeds_;
    uint64_t tick_ = 0;
};

} // namespace tandem
