#include "acd_service.hpp"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <pthread.h>
#include <string>
#include <time.h>

namespace tandem::queue {

namespace {

void append_json_string(std::string &out, std::string_view s) {
    out += '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", c);
            out += esc;
        } else {
            out += ch;
        }
    }
    out += '"';
}

void field(std::string &out, const char *key, int64_t value) {
    out += ",\"";
    out += key;
    out += "\":" + std::to_string(value);
}

int64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

} // namespace

// What the Acd decides, as queue-log records (the durable spool) and events.
class AcdService::Output : public acd::Listener {
public:
    Output(AcdService &service, const tandem_host *host, tandem_module *self)
        : service_(service), host_(host), self_(self) {}
    acd::Acd *acd = nullptr;

    CallerSink *callers = nullptr;

    void offer(const acd::Offer &o) override {
        Telling telling(service_);
        ++service_.workload_.offers;
        if (callers) callers->offer(*acd, o);
    }
    void withdraw(const acd::Offer &o, acd::OfferEnd why) override {
        Telling telling(service_);
        if (callers) callers->withdraw(o, why);
    }
    void caller_left(acd::CallerId caller, acd::QueueId, acd::ExitReason why) override {
        Telling telling(service_);
        if (callers) callers->caller_left(caller, why);
    }

    void agent_state(acd::AgentId agent, acd::AgentState from, acd::AgentState to, std::string_view reason,
                     acd::Ms) override {
        Telling telling(service_);
        std::string name = acd->agent_config(agent).name, was(acd::name_of(from)), is(acd::name_of(to)), why(reason);
        const tandem_field fields[] = {{"agent", name.c_str()}, {"from", was.c_str()}, {"state", is.c_str()},
                                       {"reason", why.c_str()}};
        host_->publish(self_, "agent_state", nullptr, fields, 4);
    }

    acd::Stats stats;

    void publish(const char *name, const tandem_field *fields, size_t count) {
        host_->publish(self_, name, nullptr, fields, count);
    }

    void record(const acd::LogRow &row) override {
        Telling telling(service_);
        auto [wall, day] = AcdService::wall_and_day();
        stats.add(row, wall, day, row.queue ? acd->queue_config(row.queue).service_level : 0);
        std::string json = "{\"event\":";
        append_json_string(json, row.event);
        json += ",\"queue\":";
        append_json_string(json, row.queue ? std::string_view(acd->queue_config(row.queue).name) : "");
        json += ",\"agent\":";
        append_json_string(json, row.agent ? std::string_view(acd->agent_config(row.agent).name) : "");
        if (row.caller) {
            field(json, "caller", static_cast<int64_t>(row.caller));
            if (std::string call = callers ? callers->call_id(row.caller) : std::string(); !call.empty()) {
                json += ",\"call_id\":";
                append_json_string(json, call);
            }
        }
        std::string_view e = row.event;
        if (e == "ENTER") {
            field(json, "position", row.a);
        } else if (e == "NOANSWER" || e == "BUSY" || e == "REJECTED") {
            field(json, "ring_ms", row.a);
        } else if (e == "CONNECT") {
            field(json, "wait_ms", row.a);
            field(json, "ring_ms", row.b);
        } else if (e == "COMPLETECALLER" || e == "COMPLETEAGENT" || e == "TRANSFER" || e == "CALLBACKFAILED") {
            field(json, "wait_ms", row.a);
            field(json, "talk_ms", row.b);
        } else if (e == "ABANDON" || e.starts_with("EXIT") || e == "CALLBACK" || e == "REMOVED") {
            field(json, "position", row.a);
            field(json, "original_position", row.b);
            field(json, "wait_ms", row.c);
        } else if (e == "CALLBACKDONE") {
            field(json, "attempts", row.a);
            json += ",\"outcome\":";
            append_json_string(json, row.info);
        } else if (e == "PAUSE") {
            json += ",\"reason\":";
            append_json_string(json, row.info);
        }
        json += '}';
        if (host_->record_emit(self_, "queue_log", json.data(), json.size()) != TANDEM_OK)
            host_->log(self_, TANDEM_LOG_ERROR, nullptr, "queue: a queue-log row was refused: %s", json.c_str());
    }

private:
    AcdService &service_;
    const tandem_host *host_;
    tandem_module *self_;
};

AcdService::Telling::Telling(AcdService &service)
    : service_(service), start_(service.telling_depth_++ == 0 ? monotonic_ns() : 0) {}

AcdService::Telling::~Telling() {
    if (--service_.telling_depth_ == 0) service_.workload_.output_ns += monotonic_ns() - start_;
}

acd::Ms AcdService::monotonic_ms() { return monotonic_ns() / 1000000; }

std::pair<int64_t, int64_t> AcdService::wall_and_day() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tm local{};
    time_t secs = ts.tv_sec;
    localtime_r(&secs, &local);
    return {static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000,
            static_cast<int64_t>(local.tm_year) * 1000 + local.tm_yday};
}

const acd::Stats &AcdService::stats() const { return output_->stats; }

AcdService::Workload AcdService::workload() const { return workload_; }

void AcdService::set_caller_sink(CallerSink *sink) { output_->callers = sink; }

int AcdService::staffed(acd::QueueId queue) const {
    int n = 0;
    for (const auto &[agent, membership] : acd_->members(queue))
        n += acd_->state(agent) != acd::AgentState::LoggedOut && acd_->pause_reason(agent).empty();
    return n;
}

AcdService::AcdService(const tandem_host *host, tandem_module *self)
    : output_(std::make_unique<Output>(*this, host, self)),
      acd_(std::make_unique<acd::Acd>(*output_, static_cast<uint64_t>(monotonic_ms()))) {
    output_->acd = acd_.get();
    thread_ = std::thread([this] { run(); });
}

AcdService::~AcdService() {
    {
        std::lock_guard<std::mutex> hold(lock_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void AcdService::post(Task task) {
    {
        std::lock_guard<std::mutex> hold(lock_);
        tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
}

void AcdService::post_at(acd::Ms when, Task task) {
    {
        std::lock_guard<std::mutex> hold(lock_);
        timed_.emplace(when, std::move(task));
    }
    wake_.notify_one();
}

void AcdService::log_row(const acd::LogRow &row) { output_->record(row); }

void AcdService::set_stats_interval(int seconds) {
    {
        std::lock_guard<std::mutex> hold(lock_);
        stats_interval_ = static_cast<acd::Ms>(seconds) * 1000;
        next_stats_ = stats_interval_ ? monotonic_ms() + stats_interval_ : INT64_MAX;
    }
    wake_.notify_one();
}

void AcdService::publish_stats(acd::Ms now) {
    auto [wall, day] = wall_and_day();
    for (acd::QueueId q = 1; q <= acd_->queue_count(); ++q) {
        acd::QueueSnapshot snap = acd_->snapshot(q, now);
        acd::Counts recent = output_->stats.queue(q, 15, wall, day);
        int staffed = this->staffed(q);
        char sl[16], asa[16];
        std::snprintf(sl, sizeof sl, "%.4f", recent.service_level());
        std::snprintf(asa, sizeof asa, "%.1f", recent.asa_s());
        std::string values[] = {snap.name,
                                std::to_string(snap.waiting),
                                std::to_string(snap.longest_wait / 1000),
                                std::to_string(snap.agents[static_cast<int>(acd::AgentState::Available)]),
                                std::to_string(staffed),
                                std::to_string(recent.offered),
                                std::to_string(recent.answered),
                                std::to_string(recent.abandoned),
                                sl,
                                asa};
        const char *keys[] = {"queue", "waiting", "longest_wait_s", "available", "staffed", "offered_15m",
                              "answered_15m", "abandoned_15m", "service_level_15m", "asa_15m_s"};
        tandem_field fields[10];
        for (size_t i = 0; i < 10; ++i) fields[i] = {keys[i], values[i].c_str()};
        output_->publish("queue_stats", fields, 10);
    }
}

void AcdService::run() {
    pthread_setname_np(pthread_self(), "tandem-acd");
    std::unique_lock<std::mutex> hold(lock_);
    while (!stopping_) {
        acd::Ms deadline = std::min({acd_->next_deadline(), next_stats_, timed_.empty() ? INT64_MAX : timed_.begin()->first});
        if (tasks_.empty()) {
            if (deadline == INT64_MAX)
                wake_.wait(hold);
            else
                wake_.wait_for(hold, std::chrono::milliseconds(std::max<acd::Ms>(0, deadline - monotonic_ms())));
        }
        std::deque<Task> batch;
        batch.swap(tasks_);
        for (acd::Ms now = monotonic_ms(); !timed_.empty() && timed_.begin()->first <= now;) {
            batch.push_back(std::move(timed_.begin()->second));
            timed_.erase(timed_.begin());
        }
        hold.unlock();
        int64_t started = monotonic_ns();
        for (Task &task : batch) task(*acd_, monotonic_ms());
        acd_->advance(monotonic_ms());
        workload_.tasks += batch.size();
        workload_.busy_ns += monotonic_ns() - started;
        hold.lock();
        if (monotonic_ms() >= next_stats_) {
            next_stats_ = monotonic_ms() + stats_interval_;
            hold.unlock();
            publish_stats(monotonic_ms());
            hold.lock();
        }
    }
}

namespace {

// Removes the members of `q` that `members` does not name; the others stay
// as they are (calls ringing them, their counts for fewest-calls and
// least-talk-time).
void keep_only(acd::Acd &acd, acd::QueueId q, const std::vector<MemberSpec> &members, acd::Ms now) {
    for (const auto &[agent, membership] : acd.members(q)) {
        const std::string &name = acd.agent_config(agent).name;
        if (std::none_of(members.begin(), members.end(), [&](const MemberSpec &m) { return m.agent == name; }))
            acd.remove_member(q, agent, now);
    }
}

} // namespace

void AcdService::apply(const Settings &settings) {
    call([&settings](acd::Acd &acd, acd::Ms now) {
        std::vector<acd::AgentId> listed;
        for (const AgentSpec &spec : settings.agents) {
            acd::AgentId id = acd.find_agent(spec.config.name);
            if (id)
                acd.configure_agent(id, spec.config, now);
            else
                id = acd.add_agent(spec.config);
            listed.push_back(id);
        }
        for (acd::AgentId id = 1; id <= acd.agent_count(); ++id)
            if (std::find(listed.begin(), listed.end(), id) == listed.end()) acd.logout(id, now);
        for (const QueueSpec &spec : settings.queues) {
            acd::QueueId q = acd.find_queue(spec.config.name);
            if (q)
                acd.configure_queue(q, spec.config, now);
            else
                q = acd.add_queue(spec.config);
            keep_only(acd, q, spec.members, now);
            for (const MemberSpec &m : spec.members) acd.add_member(q, acd.find_agent(m.agent), m.membership, now);
        }
        for (acd::QueueId q = 1; q <= acd.queue_count(); ++q) {
            bool listed_queue = false;
            for (const QueueSpec &spec : settings.queues) listed_queue = listed_queue || spec.config.name == acd.queue_config(q).name;
            if (!listed_queue) keep_only(acd, q, {}, now);
        }
        for (const AgentSpec &spec : settings.agents)
            if (spec.login && acd.state(acd.find_agent(spec.config.name)) == acd::AgentState::LoggedOut)
                acd.login(acd.find_agent(spec.config.name), now);
    });
}

} // namespace tandem::queue
