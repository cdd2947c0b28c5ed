// Callbacks (see queue_callback.hpp and docs/queues.md, "Callback"):
//
//   call:queue_callback(QUEUE, NUMBER) -> "queued", POSITION | nil, REASON
//       on the caller's call, after call:queue returned "callback" (the place
//       it held is kept) or from an IVR menu (it joins the line now)
//   call:queue_callback_run() -> "completed" | "failed" | "withdrawn" | nil, REASON
//       on the agent's call, which the engine placed when the callback's turn
//       came: calls the customer and puts the two through
//
// A callback is an ACD caller with nobody on the line. Its Job lives on the
// ACD's thread, keyed by its ACD caller; a retry enters it again (a new ACD
// caller with the original arrival time, so it keeps its place).
#include "invocation_values.hpp"
#include "queue_callback.hpp"
#include "queue_module.hpp"
#include "waiting_registry.hpp"

#include <unordered_map>

namespace tandem::queue::callback {

namespace {

const tandem_host &host() { return *module.host; }

constexpr acd::Ms kHeldFor = 300'000; // a place asked for is kept this long for its queue_callback()

struct Job {
    std::string origin_call; // the call that asked: its id goes on every row
    std::string queue, number, dial;
    CallerExperience settings;
    acd::CallerInfo info; // priority, skills, the original arrival, callback = true
    int attempts = 0;     // calls to the customer so far
    acd::OfferId offer = 0;
    std::string agent, agent_call;
};

// --- the ACD's thread ---

std::unordered_map<acd::CallerId, Job> jobs;
std::optional<Job> entering; // the job enter() is taking in: it may be offered before enter() returns
std::unordered_map<std::string, std::pair<Place, acd::Ms>> held;

Job *job_of(acd::CallerId caller) {
    if (auto it = jobs.find(caller); it != jobs.end()) return &it->second;
    if (!entering) return nullptr;
    Job &j = jobs.emplace(caller, std::move(*entering)).first->second;
    entering.reset();
    return &j;
}

acd::EnterResult enter(acd::Acd &acd, Job job, acd::Ms now) {
    entering = std::move(job);
    acd::QueueId q = acd.find_queue(entering->queue);
    acd::EnterResult r = q ? acd.enter(q, entering->info, now) : acd::EnterResult{0, "no such queue", 0};
    if (entering && r.caller) job_of(r.caller);
    entering.reset();
    return r;
}

void done(acd::Acd &acd, acd::CallerId caller, const Job &job, std::string_view outcome, acd::Ms now) {
    acd::LogRow row{now, acd.find_queue(job.queue), caller, acd.find_agent(job.agent), "CALLBACKDONE", job.attempts, 0,
                    0, outcome};
    module.service->log_row(row);
}

void declined_later(acd::OfferId offer) {
    module.service->post([offer](acd::Acd &acd, acd::Ms now) { acd.declined(offer, acd::OfferEnd::Rejected, now); });
}

// The customer was not reached on this attempt: again after the retry
// delay, or the end of the callback.
void attempt_failed(acd::Acd &acd, acd::CallerId caller, acd::Ms now) {
    auto it = jobs.find(caller);
    if (it == jobs.end()) return;
    Job job = std::move(it->second);
    jobs.erase(it);
    acd.callback_failed(caller, now);
    if (job.attempts >= job.settings.callback_attempts) {
        done(acd, caller, job, "failed", now);
        return;
    }
    job.offer = 0;
    job.agent_call.clear();
    acd::Ms when = now + static_cast<acd::Ms>(job.settings.callback_retry_s) * 1000;
    module.service->post_at(when, [job = std::move(job)](acd::Acd &a, acd::Ms at) mutable {
        if (enter(a, std::move(job), at).caller == 0)
            host().log(module.self, TANDEM_LOG_WARNING, nullptr, "queue: a callback could not enter its queue again");
    });
}

// --- call:queue_callback(QUEUE, NUMBER), on the caller's call ---

struct Asking {
    tandem_invocation *inv;
    uint64_t token = 0;
};
WaitingRegistry<Asking> asking;

bool valid_number(const std::string &n) {
    return !n.empty() && n.size() <= 32 && n.find_first_not_of("0123456789+*#") == std::string::npos;
}

int invoke_callback(void *, tandem_invocation *inv) {
    std::string queue = arg_text(inv, 0), number = arg_text(inv, 1);
    if (!valid_number(number)) return return_failure(inv, "the number must be 1-32 of 0-9 + * #, got '" + number + "'");
    Job job;
    std::optional<CallerExperience> settings = queue_experience(queue);
    if (!settings) return return_failure(inv, "no queue named '" + queue + "'");
    if (settings->callback_dial.empty())
        return return_failure(inv, "queue '" + queue + "' takes no callbacks (it has no callback_dial)");
    job.settings = std::move(*settings);
    tandem_leg *channel = host().inv_leg(inv);
    job.origin_call = host().leg_call_id(channel);
    job.queue = queue;
    job.number = number;
    job.dial = job.settings.callback_dial;
    job.dial.replace(job.dial.find("{number}"), 8, number);
    auto *a = new Asking{inv};
    a->token = asking.add(a, inv);
    uint64_t token = a->token;
    int worker = host().leg_worker(channel);
    module.service->post([token, worker, job = std::move(job)](acd::Acd &acd, acd::Ms now) mutable {
        auto place = held.find(job.origin_call);
        if (place != held.end() && place->second.first.queue == job.queue && now - place->second.second < kHeldFor) {
            job.info = place->second.first.info;
            job.info.entered = place->second.first.entered;
        }
        if (place != held.end()) held.erase(place);
        job.info.callback = true;
        acd::EnterResult r = enter(acd, std::move(job), now);
        std::string refused(r.refused);
        int position = r.position;
        AcdService::Telling telling(*module.service);
        asking.post(worker, token, [refused, position](Asking &ask) {
            asking.remove(ask.token, ask.inv);
            if (refused.empty()) {
                push_string(ask.inv, "queued");
                tandem_value v{};
                v.type = TANDEM_VALUE_INTEGER;
                v.as.integer = position;
                host().inv_return(ask.inv, &v);
            } else {
                return_failure(ask.inv, refused);
            }
            host().inv_complete(ask.inv);
            delete &ask;
        });
    });
    return TANDEM_SUSPENDED;
}

void cancel_callback(void *, tandem_invocation *inv) {
    if (Asking *a = asking.find(inv)) { // the request stands: only the answer is dropped
        asking.remove(a->token, inv);
        delete a;
    }
}

// --- call:queue_callback_run(), on the agent's call ---

struct Run {
    tandem_invocation *inv;
    uint64_t token = 0;
    acd::CallerId caller = 0;
    tandem_leg *customer = nullptr; // referenced
    bool bridged = false;
};
WaitingRegistry<Run> running;

void finish(Run *run, std::string_view status) {
    running.remove(run->token, run->inv);
    push_string(run->inv, status);
    host().inv_complete(run->inv);
    if (run->customer) host().leg_unref(run->customer);
    delete run;
}

void report_failure(acd::CallerId caller) {
    module.service->post([caller](acd::Acd &acd, acd::Ms now) { attempt_failed(acd, caller, now); });
}

void on_customer_state(void *user, tandem_leg *leg, uint64_t, int state, int) {
    auto *run = static_cast<Run *>(user);
    if (state == TANDEM_LEG_UP && !run->bridged) {
        if (host().inv_bridge(run->inv, leg) == TANDEM_OK) {
            run->bridged = true;
            return;
        }
        host().inv_hangup(run->inv, leg, TANDEM_CAUSE_NORMAL_CLEARING);
    }
    if (state == TANDEM_LEG_HUNGUP && !run->bridged) {
        report_failure(run->caller);
        finish(run, "failed");
    }
}

void on_bridge_end(void *user, uint64_t, int how) {
    auto *run = static_cast<Run *>(user);
    acd::CallerId caller = run->caller;
    bool by_agent = how == TANDEM_BRIDGE_CHANNEL_GONE;
    module.service->post([caller, by_agent](acd::Acd &acd, acd::Ms now) {
        acd.hung_up(caller, by_agent, now);
        if (auto it = jobs.find(caller); it != jobs.end()) {
            done(acd, caller, it->second, "completed", now);
            jobs.erase(it);
        }
    });
    finish(run, "completed");
}

const tandem_inv_watch customer_watch = {sizeof(tandem_inv_watch), nullptr, on_customer_state, nullptr, on_bridge_end};

int invoke_run(void *, tandem_invocation *inv) {
    tandem_leg *channel = host().inv_leg(inv);
    const char *id = host().leg_get_var(channel, "queue_callback");
    acd::CallerId caller = id ? std::strtoull(id, nullptr, 10) : 0;
    if (!caller) return return_failure(inv, "this call is not a queue callback (no queue_callback variable)");
    auto *run = new Run{inv};
    run->caller = caller;
    run->token = running.add(run, inv);
    uint64_t token = run->token;
    int worker = host().leg_worker(channel);
    module.service->post([token, worker, caller](acd::Acd &acd, acd::Ms now) {
        Job *job = job_of(caller);
        bool ok = job && job->offer && acd.answered(job->offer, now);
        std::string dial, number, queue, agent;
        if (ok) {
            ++job->attempts;
            dial = job->dial;
            number = job->number;
            queue = job->queue;
            agent = job->agent;
        }
        AcdService::Telling telling(*module.service);
        running.post(worker, token, [ok, dial, number, queue, agent](Run &r) {
            if (!ok) {
                finish(&r, "withdrawn"); // rang too long, or the agent was taken off meanwhile
                return;
            }
            tandem_inv_watch watch = customer_watch;
            watch.user = &r;
            host().inv_watch(r.inv, &watch);
            const tandem_field vars[] = {{"queue", queue.c_str()},
                                         {"queue_agent", agent.c_str()},
                                         {"callback_number", number.c_str()},
                                         {"sip_h_X-Tandem-Callback", queue.c_str()}};
            uint64_t run_token = r.token;
            tandem_leg *leg = host().inv_dial(r.inv, dial.c_str(), vars, 4, 1);
            if (!leg) {
                report_failure(r.caller);
                finish(&r, "failed");
                return;
            }
            if (Run *still = running.find(run_token)) // a driver that failed at once finished `r` already
                still->customer = leg;
            else
                host().leg_unref(leg);
        });
    });
    return TANDEM_SUSPENDED;
}

// The agent hung up (or the script was stopped) before the end.
void cancel_run(void *, tandem_invocation *inv) {
    Run *run = running.find(inv);
    if (!run) return;
    running.remove(run->token, inv);
    acd::CallerId caller = run->caller;
    if (run->bridged)
        module.service->post([caller](acd::Acd &acd, acd::Ms now) {
            acd.hung_up(caller, true, now);
            if (auto it = jobs.find(caller); it != jobs.end()) {
                done(acd, caller, it->second, "completed", now);
                jobs.erase(it);
            }
        });
    else
        report_failure(caller);
    if (run->customer) host().leg_unref(run->customer);
    delete run;
}

const tandem_function functions[] = {
    {sizeof(tandem_function), "queue_callback", "ss",
     "queue_callback(QUEUE, NUMBER): a callback keeps the caller's place in QUEUE; returns \"queued\", position", true,
     nullptr, invoke_callback, cancel_callback},
    {sizeof(tandem_function), "queue_callback_run", "",
     "queue_callback_run(): on the agent's callback call, call the customer and put them through", true, nullptr,
     invoke_run, cancel_run},
};

} // namespace

void hold(const std::string &call_id, Place place, acd::Ms now) {
    std::erase_if(held, [now](const auto &h) { return now - h.second.second >= kHeldFor; });
    held[call_id] = {std::move(place), now};
}

bool offer(const acd::Acd &acd, const acd::Offer &o) {
    Job *job = job_of(o.caller);
    if (!job) return false;
    job->agent = acd.agent_config(o.agent).name;
    std::vector<std::string> contacts = agent_contacts(job->agent);
    if (contacts.empty()) {
        declined_later(o.id);
        return true;
    }
    std::string caller = std::to_string(o.caller);
    const tandem_field vars[] = {{"queue_callback", caller.c_str()},
                                 {"queue", job->queue.c_str()},
                                 {"queue_agent", job->agent.c_str()},
                                 {"callback_number", job->number.c_str()}};
    char call_id[TANDEM_CALL_ID_SIZE];
    // The agent's first phone: an originated call rings one destination.
    if (host().originate(module.self, contacts.front().c_str(), job->settings.callback_exten.c_str(),
                         job->settings.callback_context.c_str(), vars, 4, call_id, sizeof call_id) != TANDEM_OK) {
        declined_later(o.id);
        return true;
    }
    job->offer = o.id;
    job->agent_call = call_id;
    return true;
}

bool withdraw(const acd::Offer &o, acd::OfferEnd why) {
    auto it = jobs.find(o.caller);
    if (it == jobs.end()) return false;
    Job &job = it->second;
    if (job.offer == o.id && !job.agent_call.empty())
        host().call_hangup(module.self, job.agent_call.c_str(),
                           why == acd::OfferEnd::NoAnswer ? TANDEM_CAUSE_NO_ANSWER : TANDEM_CAUSE_NORMAL_CLEARING);
    if (job.offer == o.id) {
        job.offer = 0;
        job.agent_call.clear();
    }
    return true;
}

bool left(acd::CallerId caller, acd::ExitReason why) {
    auto it = jobs.find(caller);
    if (it == jobs.end()) return false;
    if (why == acd::ExitReason::Connected) return true; // its agent took it: queue_callback_run goes on
    // removed from the console, or the queue emptied (leave_when_empty)
    std::string outcome(acd::name_of(why));
    module.service->post([caller, job = it->second, outcome](acd::Acd &acd, acd::Ms now) {
        done(acd, caller, job, outcome, now);
    });
    jobs.erase(it);
    return true;
}

std::optional<std::string> call_id(acd::CallerId caller) {
    if (auto it = jobs.find(caller); it != jobs.end()) return it->second.origin_call;
    if (entering) return entering->origin_call;
    return std::nullopt;
}

int register_functions() {
    for (const tandem_function &f : functions) {
        int rc = host().register_function(module.self, &f);
        if (rc != TANDEM_OK) return rc;
    }
    return TANDEM_OK;
}

} // namespace tandem::queue::callback
