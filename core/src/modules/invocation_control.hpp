#pragma once
// Call control for a suspended module function (ABI 1.5: inv_watch,
// inv_dial, inv_hangup, inv_bridge, inv_play). Worker-only. The host table
// checks the invocation is suspended before calling these; the invocation's
// pending op forwards its call's leg states and digits here.
#include "runtime/leg.hpp"
#include "tandem/module.h"

#include <cstdint>

namespace tandem::invocation {

// Returns the new leg (already requested) or null with the reason logged.
Ref<Leg> dial(tandem_invocation &inv, const char *target, const tandem_field *vars, size_t count, uint64_t tag);
int hangup(tandem_invocation &inv, Leg &leg, int cause);
int bridge(tandem_invocation &inv, Leg &leg);
int play(tandem_invocation &inv, Leg &leg, const char *const *items, size_t count, void (*done)(void *), void *arg);
int play_stop(tandem_invocation &inv, Leg &leg);

// From the invocation's pending op.
void leg_state(tandem_invocation &inv, Leg &leg, LegState state);
// True when the watch took the digit.
bool dtmf(tandem_invocation &inv, Leg &leg, char digit);

// The invocation ends, without telling the module: its plays stop, its
// bridge ends and its legs are hung up; when it was cancelled, answered
// legs are left to the call (the end of the script hangs them up; after a
// transfer the party that goes on keeps its leg).
void release(tandem_invocation &inv, bool cancelled);

} // namespace tandem::invocation
