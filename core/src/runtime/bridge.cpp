#include "runtime/bridge.hpp"

#include "log.hpp"
#include "runtime/translation.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/worker.hpp"

namespace tandem {

Bridge::Bridge(Worker &worker, Leg &a, Leg &b) : worker_(worker), a_(&a), b_(&b) {
    a.bridge = this;
    b.bridge = this;
    // Audio that queued before the bridge belongs to nobody.
    a.inbox().clear();
    b.inbox().clear();
    // Music on hold ends when the party is connected (a queue's caller
    // meets an agent).
    worker_.streams().stop(a);
    worker_.streams().stop(b);
    if (worker_.engine().events().wants(EventType::bridge))
        worker_.engine().events().publish(
            make_event(EventType::bridge, a.call_id, a.id, a.linked_id).with("peer", b.id).with("peer_name", b.name));
}

Bridge::~Bridge() {
    if (!ended_)
        end(nullptr);
}

Leg &Bridge::peer_of(const Leg &leg) const { return &leg == a_.get() ? *b_ : *a_; }

HeldTranslator *Bridge::translator_for(Leg &from, Leg &to) {
    auto &slot = &from == a_.get() ? a_to_b_ : b_to_a_;
    std::string error;
    HeldTranslator *t = slot.get(worker_.engine().registry(), from.format(), to.format(), error, from.format_params(),
                                 to.format_params());
    if (!t && !error.empty())
        log::at(log::Level::warning, "core", from.call_id, "bridge {} -> {}: {}", from.id, to.id, error);
    return t;
}

void Bridge::forward_from(Leg &from) {
    if (ended_)
        return;
    Leg &to = peer_of(from);
    auto &inbox = from.inbox();
    if (to.stream) { // `to` is on hold and hears music instead
        inbox.clear();
        return;
    }
    while (!inbox.empty()) {
        media::Frame &f = inbox.front();
        if (f.format == to.format()) {
            to.write(f);
        } else if (auto *t = translator_for(from, to); t && t->get().translate(f, scratch_)) {
            to.write(scratch_);
            ++frames_translated_;
        }
        ++frames_relayed_;
        inbox.pop();
    }
}

bool Bridge::relay_now(Leg &from, const tandem_frame &frame, media::FormatId format) {
    if (ended_)
        return false;
    Leg &to = peer_of(from);
    if (to.stream) // `to` hears music instead
        return true;
    if (format != to.format() || to.tapped)
        return false;
    to.write_wire(frame);
    ++frames_relayed_;
    return true;
}

void Bridge::relay_dtmf(Leg &from, char digit, uint32_t duration_ms) {
    if (!ended_)
        peer_of(from).write_dtmf(digit, duration_ms);
}

void Bridge::leg_gone(Leg &leg) {
    if (!ended_)
        end(&leg);
}

void Bridge::dissolve() {
    if (!ended_)
        end(nullptr);
}

void Bridge::end(Leg *gone) {
    ended_ = true;
    a_->bridge = nullptr;
    b_->bridge = nullptr;
    // A hold ends with the bridge it was in.
    for (Leg *leg : {a_.get(), b_.get()})
        if (leg->stream_for_hold)
            worker_.streams().stop(*leg);
    if (worker_.engine().events().wants(EventType::unbridge))
        worker_.engine().events().publish(make_event(EventType::unbridge, a_->call_id, a_->id, a_->linked_id)
                                              .with("peer", b_->id)
                                              .with("frames", std::to_string(frames_relayed_)));
    if (on_end) {
        auto cb = std::move(on_end);
        cb(*this, gone);
    }
}

} // namespace tandem
