#pragma once
// A call: the legs of one interaction on one worker, and the dialplan
// coroutine that drives them. The first leg (`channel`) is the one that
// entered the dialplan; legs it dials join the call. The call ends when its
// script is done and every leg has hung up.
#include "runtime/leg.hpp"
#include "runtime/ref.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tandem {

class Worker;
struct ScriptState; // lua/lua_worker.hpp

class Call {
public:
    Call(Worker &worker, std::string id, std::string linked_id, Ref<Leg> channel);
    ~Call();

    const std::string id;
    const std::string linked_id;
    Worker &worker;
    Ref<Leg> channel;
    std::vector<Ref<Leg>> legs; // channel first
    uint64_t started_us = 0;
    // The numbers as the call arrived, before the dialplan changed any (CDRs).
    std::string received_caller_num, received_exten;
    std::unique_ptr<ScriptState> script;
    bool script_done = false;
    // Originated calls: the channel is an outbound leg, and the script starts
    // at its exten@context once it answers.
    bool start_on_answer = false;

    // Creates an outbound leg on `driver_name` and adds it to the call. The
    // leg is DOWN; request it with Leg::request(). Null when no such driver.
    Ref<Leg> new_outbound_leg(const std::string &driver_name, std::string &error);
    void add_leg(Ref<Leg> leg);
    unsigned next_leg_number() { return ++leg_counter_; }

    // Hang up every leg still up (end of dialplan, `ctl hangup`, shutdown).
    void hangup_all(int cause);
    // Ends the call if nothing keeps it alive any more.
    void maybe_finish();

private:
    void on_leg_state(Leg &leg, LegState state);
    unsigned leg_counter_ = 1; // the call's channel is leg 1; dialled legs count on from 2
    bool finished_ = false;
};

} // namespace tandem
