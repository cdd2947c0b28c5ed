#include "runtime/stream_playout.hpp"

#include "media/shared_stream.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/translation.hpp"

#include <algorithm>

namespace tandem {

StreamPlayout::StreamPlayout(Engine &engine) : engine_(engine) {}
StreamPlayout::~StreamPlayout() = default;

void StreamPlayout::hear(Leg &leg, std::shared_ptr<media::SharedStream> stream, bool for_hold) {
    if (!leg.stream)
        listeners_.emplace_back(&leg);
    leg.stream = std::move(stream);
    leg.stream_for_hold = for_hold;
}

void StreamPlayout::stop(Leg &leg) {
    if (!leg.stream)
        return;
    leg.stream.reset();
    leg.stream_for_hold = false;
    std::erase_if(listeners_, [&](const Ref<Leg> &l) { return l.get() == &leg; });
}

StreamPlayout::Feed &StreamPlayout::feed_for(const std::shared_ptr<media::SharedStream> &stream) {
    for (auto &feed : feeds_)
        if (feed.stream == stream)
            return feed;
    Feed &feed = feeds_.emplace_back();
    feed.stream = stream;
    feed.pcm = std::make_unique<media::Frame>();
    return feed;
}

// The next period in sequence, so a worker's listeners hear every frame
// once; back in step with the stream clock if it drifted more than 2 periods.
void StreamPlayout::advance(Feed &feed) {
    const uint64_t now = feed.stream->current_index();
    uint64_t next = feed.started ? feed.index + 1 : now;
    if (next + 2 < now || next > now + 2)
        next = now;
    feed.started = true;
    feed.index = next;
    feed.tick = tick_;
    media::Frame &pcm = *feed.pcm;
    feed.have = feed.stream->read(next, pcm.pcm());
    if (feed.have) {
        pcm.kind = media::FrameKind::audio;
        pcm.format = media::linear_format_for_rate(feed.stream->rate());
        pcm.samples = static_cast<uint32_t>(feed.stream->frame_samples());
        pcm.len = pcm.samples * 2;
    }
}

const media::Frame *StreamPlayout::wire_for(Feed &feed, media::FormatId format) {
    if (format == feed.pcm->format)
        return feed.pcm.get();
    auto it = std::find_if(feed.wires.begin(), feed.wires.end(), [&](const Wire &w) { return w.format == format; });
    if (it == feed.wires.end()) {
        std::string error;
        Wire wire{format, HeldTranslator::create(*engine_.registry().snapshot(), feed.pcm->format, format, error),
                  std::make_unique<media::Frame>()};
        it = feed.wires.insert(feed.wires.end(), std::move(wire));
    }
    if (it->tick != tick_) {
        it->tick = tick_;
        it->ok = it->translator && it->translator->get().translate(*feed.pcm, *it->frame);
    }
    return it->ok ? it->frame.get() : nullptr;
}

void StreamPlayout::tick() {
    if (listeners_.empty()) {
        feeds_.clear();
        return;
    }
    ++tick_;
    for (auto &ref : listeners_) {
        Leg &leg = *ref;
        if (leg.state() == LegState::hungup || leg.stream->closed()) {
            leg.stream.reset(); // removed below
            continue;
        }
        Feed &feed = feed_for(leg.stream);
        if (feed.tick != tick_)
            advance(feed);
        if (!feed.have || leg.player)
            continue;
        if (const media::Frame *frame = wire_for(feed, leg.format()))
            leg.write(*frame);
    }
    std::erase_if(listeners_, [](const Ref<Leg> &l) {
        if (l->stream)
            return false;
        l->stream_for_hold = false;
        return true;
    });
    std::erase_if(feeds_, [&](const Feed &f) { return f.tick != tick_; });
}

} // namespace tandem
