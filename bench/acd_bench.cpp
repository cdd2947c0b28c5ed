// The ACD's decision cost at contact-centre scale (issue 5 target: p99 from
// "agent free" to "offer" under 1 ms, under 20 µs of CPU per decision, with
// 10,000 callers waiting and 2,000 agents).
//
// Every agent is on a call and CALLERS more wait in 10 queues; each agent
// serves 2 of them. One decision: a random call ends (hung_up), the agent is
// free, and the ACD offers it the best caller it may take. The offer is
// answered at once and a new caller joins, so the line stays full. Time is
// virtual (1 ms a decision), the clocks are real: the calling thread's CPU
// time for the whole run, and the wall time of each hung_up() (which is the
// decision, from the agent coming free to the offer leaving the ACD).
// Last, the line's worst case: the first offer after CALLERS joined a queue
// nobody served.
//
//   build/bin/tandem_acd_bench [AGENTS [CALLERS [DECISIONS]]]   default 2000 10000 100000
#include "acd/acd.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

using namespace tandem::acd;

namespace {

struct Taker : Listener {
    std::vector<Offer> made;
    void offer(const Offer &o) override { made.push_back(o); }
    void withdraw(const Offer &o, OfferEnd) override {
        std::erase_if(made, [&](const Offer &m) { return m.id == o.id; });
    }
    void caller_left(CallerId, QueueId, ExitReason) override {}
    void agent_state(AgentId, AgentState, AgentState, std::string_view, Ms) override {}
    void record(const LogRow &) override {}
};

double thread_cpu_s() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Result {
    double cpu_us_per_decision, p50_us, p99_us, max_us;
    size_t offers, decisions;
};

Result run(Strategy strategy, int agents, int callers, int decisions) {
    Taker taker;
    Acd acd(taker, 1);
    std::mt19937_64 rnd(7);
    const int queues = 10;
    const char *skills[] = {"sales", "billing", "tech", "english"};
    for (int q = 0; q < queues; ++q) {
        QueueConfig c;
        c.name = "q" + std::to_string(q);
        c.strategy = strategy;
        c.ring_timeout = 1000000000; // offers are answered at once; no timeouts in the way
        acd.add_queue(c);
    }
    Ms now = 0;
    for (int a = 0; a < agents; ++a) {
        AgentConfig c;
        c.name = "a" + std::to_string(a);
        for (const char *s : skills) c.skills.push_back({s, static_cast<int>(rnd() % 10)});
        AgentId id = acd.add_agent(c);
        QueueId first = static_cast<QueueId>(1 + rnd() % queues), second = static_cast<QueueId>(1 + rnd() % queues);
        Membership m{1, static_cast<int>(rnd() % 1000), 1u + static_cast<unsigned>(rnd() % 5)};
        acd.add_member(first, id, m, now);
        if (second != first) acd.add_member(second, id, m, now);
        acd.login(id, now);
    }
    auto new_caller = [&] {
        CallerInfo info;
        info.priority = static_cast<int>(rnd() % 3);
        if (strategy == Strategy::Skills) info.requires_skills = {{skills[rnd() % 4], static_cast<int>(rnd() % 5)}};
        return acd.enter(static_cast<QueueId>(1 + rnd() % queues), info, now).caller;
    };
    std::vector<CallerId> talking;
    // the first offer to each caller is answered (ring-all makes several;
    // answering one withdraws the others)
    auto answer_offers = [&] {
        std::vector<CallerId> answered;
        for (const Offer &o : taker.made) {
            if (std::find(answered.begin(), answered.end(), o.caller) != answered.end()) continue;
            acd.answered(o.id, now);
            answered.push_back(o.caller);
            talking.push_back(o.caller);
        }
        taker.made.clear();
    };
    // every agent on a call, then the line
    while (static_cast<int>(talking.size()) < agents) {
        size_t before = talking.size();
        for (int i = 0; i < 100; ++i) new_caller();
        answer_offers();
        if (talking.size() == before) break; // skills: nobody left who qualifies
    }
    for (int i = 0; i < callers; ++i) new_caller();

    std::vector<double> latency_us;
    latency_us.reserve(static_cast<size_t>(decisions));
    size_t offers = 0;
    double cpu0 = thread_cpu_s();
    for (int d = 0; d < decisions && !talking.empty(); ++d) {
        now += 1;
        size_t pick = rnd() % talking.size();
        CallerId ending = talking[pick];
        talking[pick] = talking.back();
        talking.pop_back();
        auto t0 = std::chrono::steady_clock::now();
        acd.hung_up(ending, false, now);
        auto t1 = std::chrono::steady_clock::now();
        latency_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        offers += taker.made.size();
        answer_offers();
        new_caller();
    }
    double cpu = thread_cpu_s() - cpu0;
    std::sort(latency_us.begin(), latency_us.end());
    auto pct = [&](double p) { return latency_us[static_cast<size_t>(p * static_cast<double>(latency_us.size() - 1))]; };
    return {cpu * 1e6 / static_cast<double>(latency_us.size()), pct(0.5), pct(0.99), latency_us.back(), offers,
            latency_us.size()};
}

// The splay tree's worst case (acd/model.hpp): CALLERS join one queue that
// nobody serves, one after another, each told its position; then an agent
// logs in and takes the first. Returns the wall time of that login, which
// walks what the arrivals built, in µs.
double first_offer_after_arrivals(int callers) {
    Taker taker;
    Acd acd(taker, 1);
    QueueConfig c;
    c.name = "morning";
    c.ring_timeout = 1000000000;
    QueueId q = acd.add_queue(c);
    AgentConfig a;
    a.name = "early";
    AgentId agent = acd.add_agent(a);
    acd.add_member(q, agent, {}, 0);
    for (int i = 0; i < callers; ++i) acd.enter(q, {}, i);
    auto t0 = std::chrono::steady_clock::now();
    acd.login(agent, callers);
    auto t1 = std::chrono::steady_clock::now();
    if (taker.made.size() != 1) std::abort();
    return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

} // namespace

int main(int argc, char **argv) {
    int agents = argc > 1 ? std::atoi(argv[1]) : 2000;
    int callers = argc > 2 ? std::atoi(argv[2]) : 10000;
    int decisions = argc > 3 ? std::atoi(argv[3]) : 100000;
    if (agents < 1 || callers < 0 || decisions < 1) {
        std::fprintf(stderr, "usage: tandem_acd_bench [AGENTS [CALLERS [DECISIONS]]]\n");
        return 2;
    }
    std::printf("| strategy | agents | callers waiting | decisions | offers | CPU per decision (µs, with the answer and a new caller) | p50 agent-free to offer (µs) | p99 (µs) | max (µs) |\n");
    std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (Strategy s : {Strategy::LongestIdle, Strategy::RoundRobin, Strategy::LeastRecent, Strategy::FewestCalls,
                       Strategy::LeastTalkTime, Strategy::Random, Strategy::WeightedRandom, Strategy::Linear,
                       Strategy::RingAll, Strategy::Skills}) {
        Result r = run(s, agents, callers, decisions);
        std::printf("| %.*s | %d | %d | %zu | %zu | %.2f | %.2f | %.2f | %.1f |\n", static_cast<int>(name_of(s).size()),
                    name_of(s).data(), agents, callers, r.decisions, r.offers, r.cpu_us_per_decision, r.p50_us,
                    r.p99_us, r.max_us);
    }
    std::printf("\nfirst offer after %d callers joined a queue nobody served: %.1f µs\n", callers,
                first_offer_after_arrivals(callers));
    return 0;
}
