#include "runtime/call.hpp"

#include "log.hpp"
#include "lua/lua_worker.hpp"
#include "runtime/engine.hpp"
#include "runtime/ids.hpp"
#include "runtime/worker.hpp"

namespace tandem {

Call::Call(Worker &w, std::string call_id, std::string lid, Ref<Leg> first)
    : id(std::move(call_id)), linked_id(std::move(lid)), worker(w), channel(std::move(first)) {
    started_us = ids::now_us();
    received_caller_num = channel->caller_num;
    received_exten = channel->exten;
    add_leg(channel);
}

Call::~Call() {
    for (auto &leg : legs) {
        leg->on_state = nullptr;
        leg->on_dtmf = nullptr;
        leg->call = nullptr;
    }
}

void Call::add_leg(Ref<Leg> leg) {
    leg->call = this;
    leg->on_state = [this](Leg &l, LegState s) { on_leg_state(l, s); };
    leg->on_dtmf = [this](Leg &l, char d) { worker.lua().dtmf(*this, l, d); };
    legs.push_back(std::move(leg));
}

Ref<Leg> Call::new_outbound_leg(const std::string &driver_name, std::string &error) {
    auto snapshot = worker.engine().registry().snapshot();
    auto it = snapshot->channels.find(driver_name);
    if (it == snapshot->channels.end()) {
        error = "no channel driver '" + driver_name + "' (is its module loaded?)";
        return nullptr;
    }
    ModuleUse use = ModuleUse::acquire(it->second.owner.get());
    if (!use) {
        error = "channel driver '" + driver_name + "' is unloading";
        return nullptr;
    }
    Ref<Leg> leg(new Leg(worker, ids::next_leg_id(id, next_leg_number()), id, linked_id, Direction::outbound,
                         it->second, std::move(use)));
    add_leg(leg);
    return leg;
}

void Call::on_leg_state(Leg &leg, LegState state) {
    if (start_on_answer && &leg == channel.get()) {
        if (state == LegState::up) {
            start_on_answer = false;
            // Not inside the stack that answered (often another call's script).
            worker.post([w = &worker, call_id = id] {
                if (Call *c = w->find_call(call_id))
                    w->lua().start(*c, c->channel->context, c->channel->exten);
            });
        } else if (state == LegState::hungup) {
            start_on_answer = false;
            log::at(log::Level::notice, "core", id, "originate to {} failed: {}", leg.name, cause_name(leg.cause()));
            script_done = true;
            maybe_finish();
        }
        return;
    }
    worker.lua().leg_state(*this, leg, state);
    if (state == LegState::hungup)
        maybe_finish();
}

void Call::hangup_all(int cause) {
    // Copy: hanging up may add nothing, but observers may run arbitrary code.
    auto snapshot = legs;
    for (auto &leg : snapshot)
        leg->hangup(cause);
}

void Call::maybe_finish() {
    if (finished_ || !script_done)
        return;
    for (auto &leg : legs)
        if (leg->state() != LegState::hungup)
            return;
    finished_ = true;
    worker.remove_call(*this);
}

} // namespace tandem
