#include "runtime/mixer.hpp"

#include "log.hpp"
#include "media/mix.hpp"
#include "runtime/bridge.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/leg.hpp"
#include "runtime/translation.hpp"
#include "runtime/worker.hpp"

#include <algorithm>
#include <cstring>

namespace tandem {

namespace {

// Frames queued beyond this (the two workers' clocks drifted apart, or a
// burst arrived) are dropped, oldest first: latency stays bounded.
constexpr uint32_t kMaxBacklog = 3;

void copy_audio(const media::Frame &from, media::Frame &to) {
    to.kind = media::FrameKind::audio;
    to.format = from.format;
    to.len = std::min<uint32_t>(from.len, media::kMaxFrameBytes) & ~1u;
    to.samples = std::min(from.samples, to.len / 2); // never trust a count the bytes do not back
    std::memcpy(to.data, from.data, to.len);
}

// A custom event of the core (as a module's would be, with module=core).
Event mix_event(const char *name, const std::string &call_id, const std::string &leg_id) {
    Event e = make_event(EventType::custom, call_id, leg_id);
    e.name = name;
    e.with("module", "core");
    return e;
}

void drop_backlog(FrameRing &ring) {
    while (ring.size() > kMaxBacklog)
        ring.pop();
}

} // namespace

uint32_t mix_rate_for(Engine &engine, const Leg &leg) {
    uint32_t rate = media::linear_rate(leg.format());
    if (!rate)
        rate = engine.codec_rate(leg.format());
    return rate <= 8000 ? 8000 : rate <= 16000 ? 16000 : 48000;
}

const char *mix_end_name(MixEnd reason) {
    switch (reason) {
    case MixEnd::none: return "none";
    case MixEnd::hangup: return "hangup";
    case MixEnd::ended: return "ended";
    case MixEnd::stopped: return "stopped";
    case MixEnd::not_found: return "not_found";
    case MixEnd::busy: return "busy";
    }
    return "none";
}

const char *spy_mode_name(SpyMode mode) {
    switch (mode) {
    case SpyMode::listen: return "listen";
    case SpyMode::whisper: return "whisper";
    case SpyMode::barge: return "barge";
    }
    return "listen";
}

bool parse_spy_mode(const std::string &name, SpyMode &mode) {
    for (SpyMode m : {SpyMode::listen, SpyMode::whisper, SpyMode::barge})
        if (name == spy_mode_name(m)) {
            mode = m;
            return true;
        }
    return false;
}

// --- MixMember ---------------------------------------------------------------

MixMember::MixMember(Worker &worker, Leg &leg, std::shared_ptr<MixLink> link)
    : worker_(worker), leg_(&leg), link_(std::move(link)) {
    leg.mix = this;
    leg.inbox().clear(); // audio that queued before joining belongs to nobody
}

MixMember::~MixMember() {
    if (leg_->mix == this)
        leg_->mix = nullptr;
    link_->member_left.store(true, std::memory_order_release);
}

void MixMember::take_input(Leg &leg) {
    FrameQueue &inbox = leg.inbox();
    if (link_->state.load(std::memory_order_acquire) != MixLink::joined) {
        inbox.clear();
        return;
    }
    media::FormatId linear = media::linear_format_for_rate(link_->rate.load(std::memory_order_relaxed));
    for (; !inbox.empty(); inbox.pop()) {
        const media::Frame &f = inbox.front();
        media::Frame *slot = link_->to_mixer.begin_push();
        if (!slot)
            continue; // the mixer is behind: this frame is lost, not queued forever
        if (f.format == linear) {
            copy_audio(f, *slot);
        } else {
            std::string error;
            HeldTranslator *in = in_.get(worker_.engine().registry(), f.format, linear, error);
            if (!in) {
                if (!error.empty())
                    log::at(log::Level::warning, "core", leg.call_id, "mixer input of {}: {}", leg.id, error);
                continue;
            }
            if (!in->get().translate(f, *slot))
                continue;
        }
        link_->to_mixer.commit_push();
    }
}

bool MixMember::deliver() {
    if (leg_->state() == LegState::hungup) {
        reason_ = MixEnd::hangup;
        return false;
    }
    int state = link_->state.load(std::memory_order_acquire);
    if (state == MixLink::ended) {
        reason_ = static_cast<MixEnd>(link_->reason.load(std::memory_order_relaxed));
        return false;
    }
    if (state != MixLink::joined)
        return true;
    FrameRing &ring = link_->to_member;
    drop_backlog(ring);
    for (const media::Frame *f; (f = ring.front()); ring.pop()) {
        if (f->format == leg_->format()) {
            leg_->write(*f);
            continue;
        }
        std::string error;
        HeldTranslator *out = out_.get(worker_.engine().registry(), f->format, leg_->format(), error);
        if (!out) {
            if (!error.empty())
                log::at(log::Level::warning, "core", leg_->call_id, "mixer output to {}: {}", leg_->id, error);
            continue;
        }
        if (out->get().translate(*f, *scratch_))
            leg_->write(*scratch_);
    }
    return true;
}

// --- Mixer -------------------------------------------------------------------

Mixer::Mixer(Worker &home, std::string room, uint32_t rate) : home_(home), room_(std::move(room)), rate_(rate) {}

Mixer::Mixer(Worker &home, Leg &target, Leg &peer, uint32_t rate)
    : home_(home), rate_(rate), target_(&target), peer_(&peer), bridge_(target.bridge) {}

Mixer::~Mixer() {
    if (!over_)
        end_all(MixEnd::ended);
}

void Mixer::add(std::shared_ptr<MixLink> link, bool speaks) {
    link->rate.store(rate_, std::memory_order_relaxed);
    link->state.store(MixLink::joined, std::memory_order_release);
    Slot slot;
    slot.link = std::move(link);
    slot.speaks = speaks;
    slots_.push_back(std::move(slot));
    if (!is_spy())
        announce_member(*slots_.back().link, "join");
    else if (slots_.size() == 3) {
        announced_mode_ = static_cast<SpyMode>(slots_[2].link->mode.load(std::memory_order_relaxed));
        announce_spy("start", "");
    }
}

void Mixer::announce_member(const MixLink &who, const char *action) {
    home_.engine().events().publish(mix_event("conference", who.call_id, who.leg_id)
                                        .with("action", action)
                                        .with("room", room_)
                                        .with("members", std::to_string(slots_.size()))
                                        .with("rate", std::to_string(rate_)));
}

void Mixer::announce_spy(const char *action, const char *detail) {
    const MixLink &sup = *slots_[2].link;
    Event e = mix_event("spy", target_->call_id, target_->id)
                  .with("action", action)
                  .with("supervisor", sup.leg_id)
                  .with("supervisor_call", sup.call_id)
                  .with("target_name", target_->name)
                  .with("peer", peer_->id)
                  .with("mode", spy_mode_name(announced_mode_));
    if (*detail)
        e.with("reason", detail);
    home_.engine().events().publish(std::move(e));
}

std::vector<MixLink *> Mixer::participants() const {
    std::vector<MixLink *> out;
    for (auto &s : slots_)
        out.push_back(s.link.get());
    return out;
}

MixLink *Mixer::supervisor() const { return is_spy() && slots_.size() > 2 ? slots_[2].link.get() : nullptr; }

void Mixer::end_all(MixEnd why) {
    if (over_)
        return;
    over_ = true;
    for (auto &s : slots_)
        s.link->end(why);
    if (supervisor())
        announce_spy("stop", mix_end_name(why));
}

bool Mixer::spied_bridge_alive() const {
    return bridge_ && target_->bridge == bridge_ && peer_->bridge == bridge_ && !bridge_->ended() &&
           target_->state() != LegState::hungup && peer_->state() != LegState::hungup;
}

void Mixer::apply_spy_mode() {
    Slot &sup = slots_[2];
    auto mode = static_cast<SpyMode>(sup.link->mode.load(std::memory_order_relaxed));
    sup.speaks = mode == SpyMode::barge;
    sup.whisper_to = mode == SpyMode::whisper ? 1 : -1;
    if (mode != announced_mode_) {
        announced_mode_ = mode;
        announce_spy("mode", "");
    }
}

bool Mixer::tick() {
    if (over_)
        return false;
    if (is_spy()) {
        // Whoever leaves — supervisor, agent or customer — ends the spy.
        bool someone_left = std::any_of(slots_.begin(), slots_.end(), [](const Slot &s) {
            return s.link->member_left.load(std::memory_order_acquire);
        });
        if (someone_left || !spied_bridge_alive()) {
            end_all(MixEnd::ended);
            return false;
        }
        apply_spy_mode();
    } else {
        for (size_t i = slots_.size(); i-- > 0;)
            if (slots_[i].link->member_left.load(std::memory_order_acquire)) {
                auto gone = std::move(slots_[i].link);
                slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(i));
                announce_member(*gone, "leave");
            }
        if (slots_.empty()) {
            over_ = true;
            return false;
        }
        for (auto &s : slots_)
            s.speaks = !s.link->muted.load(std::memory_order_relaxed);
    }
    const size_t n = rate_ * media::kPtimeMs / 1000;
    const media::FormatId linear = media::linear_format_for_rate(rate_);
    acc_.assign(n, 0);
    for (auto &s : slots_) {
        FrameRing &ring = s.link->to_mixer;
        if (ring.size() > kMaxBacklog) {
            drop_backlog(ring);
            s.offset = 0;
        }
        // 20 ms of samples, whatever the size of the frames they came in
        size_t got = 0;
        for (const media::Frame *f; got < n && (f = ring.front());) {
            size_t take = std::min<size_t>(f->samples - std::min(s.offset, f->samples), n - got);
            std::memcpy(s.in->pcm() + got, f->pcm() + s.offset, take * 2);
            got += take;
            s.offset += static_cast<uint32_t>(take);
            if (s.offset >= f->samples) {
                ring.pop();
                s.offset = 0;
            }
        }
        s.has_frame = got > 0;
        if (!got)
            continue;
        std::fill(s.in->pcm() + got, s.in->pcm() + n, int16_t{0});
        if (s.speaks)
            media::mix_add(acc_.data(), s.in->pcm(), n);
    }
    for (size_t i = 0; i < slots_.size(); ++i) {
        Slot &s = slots_[i];
        media::Frame *out = s.link->to_member.begin_push();
        if (!out)
            continue;
        const int16_t *minus = s.has_frame && s.speaks ? s.in->pcm() : nullptr;
        const int16_t *plus = nullptr;
        for (auto &w : slots_)
            if (w.whisper_to == static_cast<int>(i) && w.has_frame)
                plus = w.in->pcm();
        media::mix_out(out->pcm(), acc_.data(), minus, plus, n);
        out->kind = media::FrameKind::audio;
        out->format = linear;
        out->samples = static_cast<uint32_t>(n);
        out->len = static_cast<uint32_t>(n * 2);
        s.link->to_member.commit_push();
    }
    return true;
}

// --- MixHub ------------------------------------------------------------------

MixHub::MixHub(Worker &worker) : worker_(worker) {}
MixHub::~MixHub() { clear(); }

MixMember &MixHub::add_member(Leg &leg, std::shared_ptr<MixLink> link) {
    members_.push_back(std::make_unique<MixMember>(worker_, leg, std::move(link)));
    return *members_.back();
}

void MixHub::leave(MixMember &member) {
    std::erase_if(members_, [&](const std::unique_ptr<MixMember> &m) { return m.get() == &member; });
}

void MixHub::join_room(const std::string &room, std::shared_ptr<MixLink> link, uint32_t rate) {
    if (link->member_left.load(std::memory_order_acquire))
        return; // gave up while the request travelled
    Mixer *&mixer = rooms_[room];
    if (!mixer) {
        mixers_.push_back(std::make_unique<Mixer>(worker_, room, rate));
        mixer = mixers_.back().get();
        log::at(log::Level::info, "core", link->call_id, "conference {} opens on worker {} at {} Hz", room,
                worker_.index(), rate);
    }
    mixer->add(std::move(link));
}

namespace {

bool spyable(const Leg &leg) {
    return leg.bridge && !leg.bridge->ended() && leg.state() != LegState::hungup;
}

// The agent's leg for `target`: a leg id, a leg name, or a call id (then
// the call's dialled, bridged leg — the agent when a customer's call rang
// an agent — or else its bridged channel).
Leg *find_spy_target(const Worker &worker, const std::string &target, const std::string &supervisor_call) {
    for (auto &[id, call] : worker.calls()) {
        if (id == supervisor_call)
            continue;
        if (id == target) {
            Leg *channel = nullptr;
            for (auto &leg : call->legs) {
                if (!spyable(*leg))
                    continue;
                if (leg->direction == Direction::outbound)
                    return leg.get();
                channel = leg.get();
            }
            if (channel)
                return channel;
        }
        for (auto &leg : call->legs)
            if ((leg->id == target || leg->name == target) && spyable(*leg))
                return leg.get();
    }
    return nullptr;
}

} // namespace

bool MixHub::attach_spy(const std::string &target, std::shared_ptr<MixLink> link) {
    if (link->member_left.load(std::memory_order_acquire))
        return true; // the supervisor gave up: stop looking
    Leg *agent = find_spy_target(worker_, target, link->call_id);
    if (!agent)
        return false;
    Leg &customer = agent->bridge->peer_of(*agent);
    if (agent->mix || customer.mix) {
        link->end(MixEnd::busy);
        return true;
    }
    Engine &engine = worker_.engine();
    uint32_t rate = std::max(mix_rate_for(engine, *agent), mix_rate_for(engine, customer));
    mixers_.push_back(std::make_unique<Mixer>(worker_, *agent, customer, rate));
    Mixer &mixer = *mixers_.back();
    for (Leg *leg : {&customer, agent}) {
        auto own = std::make_shared<MixLink>(leg->id, leg->call_id, leg->name);
        add_member(*leg, own);
        mixer.add(std::move(own));
    }
    auto mode = static_cast<SpyMode>(link->mode.load(std::memory_order_relaxed));
    log::at(log::Level::info, "core", agent->call_id, "{} spies on {} ({}) and {} in {} mode", link->leg_id, agent->id,
            agent->name, customer.id, spy_mode_name(mode));
    mixer.add(std::move(link), false);
    return true;
}

std::vector<Mixer *> MixHub::spies_matching(const std::string &id) {
    std::vector<Mixer *> out;
    for (auto &m : mixers_) {
        MixLink *sup = m->supervisor();
        if (!sup)
            continue;
        if (id.empty() || id == sup->leg_id || id == sup->call_id || id == m->target()->id ||
            id == m->target()->call_id || id == m->peer()->id || id == m->peer()->call_id)
            out.push_back(m.get());
    }
    return out;
}

std::vector<Mixer *> MixHub::rooms_named(const std::string &room) {
    std::vector<Mixer *> out;
    for (auto &[name, mixer] : rooms_)
        if (room.empty() || name == room)
            out.push_back(mixer);
    return out;
}

void MixHub::tick() {
    for (auto &m : mixers_)
        if (!m->tick() && !m->room().empty())
            rooms_.erase(m->room());
    std::erase_if(mixers_, [](const std::unique_ptr<Mixer> &m) { return m->over(); });
    ended_.clear();
    // By index: a driver's write may reach a script that joins a mixer.
    for (size_t i = 0; i < members_.size(); ++i)
        if (MixMember &m = *members_[i]; !m.deliver())
            ended_.emplace_back(std::move(m.on_end), m.reason());
    std::erase_if(members_, [](const std::unique_ptr<MixMember> &m) { return m->reason() != MixEnd::none; });
    // After the iteration: a callback resumes a script, which may join again.
    for (auto &[cb, reason] : ended_)
        if (cb)
            cb(reason);
}

void MixHub::clear() {
    for (auto &m : mixers_)
        m->end_all(MixEnd::ended);
    mixers_.clear();
    rooms_.clear();
    members_.clear();
}

int MixHub::home_of(const std::string &room, int worker_count) {
    return static_cast<int>(std::hash<std::string>{}(room) % static_cast<size_t>(std::max(worker_count, 1)));
}

void MixHub::request_spy(Engine &engine, std::string target, std::shared_ptr<MixLink> link, int index) {
    if (index >= engine.worker_count()) {
        link->end(MixEnd::not_found);
        return;
    }
    Worker &w = engine.worker(index);
    auto task = [&engine, &w, target, link, index] {
        if (!w.mixing().attach_spy(target, link))
            request_spy(engine, target, link, index + 1);
    };
    if (!w.post(std::move(task)))
        link->end(MixEnd::not_found);
}

} // namespace tandem
