#include "runtime/leg.hpp"

#include "log.hpp"
#include "media/dtmf_detector.hpp"
#include "media/player.hpp"
#include "runtime/translation.hpp"
#include "runtime/bridge.hpp"
#include "runtime/engine.hpp"
#include "runtime/ids.hpp"
#include "runtime/taps.hpp"
#include "runtime/worker.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace tandem {

const char *leg_state_name(LegState s) {
    switch (s) {
    case LegState::down: return "down";
    case LegState::ringing: return "ringing";
    case LegState::early: return "early";
    case LegState::up: return "up";
    case LegState::hungup: return "hungup";
    }
    return "unknown";
}

const char *cause_name(int cause) {
    switch (cause) {
    case 0: return "none";
    case TANDEM_CAUSE_UNALLOCATED: return "unallocated";
    case TANDEM_CAUSE_NORMAL_CLEARING: return "normal_clearing";
    case TANDEM_CAUSE_USER_BUSY: return "user_busy";
    case TANDEM_CAUSE_NO_USER_RESPONSE: return "no_user_response";
    case TANDEM_CAUSE_NO_ANSWER: return "no_answer";
    case TANDEM_CAUSE_CALL_REJECTED: return "call_rejected";
    case 26: return "answered_elsewhere";
    case TANDEM_CAUSE_INVALID_NUMBER_FORMAT: return "invalid_number_format";
    case TANDEM_CAUSE_NORMAL_UNSPECIFIED: return "normal_unspecified";
    case TANDEM_CAUSE_CONGESTION: return "congestion";
    case TANDEM_CAUSE_TEMPORARY_FAILURE: return "temporary_failure";
    case TANDEM_CAUSE_SWITCH_CONGESTION: return "switch_congestion";
    case TANDEM_CAUSE_FACILITY_NOT_IMPLEMENTED: return "facility_not_implemented";
    case TANDEM_CAUSE_INCOMPATIBLE_DESTINATION: return "incompatible_destination";
    case TANDEM_CAUSE_RECOVERY_ON_TIMER_EXPIRE: return "recovery_on_timer_expire";
    case TANDEM_CAUSE_INTERWORKING: return "interworking";
    default: return "other";
    }
}

media::Frame &FrameQueue::push() {
    if (!slots_)
        slots_ = std::make_unique<std::array<media::Frame, kCapacity>>();
    if (count_ == kCapacity) {
        head_ = (head_ + 1) % kCapacity;
        --count_;
        ++dropped_;
    }
    media::Frame &slot = (*slots_)[(head_ + count_) % kCapacity];
    ++count_;
    return slot;
}

void FrameQueue::pop() {
    if (count_) {
        head_ = (head_ + 1) % kCapacity;
        --count_;
    }
}

Leg::Leg(Worker &w, std::string leg_id, std::string cid, std::string lid, Direction dir,
         Registered<tandem_channel_driver> driver, ModuleUse use)
    : driver_(std::move(driver)), id(std::move(leg_id)), call_id(std::move(cid)), linked_id(std::move(lid)),
      direction(dir), worker(w), use_(std::move(use)) {
    created_us = ids::now_us();
}

Leg::~Leg() = default;

bool Leg::set_state(LegState next) {
    if (next <= state_ || state_ == LegState::hungup)
        return false;
    if (next == LegState::hungup) {
        enter_hungup(cause_ ? cause_ : TANDEM_CAUSE_NORMAL_CLEARING);
        return true;
    }
    state_ = next;
    if (next == LegState::up)
        answered_us = ids::now_us();
    log::at(log::Level::debug, "core", call_id, "leg {} is {}", id, leg_state_name(next));
    if (worker.engine().events().wants(EventType::leg_state))
        worker.engine().events().publish(make_event(EventType::leg_state, call_id, id, linked_id)
                                             .with("state", leg_state_name(next))
                                             .with("name", name));
    if (on_state)
        on_state(*this, next);
    return true;
}

void Leg::enter_hungup(int cause) {
    cause_ = cause;
    state_ = LegState::hungup;
    // The driver is done with this leg: its module may unload even while
    // scripts or events still hold the leg object.
    use_ = ModuleUse();
    ended_us = ids::now_us();
    player.reset();
    to_wire.reset(); // and with it any codec module it held
    inband_to_slin8.reset();
    inband_dtmf.reset();
    inbox_.clear();
    log::at(log::Level::info, "core", call_id, "leg {} ({}) hung up: {} ({})", id, name, cause_name(cause), cause);
    if (worker.engine().events().wants(EventType::leg_state))
        worker.engine().events().publish(make_event(EventType::leg_state, call_id, id, linked_id)
                                             .with("state", "hungup")
                                             .with("name", name)
                                             .with("cause", std::to_string(cause))
                                             .with("cause_name", cause_name(cause)));
    if (tapped)
        worker.taps().leg_gone(*this);
    if (bridge)
        bridge->leg_gone(*this);
    if (on_state)
        on_state(*this, LegState::hungup);
}

void Leg::hangup(int cause) {
    if (state_ == LegState::hungup)
        return;
    if (!driver_done_ && driver_.desc) {
        driver_done_ = true;
        driver_.desc->hangup(driver_.desc->user, abi(), cause);
    }
    enter_hungup(cause);
}

void Leg::remote_hangup(int cause) {
    if (state_ == LegState::hungup)
        return;
    driver_done_ = true;
    ended_by_far_end = true;
    enter_hungup(cause > 0 && cause < 128 ? cause : TANDEM_CAUSE_NORMAL_UNSPECIFIED);
}

void Leg::push_frame(const tandem_frame &in) {
    if (state_ == LegState::hungup)
        return;
    if (in.kind == TANDEM_FRAME_DTMF) {
        receive_dtmf(in.digit, in.duration_ms, DtmfSource::signalled);
        return;
    }
    if (in.kind != TANDEM_FRAME_AUDIO || in.len > media::kMaxFrameBytes)
        return;
    ++frames_in;
    media::FormatId format = in.format ? media::find_format(in.format) : format_;
    if (format == media::kNoFormat)
        format = format_;
    bool was_empty = inbox_.empty(), direct = relays_directly();
    if (was_empty && direct && bridge->relay_now(*this, in, format))
        return;
    media::Frame &f = inbox_.push();
    f.kind = media::FrameKind::audio;
    f.format = format;
    f.samples = in.samples;
    f.len = static_cast<uint32_t>(in.len);
    constexpr size_t kWithFlags = offsetof(tandem_frame, flags) + sizeof(in.flags);
    f.lost = in.struct_size >= kWithFlags && (in.flags & TANDEM_FRAME_LOST) != 0;
    if (in.len)
        std::memcpy(f.data, in.data, in.len);
    // A plain bridge sends the frame on now: waiting for the media tick
    // would only add up to a tick of delay and a pass over the leg.
    if (direct)
        bridge->forward_from(*this);
    else if (was_empty)
        worker.media_pending(*this);
}

void Leg::receive_dtmf(char digit, uint32_t duration_ms, DtmfSource source) {
    if (state_ == LegState::hungup)
        return;
    worker.engine().events().publish(make_event(EventType::dtmf, call_id, id, linked_id)
                                         .with("digit", std::string(1, digit))
                                         .with("duration_ms", std::to_string(duration_ms))
                                         .with("source", source == DtmfSource::inband ? "inband" : "signalled"));
    if (bridge) {
        if (source == DtmfSource::signalled)
            bridge->relay_dtmf(*this, digit, duration_ms);
        return;
    }
    dtmf_buffer.push_back(digit);
    if (dtmf_buffer.size() > 64) // keep the newest: an op may consume the last one
        dtmf_buffer.erase(0, 1);
    if (on_dtmf)
        on_dtmf(*this, digit);
}

bool Leg::wants_inband_dtmf() const {
    if (inband_checked_at_ != vars.changes()) {
        auto it = vars.find(std::string_view("dtmf_inband"));
        inband_wanted_ = it != vars.end() && (it->second == "1" || it->second == "true" || it->second == "yes");
        inband_checked_at_ = vars.changes();
    }
    return inband_wanted_;
}

int Leg::write(const media::Frame &frame) {
    if (state_ == LegState::hungup || driver_done_ || !driver_.desc)
        return TANDEM_EGONE;
    if (frame.kind == media::FrameKind::audio) {
        ++frames_out;
        if (tapped)
            worker.taps().sent(*this, frame);
    }
    tandem_frame out{};
    out.struct_size = sizeof out;
    out.kind = frame.kind == media::FrameKind::audio ? TANDEM_FRAME_AUDIO
               : frame.kind == media::FrameKind::dtmf ? TANDEM_FRAME_DTMF
                                                      : TANDEM_FRAME_T38;
    out.format = frame.kind == media::FrameKind::audio ? media::format_cname(frame.format) : nullptr;
    out.samples = frame.samples;
    out.data = frame.data;
    out.len = frame.len;
    out.digit = frame.digit;
    out.duration_ms = frame.duration_ms;
    out.flags = frame.lost ? TANDEM_FRAME_LOST : 0;
    return driver_.desc->write_frame(driver_.desc->user, abi(), &out);
}

int Leg::write_wire(const tandem_frame &frame) {
    if (state_ == LegState::hungup || driver_done_ || !driver_.desc)
        return TANDEM_EGONE;
    ++frames_out;
    // The struct as this engine knows it (the sender may be an older module):
    // the payload itself is not copied.
    tandem_frame out{};
    std::memcpy(&out, &frame, std::min<size_t>(frame.struct_size, sizeof out));
    out.struct_size = sizeof out;
    return driver_.desc->write_frame(driver_.desc->user, abi(), &out);
}

int Leg::write_dtmf(char digit, uint32_t duration_ms) {
    media::Frame f;
    f.set_dtmf(digit, duration_ms);
    return write(f);
}

int Leg::answer() {
    if (state_ == LegState::hungup)
        return TANDEM_EGONE;
    if (state_ == LegState::up)
        return TANDEM_OK;
    int rc = driver_.desc->answer ? driver_.desc->answer(driver_.desc->user, abi()) : TANDEM_OK;
    if (rc == TANDEM_OK)
        set_state(LegState::up);
    return rc;
}

int Leg::indicate(LegState s) {
    if (state_ == LegState::hungup)
        return TANDEM_EGONE;
    if (driver_.desc->indicate)
        return driver_.desc->indicate(driver_.desc->user, abi(), static_cast<int>(s));
    return TANDEM_OK;
}

int Leg::request(const std::string &dest) { return driver_.desc->request(driver_.desc->user, abi(), dest.c_str()); }

} // namespace tandem
