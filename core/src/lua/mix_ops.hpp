#pragma once
// The waiting operations behind call:conference and call:spy (runtime/mixer.hpp).
#include "lua/lua_worker.hpp"
#include "runtime/mix_link.hpp"

#include <memory>
#include <string>

namespace tandem {
class Call;
class Leg;

struct ConferenceRequest {
    std::string room;
    uint32_t rate = 0;        // the room's mixing rate if this leg opens it; 0: this leg's own
    bool muted = false;       // hears the room, is not heard
    std::string exit_digits;  // a digit of these leaves the room
};

struct SpyRequest {
    std::string target; // a leg id, a leg name or a call id
    SpyMode mode = SpyMode::listen;
};

std::unique_ptr<PendingOp> make_conference_op(Call &call, Leg &leg, ConferenceRequest request);
std::unique_ptr<PendingOp> make_spy_op(Call &call, Leg &leg, SpyRequest request);

} // namespace tandem
