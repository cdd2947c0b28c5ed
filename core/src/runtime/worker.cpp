#include "runtime/worker.hpp"

#include "log.hpp"
#include "lua/lua_worker.hpp"
#include "media/dtmf_detector.hpp"
#include "media/player.hpp"
#include "runtime/translation.hpp"
#include "runtime/bridge.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/mixer.hpp"
#include "runtime/taps.hpp"

#include <algorithm>
#include <ctime>

namespace tandem {

Worker::Worker(Engine &engine, int index) : engine_(engine), index_(index), streams_(engine) {
    lua_ = std::make_unique<LuaWorker>(*this, engine.config().limits);
    mixing_ = std::make_unique<MixHub>(*this);
    taps_ = std::make_unique<TapSet>(*this);
}

Worker::~Worker() {
    stop_and_join();
    abandon_all(); // only does something when the thread never ran
    lua_.reset();
}

void Worker::start() {
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), ("tandem-w" + std::to_string(index_)).c_str());
        ticker_ = reactor_.add_ticker(std::chrono::milliseconds(media::kPtimeMs), [this](uint64_t periods) { media_tick(periods); });
        // A call's events come in bursts within one round (start, state,
        // answer; hang-up, end): one wake-up of the event thread per round.
        EventBus &events = engine_.events();
        events.defer_wakes_on_this_thread();
        reactor_.on_round_end([&events] { events.send_owed_wake(); });
        reactor_.run();
    });
}

void Worker::stop_and_join() {
    if (thread_.joinable()) {
        // Scripts are abandoned on their own thread: ops' cancel callbacks
        // (module code included) are worker-only.
        reactor_.post([this] { abandon_all(); });
        reactor_.stop();
        thread_.join();
    }
}

void Worker::abandon_all() {
    taps_->close_all();
    for (auto &[_, call] : calls_)
        lua_->abandon(*call);
    lua_->reap();
    mixing_->clear();
    calls_.clear();
    finished_.clear();
}

Call &Worker::add_call(std::unique_ptr<Call> call) {
    Call &ref = *call;
    calls_.emplace(call->id, std::move(call));
    call_count_.fetch_add(1, std::memory_order_relaxed);
    calls_total_.fetch_add(1, std::memory_order_relaxed);
    return ref;
}

Call *Worker::find_call(const std::string &id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
}

void Worker::remove_call(Call &call) {
    auto it = calls_.find(call.id);
    if (it == calls_.end())
        return;
    engine_.call_ended(call);
    // Destroyed after the current task: code up the stack may still use it.
    finished_.push_back(std::move(it->second));
    calls_.erase(it);
    call_count_.fetch_sub(1, std::memory_order_relaxed);
    if (finished_.size() == 1)
        reactor_.post([this] { finished_.clear(); });
}

void Worker::media_pending(Leg &leg) { media_pending_.emplace_back(&leg); }

void Worker::start_playing(Leg &leg, std::unique_ptr<media::Player> player, std::function<void()> on_done) {
    stop_playing(leg);
    leg.player = std::move(player);
    playbacks_.push_back({Ref<Leg>(&leg), std::move(on_done)});
}

void Worker::stop_playing(Leg &leg) {
    leg.player.reset();
    std::erase_if(playbacks_, [&](const Playback &p) { return p.leg.get() == &leg; });
}

void Worker::play_tick() {
    if (playbacks_.empty())
        return;
    auto &done = finished_playbacks_;
    done.clear();
    media::Frame &pcm = scratch_pcm_, &wire = scratch_wire_;
    for (auto &p : playbacks_) {
        Leg &leg = *p.leg;
        if (!leg.player || leg.state() == LegState::hungup)
            continue;
        uint32_t rate = media::linear_rate(leg.format());
        media::FormatId linear = leg.format();
        if (!rate) {
            rate = engine_.codec_rate(leg.format());
            linear = media::linear_format_for_rate(rate);
        }
        size_t want = rate * media::kPtimeMs / 1000;
        size_t got = leg.player->fill(pcm.pcm(), want, rate);
        if (got) {
            std::fill(pcm.pcm() + got, pcm.pcm() + want, int16_t{0});
            pcm.kind = media::FrameKind::audio;
            pcm.format = linear;
            pcm.samples = static_cast<uint32_t>(want);
            pcm.len = static_cast<uint32_t>(want * 2);
            if (linear == leg.format()) {
                leg.write(pcm);
            } else {
                if (!leg.to_wire || leg.to_wire->to() != leg.format() || leg.to_wire->from() != linear) {
                    std::string error;
                    leg.to_wire = HeldTranslator::create(*engine_.registry().snapshot(), linear, leg.format(), error,
                                                         nullptr, leg.format_params());
                }
                if (leg.to_wire && leg.to_wire->get().translate(pcm, wire))
                    leg.write(wire);
            }
        }
        if (leg.player->finished()) {
            leg.player.reset();
            done.push_back(std::move(p.on_done));
        }
    }
    std::erase_if(playbacks_, [](const Playback &p) { return !p.leg->player; });
    for (auto &cb : done)
        if (cb)
            cb();
}

void Worker::detect_inband_dtmf(Leg &leg) {
    if (!leg.wants_inband_dtmf()) {
        leg.inband_dtmf.reset();
        leg.inband_to_slin8.reset();
        return;
    }
    if (!leg.inband_dtmf && !(leg.inband_dtmf = media::DtmfDetector::create()))
        return;
    std::string digits;
    FrameQueue &inbox = leg.inbox();
    for (size_t i = 0; i < inbox.size(); ++i) {
        const media::Frame &frame = inbox.at(i);
        if (frame.format == media::kSlin8) {
            leg.inband_dtmf->feed(frame.pcm(), frame.samples, digits);
            continue;
        }
        if (!leg.inband_to_slin8 || leg.inband_to_slin8->from() != frame.format) {
            std::string error;
            leg.inband_to_slin8 =
                HeldTranslator::create(*engine_.registry().snapshot(), frame.format, media::kSlin8, error,
                                       frame.format == leg.format() ? leg.format_params() : nullptr);
            if (!leg.inband_to_slin8)
                continue;
        }
        if (leg.inband_to_slin8->get().translate(frame, scratch_pcm_))
            leg.inband_dtmf->feed(scratch_pcm_.pcm(), scratch_pcm_.samples, digits);
    }
    // Duration 0: a detector reports a digit once, not how long it sounded.
    for (char digit : digits)
        leg.receive_dtmf(digit, 0, Leg::DtmfSource::inband);
}

namespace {
uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}
} // namespace

void Worker::media_tick(uint64_t periods) {
    uint64_t started = thread_cpu_ns();
    ticks_.fetch_add(1, std::memory_order_relaxed);
    if (periods > 1)
        overruns_.fetch_add(periods - 1, std::memory_order_relaxed);
    lua_->reap();
    if (!media_pending_.empty()) {
        // Swap with a kept buffer: no allocation per tick.
        media_batch_.swap(media_pending_);
        for (auto &leg : media_batch_) {
            detect_inband_dtmf(*leg);
            if (leg->tapped && leg->state() != LegState::hungup)
                taps_->received(*leg);
            if (leg->state() == LegState::hungup) {
                leg->inbox().clear(); // a digit's handler ended the call
            } else if (leg->mix) { // a conference, or a spied bridge (before its own relay)
                leg->mix->take_input(*leg);
            } else if (leg->bridge) {
                leg->bridge->forward_from(*leg);
            } else if (leg->echo) {
                for (auto &in = leg->inbox(); !in.empty(); in.pop())
                    leg->write(in.front());
            } else {
                leg->inbox().clear(); // audio with no listener is dropped
            }
        }
        media_batch_.clear();
    }
    // After a late wake-up, mixers, players and shared streams catch up
    // (bounded) instead of drifting, and taps with them, so a recording
    // keeps the call's time.
    for (uint64_t i = 0; i < std::min<uint64_t>(periods, 4); ++i) {
        mixing_->tick();
        play_tick();
        streams_.tick();
        taps_->tick();
    }
    if (thread_cpu_ns() - started > media::kPtimeMs * 1000000u)
        slow_ticks_.fetch_add(1, std::memory_order_relaxed);
}

} // namespace tandem
