// The dialplan's agent functions, for feature codes on agents' phones:
//
//   call:agent_login(NAME)            -> the agent's new state ("available", ...)
//   call:agent_logout(NAME)           -> "logged-out"
//   call:agent_pause(NAME [, REASON]) -> "paused" (or "on-call": the pause waits for the call)
//   call:agent_unpause(NAME)          -> its state
//   call:agent_state(NAME)            -> its state, changing nothing
//
// An unknown agent returns nil and "no agent named 'NAME'"; the script goes
// on. Each waits (the coroutine yields) only for the ACD's thread to apply
// the change, which takes microseconds; the worker never blocks.
#include "invocation_values.hpp"
#include "queue_module.hpp"

#include <mutex>
#include <string>
#include <cstdint>
#include <unordered_map>

namespace tandem::queue {

namespace {

enum class Action { Login, Logout, Pause, Unpause, Query };

struct Request {
    tandem_invocation *inv;
    uint64_t token;        // tells this invocation from a later one at the same address
    int worker;
    Action action;
    std::string agent, reason;
    std::string state;     // the answer, filled on the ACD's thread
    bool found = false;
};

// Invocations waiting for the ACD, with their tokens; cancel() takes one out
// when its call hangs up first, so the answer finds it gone and drops it.
std::mutex waiting_lock;
std::unordered_map<tandem_invocation *, uint64_t> waiting;
uint64_t next_token = 1;

// On the caller's worker again.
void answer(void *arg) {
    std::unique_ptr<Request> r(static_cast<Request *>(arg));
    {
        std::lock_guard<std::mutex> hold(waiting_lock);
        auto it = waiting.find(r->inv);
        if (it == waiting.end() || it->second != r->token) return; // the call hung up meanwhile
        waiting.erase(it);
    }
    if (r->found)
        push_string(r->inv, r->state);
    else
        return_failure(r->inv, "no agent named '" + r->agent + "'");
    module.host->inv_complete(r->inv);
}

int invoke(Action action, tandem_invocation *inv) {
    auto r = std::make_unique<Request>();
    r->inv = inv;
    r->worker = module.host->leg_worker(module.host->inv_leg(inv));
    r->action = action;
    r->agent = arg_text(inv, 0);
    r->reason = action == Action::Pause ? arg_text(inv, 1) : "";
    if (action == Action::Pause && r->reason.empty()) r->reason = "paused";
    {
        std::lock_guard<std::mutex> hold(waiting_lock);
        r->token = next_token++;
        waiting[inv] = r->token;
    }
    Request *raw = r.release();
    module.service->post([raw](acd::Acd &acd, acd::Ms now) {
        acd::AgentId a = acd.find_agent(raw->agent);
        raw->found = a != 0;
        if (a) {
            switch (raw->action) {
            case Action::Login: acd.login(a, now); break;
            case Action::Logout: acd.logout(a, now); break;
            case Action::Pause: acd.pause(a, raw->reason, now); break;
            case Action::Unpause: acd.unpause(a, now); break;
            case Action::Query: break;
            }
            raw->state = std::string(acd::name_of(acd.state(a)));
        }
        if (module.host->post(module.self, raw->worker, answer, raw) != TANDEM_OK) {
            std::lock_guard<std::mutex> hold(waiting_lock);
            if (auto it = waiting.find(raw->inv); it != waiting.end() && it->second == raw->token)
                waiting.erase(it); // the engine is stopping: the call goes with it
            delete raw;
        }
    });
    return TANDEM_SUSPENDED;
}

void cancel(void *, tandem_invocation *inv) {
    std::lock_guard<std::mutex> hold(waiting_lock);
    waiting.erase(inv);
}

int login(void *, tandem_invocation *inv) { return invoke(Action::Login, inv); }
int logout(void *, tandem_invocation *inv) { return invoke(Action::Logout, inv); }
int pause(void *, tandem_invocation *inv) { return invoke(Action::Pause, inv); }
int unpause(void *, tandem_invocation *inv) { return invoke(Action::Unpause, inv); }
int query(void *, tandem_invocation *inv) { return invoke(Action::Query, inv); }

const tandem_function functions[] = {
    {sizeof(tandem_function), "agent_login", "s", "agent_login(NAME): log a queue agent in; returns its state", true,
     nullptr, login, cancel},
    {sizeof(tandem_function), "agent_logout", "s", "agent_logout(NAME): log a queue agent out", true, nullptr, logout,
     cancel},
    {sizeof(tandem_function), "agent_pause", "s|s", "agent_pause(NAME [, REASON]): pause a queue agent", true, nullptr,
     pause, cancel},
    {sizeof(tandem_function), "agent_unpause", "s", "agent_unpause(NAME): end a queue agent's pause", true, nullptr,
     unpause, cancel},
    {sizeof(tandem_function), "agent_state", "s", "agent_state(NAME): a queue agent's state", true, nullptr, query,
     cancel},
};

} // namespace

int register_functions() {
    for (const tandem_function &f : functions) {
        int rc = module.host->register_function(module.self, &f);
        if (rc != TANDEM_OK) return rc;
    }
    return TANDEM_OK;
}

} // namespace tandem::queue
