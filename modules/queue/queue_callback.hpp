// Callbacks: a waiting caller presses the queue's callback_key, confirms a
// number in the dialplan and hangs up; its place in line is kept by a
// callback. When the callback's turn comes the engine calls the agent
// (originate, the dialplan's callback_exten runs on that call and calls
// call:queue_callback_run()), then the customer, and bridges them; a
// customer who cannot be reached is called again after callback_retry, up
// to callback_attempts, and a CALLBACKDONE row says how it ended.
#pragma once

#include "acd/acd.hpp"

#include <optional>
#include <string>

namespace tandem::queue::callback {

// A caller's place in line, held for its callback for a few minutes.
struct Place {
    std::string queue;
    acd::Ms entered = 0;
    acd::CallerInfo info;
};

// --- on the ACD's thread ---
void hold(const std::string &call_id, Place place, acd::Ms now);
// Each returns false when `caller` is not a callback (a caller on the line).
bool offer(const acd::Acd &acd, const acd::Offer &o);
bool withdraw(const acd::Offer &o, acd::OfferEnd why);
bool left(acd::CallerId caller, acd::ExitReason why);
// The call that asked for the callback, for the queue-log rows.
std::optional<std::string> call_id(acd::CallerId caller);

// load() and reload(): call:queue_callback() and call:queue_callback_run().
int register_functions();

} // namespace tandem::queue::callback
