#include "lua/lua_worker.hpp"

#include "log.hpp"
#include "lua/call_api.hpp"
#include "lua/call_ops.hpp"
#include "lua/sandbox.hpp"
#include "runtime/bridge.hpp"
#include "runtime/call.hpp"
#include "runtime/engine.hpp"
#include "runtime/worker.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace tandem {

namespace {
// Every Lua block starts with its owner: the call slot it is charged to.
struct BlockHeader {
    uint32_t slot;
    uint32_t generation;
};
static_assert(sizeof(BlockHeader) == 8, "Lua needs 8-byte alignment after the header");

constexpr int kHookEvery = 1000; // instructions between budget checks
int g_stop_marker, g_transfer_marker;

Call *call_of(lua_State *co) { return *static_cast<Call **>(lua_getextraspace(co)); }
} // namespace

void *LuaWorker::stop_marker() { return &g_stop_marker; }
void *LuaWorker::transfer_marker() { return &g_transfer_marker; }

void *LuaWorker::allocate(void *ud, void *ptr, size_t osize, size_t nsize) {
    auto *self = static_cast<LuaWorker *>(ud);
    auto credit = [self](BlockHeader *h, size_t size) {
        Slot &owner = self->slots_[h->slot];
        (h->slot && owner.in_use && owner.generation == h->generation ? owner : self->slots_[0]).bytes -=
            static_cast<int64_t>(size);
        self->total_bytes_ -= size;
    };
    auto over_limit = [self](uint32_t slot, size_t grow) {
        return slot != 0 && static_cast<uint64_t>(self->slots_[slot].bytes) + grow > self->limits_.memory_bytes;
    };
    if (nsize == 0) {
        if (ptr) {
            auto *h = static_cast<BlockHeader *>(ptr) - 1;
            credit(h, osize);
            std::free(h);
        }
        return nullptr;
    }
    if (!ptr) {
        uint32_t slot = self->current_slot_;
        if (over_limit(slot, nsize))
            return nullptr; // Lua raises "not enough memory" in the running call
        auto *h = static_cast<BlockHeader *>(std::malloc(nsize + sizeof(BlockHeader)));
        if (!h)
            return nullptr;
        h->slot = slot;
        h->generation = self->slots_[slot].generation;
        self->slots_[slot].bytes += static_cast<int64_t>(nsize);
        self->total_bytes_ += nsize;
        return h + 1;
    }
    auto *h = static_cast<BlockHeader *>(ptr) - 1;
    if (nsize > osize && h->slot == self->current_slot_ && over_limit(h->slot, nsize - osize))
        return nullptr;
    auto *nh = static_cast<BlockHeader *>(std::realloc(h, nsize + sizeof(BlockHeader)));
    if (!nh)
        return nullptr;
    credit(nh, osize);
    Slot &owner = self->slots_[nh->slot];
    if (nh->slot && !(owner.in_use && owner.generation == nh->generation))
        nh->slot = 0, nh->generation = self->slots_[0].generation;
    self->slots_[nh->slot].bytes += static_cast<int64_t>(nsize);
    self->total_bytes_ += nsize;
    return nh + 1;
}

void LuaWorker::count_hook(lua_State *L, lua_Debug *) {
    Call *call = call_of(L);
    if (!call || !call->script)
        return;
    auto &s = *call->script;
    s.instructions += kHookEvery;
    uint64_t limit = call->worker.lua().limits().instructions;
    if (s.instructions > limit) {
        luaL_where(L, 0); // inside a hook, level 0 is the interrupted code: file:line
        lua_pushfstring(L, "instruction limit exceeded (%I instructions)", static_cast<lua_Integer>(limit));
        lua_concat(L, 2);
        lua_error(L);
    }
}

LuaWorker::LuaWorker(Worker &worker, const Limits &limits) : worker_(worker), limits_(limits) {
    slots_.push_back(Slot{0, 0, true});
    L_ = lua_newstate(&LuaWorker::allocate, this);
    *static_cast<Call **>(lua_getextraspace(L_)) = nullptr;
    lua::open_base_libraries(L_);
    lua::register_call_api(L_, this);
    lua_sethook(L_, &LuaWorker::count_hook, LUA_MASKCOUNT, kHookEvery);
}

LuaWorker::~LuaWorker() {
    current_.reset();
    lua_close(L_);
}

bool LuaWorker::load_dialplan(const std::string &file, std::vector<std::string> &errors) {
    auto gen = std::make_shared<dialplan::Generation>(L_, next_generation_);
    if (!gen->load(file, errors))
        return false;
    ++next_generation_;
    current_ = std::move(gen);
    return true;
}

uint32_t LuaWorker::acquire_slot() {
    uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.push_back({});
    }
    slots_[slot].in_use = true;
    slots_[slot].bytes = 0;
    return slot;
}

void LuaWorker::release_slot(uint32_t slot) {
    if (slot == 0)
        return;
    // What the call left behind (garbage not yet collected, or data it stored
    // in shared tables) is the worker's from now on.
    slots_[0].bytes += slots_[slot].bytes;
    slots_[slot].bytes = 0;
    slots_[slot].in_use = false;
    ++slots_[slot].generation;
    free_slots_.push_back(slot);
}

uint64_t LuaWorker::memory_of(const Call &call) const {
    if (!call.script || !call.script->memory_slot)
        return 0;
    int64_t b = slots_[call.script->memory_slot].bytes;
    return b > 0 ? static_cast<uint64_t>(b) : 0;
}

void LuaWorker::start(Call &call, const std::string &context, const std::string &exten) {
    call.script = std::make_unique<ScriptState>();
    auto &s = *call.script;
    s.generation = current_;
    s.memory_slot = acquire_slot();
    if (call.channel->state() == LegState::hungup) {
        s.phase = ScriptState::Phase::on_hangup;
        end_phase(call);
        return;
    }
    int ref = s.generation ? s.generation->find(context, exten) : LUA_NOREF;
    if (ref == LUA_NOREF) {
        log::at(log::Level::notice, "lua", call.id, "no route for '{}' in context '{}'", exten, context);
        call.channel->hangup(TANDEM_CAUSE_UNALLOCATED);
        s.phase = ScriptState::Phase::on_hangup;
        end_phase(call);
        return;
    }
    log::at(log::Level::info, "lua", call.id, "{} enters dialplan at {}@{} (generation {})", call.channel->name, exten,
            context, s.generation->number());
    begin(call, ref, ScriptState::Phase::main, {});
}

int LuaWorker::prepare(Call &call, int handler_ref, ScriptState::Phase phase, const std::string &error) {
    auto &s = *call.script;
    s.phase = phase;
    s.instructions = 0;
    lua_State *co = lua_newthread(L_);
    s.co_ref = luaL_ref(L_, LUA_REGISTRYINDEX);
    s.co = co;
    *static_cast<Call **>(lua_getextraspace(co)) = &call;
    lua_rawgeti(co, LUA_REGISTRYINDEX, handler_ref);
    lua::push_leg(co, *call.channel);
    if (phase != ScriptState::Phase::on_error)
        return 1;
    lua_pushstring(co, error.c_str());
    return 2;
}

void LuaWorker::begin(Call &call, int handler_ref, ScriptState::Phase phase, const std::string &error) {
    run(call, prepare(call, handler_ref, phase, error));
}

void LuaWorker::run(Call &call, int nargs) {
    auto &s = *call.script;
    // A loop, not recursion: a transfer starts the next handler here.
    for (;;) {
        Call *prev_call = running_;
        uint32_t prev_slot = current_slot_;
        running_ = &call;
        current_slot_ = s.memory_slot;
        s.running = true;
        int nres = 0;
        int rc = lua_resume(s.co, L_, nargs, &nres);
        while (rc == LUA_YIELD && nres == 0 && s.deferred) {
            auto push = std::move(s.deferred);
            s.deferred = nullptr;
            rc = lua_resume(s.co, L_, push(s.co), &nres);
        }
        s.running = false;
        running_ = prev_call;
        current_slot_ = prev_slot;

        if (rc == LUA_YIELD) {
            void *marker = nres > 0 ? lua_touserdata(s.co, -1) : nullptr;
            lua_pop(s.co, nres);
            if (marker == transfer_marker()) {
                if (++s.transfers > kMaxTransfers) {
                    script_error(call, "more than " + std::to_string(kMaxTransfers) +
                                           " transfers in one call (a transfer loop?)");
                    return;
                }
                int ref = s.generation->find(s.transfer_context, s.transfer_exten);
                log::at(log::Level::info, "lua", call.id, "transfer to {}@{}", s.transfer_exten,
                        s.transfer_context);
                release_coroutine(s);
                nargs = prepare(call, ref, ScriptState::Phase::main, {});
                continue;
            }
            if (marker == stop_marker())
                end_phase(call);
            else if (!s.op)
                script_error(call, "the script yielded outside a call operation");
            return;
        }
        if (rc == LUA_OK) {
            end_phase(call);
            return;
        }
        const char *msg = lua_tostring(s.co, -1);
        luaL_traceback(L_, s.co, msg ? msg : "(error object is not a string)", 0);
        std::string message = lua_tostring(L_, -1);
        lua_pop(L_, 1);
        script_error(call, message);
        return;
    }
}

void LuaWorker::script_error(Call &call, const std::string &message) {
    auto &s = *call.script;
    s.last_error = message.substr(0, message.find('\n'));
    log::at(log::Level::error, "lua", call.id, "dialplan error: {}", message);
    worker_.engine().events().publish(make_event(EventType::dialplan, call.id, call.channel->id, call.linked_id)
                                          .with("error", s.last_error)
                                          .with("phase", s.phase == ScriptState::Phase::main       ? "main"
                                                         : s.phase == ScriptState::Phase::on_error ? "on_error"
                                                                                                   : "on_hangup"));
    if (s.op) {
        s.op->cancel();
        retired_ops_.push_back(std::move(s.op));
    }
    release_coroutine(s);
    if (s.phase == ScriptState::Phase::main && s.generation->on_error_ref() != LUA_NOREF &&
        call.channel->state() != LegState::hungup) {
        begin(call, s.generation->on_error_ref(), ScriptState::Phase::on_error, s.last_error);
        return;
    }
    if (s.phase == ScriptState::Phase::main || s.phase == ScriptState::Phase::on_error)
        call.channel->hangup(TANDEM_CAUSE_NORMAL_UNSPECIFIED);
    end_phase(call);
}

void LuaWorker::release_coroutine(ScriptState &s) {
    if (!s.co)
        return;
    lua_resetthread(s.co);
    luaL_unref(L_, LUA_REGISTRYINDEX, s.co_ref);
    s.co = nullptr;
    s.co_ref = LUA_NOREF;
}

void LuaWorker::end_phase(Call &call) {
    auto &s = *call.script;
    release_coroutine(s);
    if (s.phase == ScriptState::Phase::main || s.phase == ScriptState::Phase::on_error) {
        s.phase = ScriptState::Phase::on_hangup;
        // The end of the script is the end of the call, as in every PBX.
        call.hangup_all(TANDEM_CAUSE_NORMAL_CLEARING);
        if (s.on_hangup_ref != LUA_NOREF) {
            int ref = s.on_hangup_ref;
            s.on_hangup_ref = LUA_NOREF;
            begin(call, ref, ScriptState::Phase::on_hangup, {});
            luaL_unref(L_, LUA_REGISTRYINDEX, ref);
            return;
        }
    }
    if (s.phase == ScriptState::Phase::done)
        return;
    s.phase = ScriptState::Phase::done;
    luaL_unref(L_, LUA_REGISTRYINDEX, s.on_hangup_ref);
    s.on_hangup_ref = LUA_NOREF;
    release_slot(s.memory_slot);
    s.memory_slot = 0;
    call.script_done = true;
    call.maybe_finish();
}

void LuaWorker::complete(Call &call, std::function<int(lua_State *)> push) {
    auto &s = *call.script;
    if (!s.op)
        return;
    retired_ops_.push_back(std::move(s.op));
    if (call.channel->state() == LegState::hungup && s.phase != ScriptState::Phase::on_hangup) {
        // The script stops where it waited; on_hangup runs instead.
        if (!s.running)
            end_phase(call);
        return;
    }
    if (s.running) {
        // Completed inside the method that started it: resume right after
        // the coroutine yields (run() checks for this).
        s.deferred = std::move(push);
        return;
    }
    run(call, push(s.co));
}

void LuaWorker::leg_state(Call &call, Leg &leg, LegState state) {
    if (!call.script)
        return;
    auto &s = *call.script;
    if (&leg == call.channel.get() && state == LegState::hungup) {
        if (s.running || (s.phase != ScriptState::Phase::main && s.phase != ScriptState::Phase::on_error))
            return;
        if (s.op) {
            s.op->cancel();
            retired_ops_.push_back(std::move(s.op));
        }
        end_phase(call);
        return;
    }
    if (s.op)
        s.op->on_leg_state(leg, state);
}

void LuaWorker::dtmf(Call &call, Leg &leg, char digit) {
    if (call.script && call.script->op)
        call.script->op->on_dtmf(leg, digit);
}

void LuaWorker::abandon(Call &call) {
    if (!call.script)
        return;
    auto &s = *call.script;
    if (s.op) {
        s.op->cancel();
        retired_ops_.push_back(std::move(s.op));
    }
    release_coroutine(s);
    luaL_unref(L_, LUA_REGISTRYINDEX, s.on_hangup_ref);
    s.on_hangup_ref = LUA_NOREF;
    release_slot(s.memory_slot);
    s.memory_slot = 0;
    s.phase = ScriptState::Phase::done;
}

int LuaWorker::redirect(Call &call, Leg &party, Leg *transferor, const std::string &exten,
                        const std::string &context) {
    if (!call.script)
        return TANDEM_EGONE;
    auto &s = *call.script;
    if (s.running || s.phase != ScriptState::Phase::main || !s.generation)
        return TANDEM_EBUSY;
    if (party.state() == LegState::hungup || party.call != &call)
        return TANDEM_EGONE;
    if (s.generation->find(context, exten) == LUA_NOREF)
        return TANDEM_ENOENT;
    if (s.transfers >= kMaxTransfers)
        return TANDEM_EBUSY;
    ++s.transfers;
    log::at(log::Level::info, "lua", call.id, "{} transferred to {}@{}{}{}", party.name, exten, context,
            transferor ? " by " : "", transferor ? transferor->name : "");
    if (s.op) { // e.g. the bridge with the transferor: dissolved, not completed
        s.op->cancel();
        retired_ops_.push_back(std::move(s.op));
    }
    release_coroutine(s);
    if (&party != call.channel.get()) {
        // The party becomes the leg the script runs for, first in the list.
        call.channel = Ref<Leg>(&party);
        auto it = std::find(call.legs.begin(), call.legs.end(), call.channel);
        std::rotate(call.legs.begin(), it, it + 1);
    }
    party.exten = exten;
    party.context = context;
    // The transferor goes, and the script starts again, in a later task:
    // the driver that asked is still in its own code (it may still answer
    // its REFER before its leg's BYE), and nothing of this stack runs Lua.
    Ref<Leg> gone(transferor);
    worker_.post([w = &worker_, call_id = call.id, gone] {
        if (gone && gone->state() != LegState::hungup)
            gone->hangup(TANDEM_CAUSE_NORMAL_CLEARING);
        Call *c = w->find_call(call_id);
        if (!c || !c->script || c->script->phase != ScriptState::Phase::main || c->script->co)
            return; // the channel hung up meanwhile: end_phase has run
        auto &lw = w->lua();
        int ref = c->script->generation->find(c->channel->context, c->channel->exten);
        if (ref == LUA_NOREF) { // the dialplan was reloaded meanwhile
            c->channel->hangup(TANDEM_CAUSE_UNALLOCATED);
            return;
        }
        lw.run(*c, lw.prepare(*c, ref, ScriptState::Phase::main, {}));
    });
    return TANDEM_OK;
}

int LuaWorker::replace(Call &call, Leg &old, Leg &fresh) {
    if (!old.bridge || old.bridge->ended() || !call.script || !call.script->op)
        return TANDEM_ENOENT;
    auto &s = *call.script;
    Leg &peer = old.bridge->peer_of(old);
    bool old_first = &old.bridge->a() == &old;
    log::at(log::Level::info, "lua", call.id, "{} replaces {} in the bridge with {}", fresh.id, old.id, peer.id);
    s.op->cancel(); // the bridge with `old`: dissolved, the script not resumed
    retired_ops_.push_back(std::move(s.op));
    if (&old == call.channel.get()) {
        call.channel = Ref<Leg>(&fresh);
        auto it = std::find(call.legs.begin(), call.legs.end(), call.channel);
        std::rotate(call.legs.begin(), it, it + 1);
    }
    // the same sides as before, so bridge() still reports "peer_hangup"
    // for the party it was asked to bridge with
    s.op = old_first ? make_bridge_op(call, fresh, peer) : make_bridge_op(call, peer, fresh);
    s.op->start();
    Ref<Leg> gone(&old);
    worker_.post([gone] {
        if (gone->state() != LegState::hungup)
            gone->hangup(TANDEM_CAUSE_NORMAL_CLEARING);
    });
    return TANDEM_OK;
}

void LuaWorker::reap() { retired_ops_.clear(); }

} // namespace tandem
