#pragma once
// The Lua runtime of one worker: one lua_State, one coroutine per call (the
// OpenResty model). Call operations that wait (play, read, dial, bridge,
// sleep, suspending module functions) install a PendingOp and yield; the
// worker's event loop resumes the coroutine when the op completes, so a
// script reads top to bottom without ever blocking the thread.
//
// Limits: a count hook charges VM instructions to the running call; an
// allocator that tags every block with its owner charges heap bytes to the
// call that allocated them. Crossing either ends that call's script only.
#include "config/config.hpp"
#include "lua/dialplan.hpp"
#include "runtime/leg.hpp"

#include <functional>
#include <utility>
#include <lua.hpp>
#include <memory>
#include <string>
#include <vector>

namespace tandem {

class Worker;
class Call;

// An operation the coroutine waits on. Worker-only. After calling
// LuaWorker::complete() an op must return at once: it is then retired.
struct PendingOp {
    virtual ~PendingOp() = default;
    // Begins the work once the op is installed (it may complete at once).
    virtual void start() = 0;
    virtual void on_leg_state(Leg &, LegState) {}
    virtual void on_dtmf(Leg &, char) {}
    // The script is being abandoned (hang-up, shutdown): release resources
    // without completing.
    virtual void cancel() {}
};

struct ScriptState {
    enum class Phase { main, on_error, on_hangup, done };
    std::shared_ptr<dialplan::Generation> generation;
    lua_State *co = nullptr;
    int co_ref = LUA_NOREF;
    Phase phase = Phase::main;
    bool running = false;
    std::unique_ptr<PendingOp> op;
    int on_hangup_ref = LUA_NOREF;
    std::string transfer_exten, transfer_context;
    uint64_t instructions = 0;
    unsigned transfers = 0;
    uint32_t memory_slot = 0;
    std::string last_error;
    // Results of an op that completed before its method yielded.
    std::function<int(lua_State *)> deferred;
};

class LuaWorker {
public:
    static constexpr unsigned kMaxTransfers = 100;
    LuaWorker(Worker &worker, const Limits &limits);
    ~LuaWorker();
    lua_State *state() { return L_; }
    Worker &worker() { return worker_; }
    void set_limits(const Limits &limits) { limits_ = limits; }
    const Limits &limits() const { return limits_; }

    // Loads FILE as the generation new calls use. The old one stays alive
    // while calls still run on it.
    bool load_dialplan(const std::string &file, std::vector<std::string> &errors);
    uint64_t generation_number() const { return current_ ? current_->number() : 0; }

    // Starts the call's script at exten@context (hangs up with cause 1,
    // unallocated number, when nothing matches).
    void start(Call &call, const std::string &context, const std::string &exten);

    // The pending op finished: `push` puts its results on the coroutine's
    // stack and returns how many.
    void complete(Call &call, std::function<int(lua_State *)> push);

    // Forwarded by the call.
    void leg_state(Call &call, Leg &leg, LegState state);
    void dtmf(Call &call, Leg &leg, char digit);
    // The call is being torn down without its script's cooperation.
    void abandon(Call &call);
    // A transfer from outside the script (a channel driver's REFER): the
    // script stops where it waits (its operation cancelled, on_hangup not
    // run), `party` becomes the call's channel, `transferor` is hung up, and
    // the script starts again at exten@context. TANDEM_OK, or TANDEM_ENOENT
    // (no route: nothing changed), TANDEM_EBUSY (the script is not waiting
    // in its main part, or too many transfers), TANDEM_EGONE.
    int redirect(Call &call, Leg &party, Leg *transferor, const std::string &exten, const std::string &context);
    // `fresh` (a new leg of the call, up) takes the place of `old`, which is
    // bridged (an attended transfer: SIP INVITE with Replaces): the bridge
    // moves to `fresh` and a script waiting in bridge() goes on waiting for
    // the new one; if `old` was the channel, `fresh` becomes it. `old` is
    // hung up in a later task. TANDEM_OK, or TANDEM_ENOENT (`old` is not
    // bridged: nothing changed).
    int replace(Call &call, Leg &old, Leg &fresh);

    // Frees ops that completed; called from the worker loop, never from
    // inside an op.
    void reap();

    // Heap accounting.
    uint64_t memory_of(const Call &call) const;
    uint64_t total_memory() const { return total_bytes_; }
    Call *running_call() const { return running_; }
    // Which call new Lua allocations are charged to (0: the worker); returns
    // the previous slot.
    uint32_t exchange_memory_slot(uint32_t slot) { return std::exchange(current_slot_, slot); }

    // Markers a call method yields to steer the runner.
    static void *stop_marker();
    static void *transfer_marker();

private:
    friend struct Allocator;
    static void *allocate(void *ud, void *ptr, size_t osize, size_t nsize);
    static void count_hook(lua_State *L, lua_Debug *ar);

    void run(Call &call, int nargs);
    // Creates the coroutine for a phase and pushes its arguments; returns how many.
    int prepare(Call &call, int handler_ref, ScriptState::Phase phase, const std::string &error);
    void begin(Call &call, int handler_ref, ScriptState::Phase phase, const std::string &error);
    void end_phase(Call &call);
    void release_coroutine(ScriptState &s);
    void script_error(Call &call, const std::string &message);
    uint32_t acquire_slot();
    void release_slot(uint32_t slot);

    Worker &worker_;
    Limits limits_;
    lua_State *L_ = nullptr;
    std::shared_ptr<dialplan::Generation> current_;
    uint64_t next_generation_ = 1;
    Call *running_ = nullptr;
    std::vector<std::unique_ptr<PendingOp>> retired_ops_;

    struct Slot {
        uint32_t generation = 0;
        int64_t bytes = 0;
        bool in_use = false;
    };
    std::vector<Slot> slots_; // slot 0: the worker itself (dialplans, shared data)
    std::vector<uint32_t> free_slots_;
    uint32_t current_slot_ = 0;
    uint64_t total_bytes_ = 0;
};

} // namespace tandem
