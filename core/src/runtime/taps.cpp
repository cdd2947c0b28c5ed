#include "runtime/taps.hpp"

#include "log.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/translation.hpp"
#include "runtime/worker.hpp"

#include <algorithm>

namespace tandem {

namespace {
// A direction may run this many ticks ahead (a driver delivering frames in
// pairs) before its oldest audio is dropped; more only adds latency.
constexpr size_t kFifoTicks = 4;
} // namespace

TapSet::TapSet(Worker &worker) : worker_(worker) {}

TapSet::~TapSet() = default;

uint64_t TapSet::add(tandem_module *module, Leg &leg, const tandem_tap &desc) {
    if (desc.struct_size < sizeof(tandem_tap) || !desc.audio || leg.state() == LegState::hungup)
        return 0;
    media::FormatId pcm = media::linear_format_for_rate(desc.sample_rate);
    if (pcm == media::kNoFormat)
        return 0;
    ModuleUse use = module ? ModuleUse::acquire(module) : ModuleUse();
    if (module && !use)
        return 0;
    auto tap = std::make_unique<Tap>();
    tap->id = next_id_++;
    tap->leg = Ref<Leg>(&leg);
    tap->desc = desc;
    tap->use = std::move(use);
    tap->pcm = pcm;
    tap->samples = desc.sample_rate * media::kPtimeMs / 1000;
    tap->rx.fifo.reserve(tap->samples * kFifoTicks);
    tap->tx.fifo.reserve(tap->samples * kFifoTicks);
    uint64_t id = tap->id;
    taps_.push_back(std::move(tap));
    mark_tapped(leg, true);
    return id;
}

int TapSet::remove(tandem_module *module, uint64_t id) {
    for (auto &tap : taps_)
        if (tap->id == id && !tap->closing && (!module || tap->use.module() == module)) {
            close(*tap, TANDEM_TAP_REMOVED);
            sweep();
            return TANDEM_OK;
        }
    return TANDEM_ENOENT;
}

void TapSet::feed(Tap &tap, Direction &dir, const media::Frame &frame) {
    if (frame.kind != media::FrameKind::audio)
        return;
    const media::Frame *pcm = &frame;
    if (frame.format != tap.pcm) {
        std::string error;
        HeldTranslator *to_pcm = dir.to_pcm.get(worker_.engine().registry(), frame.format, tap.pcm, error);
        if (!to_pcm) {
            if (!error.empty())
                log::at(log::Level::warning, "core", "", "audio tap {}: {}", tap.id, error);
            return;
        }
        if (!to_pcm->get().translate(frame, *scratch_))
            return;
        pcm = scratch_.get();
    }
    size_t cap = tap.samples * kFifoTicks;
    size_t n = std::min<size_t>(pcm->samples, cap);
    if (dir.fifo.size() + n > cap) // behind: the oldest audio goes
        dir.fifo.erase(dir.fifo.begin(), dir.fifo.begin() + static_cast<long>(dir.fifo.size() + n - cap));
    dir.fifo.insert(dir.fifo.end(), pcm->pcm(), pcm->pcm() + n);
}

void TapSet::received(Leg &leg) {
    FrameQueue &inbox = leg.inbox();
    for (auto &tap : taps_)
        if (tap->leg.get() == &leg && !tap->closing)
            for (size_t i = 0; i < inbox.size(); ++i)
                feed(*tap, tap->rx, inbox.at(i));
}

void TapSet::sent(Leg &leg, const media::Frame &frame) {
    for (auto &tap : taps_)
        if (tap->leg.get() == &leg && !tap->closing)
            feed(*tap, tap->tx, frame);
}

void TapSet::leg_gone(Leg &leg) {
    for (auto &tap : taps_)
        if (tap->leg.get() == &leg && !tap->closing)
            close(*tap, TANDEM_TAP_HANGUP);
    if (!in_tick_)
        sweep();
}

void TapSet::move(Leg &from, Leg &to) {
    bool moved = false;
    for (auto &tap : taps_)
        if (tap->leg.get() == &from && !tap->closing) {
            tap->leg = Ref<Leg>(&to);
            tap->rx.to_pcm.reset(); // the new leg may speak another format
            tap->tx.to_pcm.reset();
            moved = true;
        }
    if (moved) {
        mark_tapped(from, false);
        mark_tapped(to, true);
    }
}

void TapSet::tick() {
    if (taps_.empty())
        return;
    in_tick_ = true;
    for (size_t i = 0; i < taps_.size(); ++i) { // audio() may add taps
        Tap &tap = *taps_[i];
        if (tap.closing)
            continue;
        auto take = [&](Direction &dir, std::array<int16_t, media::kMaxFrameBytes / 2> &out) {
            size_t n = std::min<size_t>(dir.fifo.size(), tap.samples);
            std::copy_n(dir.fifo.begin(), n, out.begin());
            std::fill(out.begin() + static_cast<long>(n), out.begin() + tap.samples, int16_t{0});
            dir.fifo.erase(dir.fifo.begin(), dir.fifo.begin() + static_cast<long>(n));
        };
        take(tap.rx, out_rx_);
        take(tap.tx, out_tx_);
        if (tap.desc.audio(tap.desc.user, out_rx_.data(), out_tx_.data(), tap.samples) != 0)
            close(tap, TANDEM_TAP_DETACHED);
    }
    in_tick_ = false;
    sweep();
}

void TapSet::close_all() {
    for (auto &tap : taps_)
        if (!tap->closing)
            close(*tap, TANDEM_TAP_SHUTDOWN);
    sweep();
}

void TapSet::close(Tap &tap, int reason) {
    tap.closing = true;
    if (tap.desc.closed)
        tap.desc.closed(tap.desc.user, reason);
}

void TapSet::sweep() {
    std::vector<Ref<Leg>> touched;
    for (auto &tap : taps_)
        if (tap->closing)
            touched.push_back(tap->leg);
    if (touched.empty())
        return;
    std::erase_if(taps_, [](const std::unique_ptr<Tap> &t) { return t->closing; });
    for (auto &leg : touched)
        mark_tapped(*leg, any_on(*leg));
}

bool TapSet::any_on(const Leg &leg) const {
    return std::any_of(taps_.begin(), taps_.end(), [&](const auto &t) { return t->leg.get() == &leg && !t->closing; });
}

void TapSet::mark_tapped(Leg &leg, bool on) { leg.tapped = on; }

} // namespace tandem
