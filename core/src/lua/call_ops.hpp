#pragma once
// The waiting call operations behind the dialplan methods. Each is a
// PendingOp installed on the call's script; it completes exactly once with
// its Lua results, or is cancelled when the call hangs up.
#include "lua/lua_worker.hpp"
#include "media/tones.hpp"

#include <functional>
#include <lua.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct tandem_invocation;

namespace tandem {
class Call;
class Leg;

struct PlayItem {
    std::string name;                    // a prompt file name, or "tone:..."
    std::optional<media::ToneSpec> tone; // a tone built already (name only describes it)
};

struct PlayRequest {
    std::vector<PlayItem> items;
    std::string interrupt; // digits that stop playback; empty = none
};

struct ReadRequest {
    uint32_t min = 1, max = 1;
    uint32_t timeout_ms = 5000;       // for the first digit, after the prompt
    uint32_t digit_timeout_ms = 5000; // between digits
    std::string terminators = "#";
    std::vector<PlayItem> prompt; // interrupted by the first digit (barge-in)
};

struct DialRequest {
    std::vector<std::string> targets; // "driver/dest"
    uint32_t timeout_s = 60;
    std::string caller_num, caller_name;
    std::map<std::string, std::string> vars;
};

namespace lua {
// Reads a string or a list of strings at `idx` into items (throws Raise).
void read_play_items(lua_State *L, int idx, std::vector<PlayItem> &items);
int push_invocation_results(lua_State *L, const tandem_invocation &inv);
} // namespace lua

// Plays `items` to `leg` as play() does (prompts not yet cached are decoded
// off the worker first). on_done runs when everything played, or in a later
// task when nothing in `items` can be played; not when the play is stopped
// or `alive` expired before it started.
void play_to_leg(Call &call, Leg &leg, const std::vector<PlayItem> &items, std::weak_ptr<void> alive,
                 std::function<void()> on_done);

std::unique_ptr<PendingOp> make_sleep_op(Call &call, uint32_t ms);
std::unique_ptr<PendingOp> make_play_op(Call &call, Leg &leg, PlayRequest request);
std::unique_ptr<PendingOp> make_read_op(Call &call, Leg &leg, ReadRequest request);
std::unique_ptr<PendingOp> make_dial_op(Call &call, Leg &channel, DialRequest request);
std::unique_ptr<PendingOp> make_bridge_op(Call &call, Leg &a, Leg &b);
// Sends the leg's audio back to it until '#', `ms` (0 = no limit) or hang-up.
std::unique_ptr<PendingOp> make_echo_op(Call &call, Leg &leg, uint32_t ms);
std::unique_ptr<PendingOp> make_invocation_op(std::unique_ptr<tandem_invocation> invocation);

} // namespace tandem
