#include "acd/erlang_c.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace tandem::acd;

namespace {

// The textbook Erlang C formula, summed directly in long double with every
// A^k / k! term held as its logarithm: independent of the Erlang B recursion
// the code uses, and still finite at thousands of agents.
long double brute_force_wait(long double traffic, int agents) {
    std::vector<long double> log_terms;
    for (int k = 0; k < agents; ++k)
        log_terms.push_back(k * std::log(traffic) - std::lgamma(static_cast<long double>(k) + 1));
    long double log_waiting = agents * std::log(traffic) - std::lgamma(static_cast<long double>(agents) + 1) +
                              std::log(static_cast<long double>(agents)) - std::log(agents - traffic);
    long double largest = log_waiting;
    for (long double t : log_terms)
        largest = std::max(largest, t);
    long double not_waiting = 0;
    for (long double t : log_terms)
        not_waiting += std::exp(t - largest);
    long double waiting = std::exp(log_waiting - largest);
    return waiting / (not_waiting + waiting);
}

long double brute_force_service_level(long double traffic, int agents, long double aht_s, long double target_s) {
    return 1 - brute_force_wait(traffic, agents) * std::exp(-(agents - traffic) * target_s / aht_s);
}

const double positive_infinity = std::numeric_limits<double>::infinity();
const double not_a_number = std::numeric_limits<double>::quiet_NaN();

} // namespace

TEST_CASE("the Erlang B recursion agrees with the direct formula, up to thousands of agents", "[erlang_c]") {
    struct Case {
        double traffic;
        int agents;
    };
    for (Case c : {Case{0.5, 1}, Case{2, 3}, Case{10, 11}, Case{10, 13}, Case{10, 30}, Case{50.5, 55},
                   Case{500, 501}, Case{500, 520}, Case{4000, 4100}, Case{4900, 4901}, Case{4900, 5000}}) {
        CAPTURE(c.traffic, c.agents);
        double wait = erlang_c(c.traffic, c.agents);
        long double expected = brute_force_wait(c.traffic, c.agents);
        CHECK(std::abs(wait - expected) < 1e-9);
        CHECK(std::abs(service_level(c.traffic, c.agents, 180, 20) -
                       brute_force_service_level(c.traffic, c.agents, 180, 20)) < 1e-9);
    }
}

TEST_CASE("the published 10 Erlang example: 200 calls an hour of 180 s", "[erlang_c]") {
    // Checked against brute_force_wait and a 50-digit evaluation before being written down.
    CHECK(erlang_c(10, 11) == Approx(0.6821).margin(5e-5));
    CHECK(erlang_c(10, 12) == Approx(0.4494).margin(5e-5));
    CHECK(erlang_c(10, 13) == Approx(0.2853).margin(5e-5));
    CHECK(erlang_c(10, 14) == Approx(0.1741).margin(5e-5));
    CHECK(service_level(10, 13, 180, 20) == Approx(0.7956).margin(5e-5));
    CHECK(service_level(10, 14, 180, 20) == Approx(0.8884).margin(5e-5));
    CHECK(average_speed_of_answer(10, 14, 180) == Approx(7.836).margin(5e-4));

    Forecast f = agents_needed(200, 180, 0.80, 20);
    CHECK(f.traffic == Approx(10.0).margin(1e-12));
    CHECK(f.agents == 14);
    CHECK(f.service_level == Approx(0.8884).margin(5e-5));
    CHECK(f.wait_probability == Approx(0.1741).margin(5e-5));
    CHECK(f.asa_s == Approx(7.836).margin(5e-4));
    CHECK(f.occupancy == Approx(10.0 / 14).margin(1e-12));
}

TEST_CASE("more agents never make the queue worse", "[erlang_c]") {
    for (int agents = 11; agents < 30; ++agents) {
        CAPTURE(agents);
        CHECK(erlang_c(10, agents + 1) < erlang_c(10, agents));
        CHECK(service_level(10, agents + 1, 180, 20) > service_level(10, agents, 180, 20));
        CHECK(average_speed_of_answer(10, agents + 1, 180) < average_speed_of_answer(10, agents, 180));
        CHECK(occupancy(10, agents + 1) < occupancy(10, agents));
    }
}

TEST_CASE("agents_needed is the first count meeting the target, and one fewer is not", "[erlang_c]") {
    struct Case {
        double calls_per_hour, aht_s, sl_fraction, target_s;
    };
    for (Case c : {Case{200, 180, 0.80, 20}, Case{1000, 240, 0.90, 15}, Case{50, 300, 0.80, 30},
                   Case{10000, 300, 0.95, 10}, Case{58800, 300, 0.80, 20}, Case{3, 120, 0.5, 0}}) {
        CAPTURE(c.calls_per_hour, c.aht_s, c.sl_fraction, c.target_s);
        Forecast f = agents_needed(c.calls_per_hour, c.aht_s, c.sl_fraction, c.target_s);
        double traffic = c.calls_per_hour * c.aht_s / 3600;
        REQUIRE(f.agents > traffic);
        CHECK(f.traffic == Approx(traffic).margin(1e-9));
        CHECK(service_level(traffic, f.agents, c.aht_s, c.target_s) >= c.sl_fraction);
        CHECK(service_level(traffic, f.agents - 1, c.aht_s, c.target_s) < c.sl_fraction);
        CHECK(brute_force_service_level(traffic, f.agents, c.aht_s, c.target_s) >= c.sl_fraction);
        if (f.agents - 1 > traffic)
            CHECK(brute_force_service_level(traffic, f.agents - 1, c.aht_s, c.target_s) < c.sl_fraction);
        CHECK(f.service_level == service_level(traffic, f.agents, c.aht_s, c.target_s));
        CHECK(f.wait_probability == erlang_c(traffic, f.agents));
        CHECK(f.asa_s == average_speed_of_answer(traffic, f.agents, c.aht_s));
        CHECK(f.occupancy == occupancy(traffic, f.agents));
    }
}

TEST_CASE("a queue with no more agents than traffic never drains", "[erlang_c]") {
    CHECK(erlang_c(10, 10) == 1.0);
    CHECK(erlang_c(10, 4) == 1.0);
    CHECK(erlang_c(0.5, 0) == 1.0);
    CHECK(service_level(10, 10, 180, 20) == 0.0);
    CHECK(average_speed_of_answer(10, 10, 180) == positive_infinity);
    CHECK(occupancy(10, 4) == 1.0);
    CHECK(occupancy(10, 0) == 1.0);
    CHECK(occupancy(10, 20) == 0.5);
}

TEST_CASE("no traffic needs no agents and nobody waits", "[erlang_c]") {
    Forecast f = agents_needed(0, 180, 0.8, 20);
    CHECK(f.agents == 0);
    CHECK(f.service_level == 1.0);
    CHECK(f.asa_s == 0.0);
    CHECK(f.occupancy == 0.0);
    CHECK(f.wait_probability == 0.0);
    CHECK(f.traffic == 0.0);
    CHECK(erlang_c(0, 1) == 0.0);
    CHECK(service_level(0, 1, 180, 20) == 1.0);
    CHECK(occupancy(0, 0) == 0.0);
}

TEST_CASE("a target beyond max_agents reports -1 and how max_agents would do", "[erlang_c]") {
    Forecast short_by_one = agents_needed(200, 180, 0.80, 20, 13);
    CHECK(short_by_one.agents == -1);
    CHECK(short_by_one.service_level == Approx(0.7956).margin(5e-5));
    CHECK(short_by_one.traffic == Approx(10.0).margin(1e-12));

    Forecast overwhelmed = agents_needed(200, 180, 0.80, 20, 10);
    CHECK(overwhelmed.agents == -1);
    CHECK(overwhelmed.service_level == 0.0);
    CHECK(overwhelmed.asa_s == positive_infinity);
    CHECK(overwhelmed.wait_probability == 1.0);

    CHECK(agents_needed(1e6, 180, 0.80, 20).agents == -1);
    CHECK(agents_needed(200, 180, 0.80, 20, 0).agents == -1);
}

TEST_CASE("bad inputs are refused, naming the parameter", "[erlang_c]") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(erlang_c(-1, 5), Contains("traffic_erlangs"));
    CHECK_THROWS_WITH(erlang_c(not_a_number, 5), Contains("traffic_erlangs"));
    CHECK_THROWS_WITH(erlang_c(positive_infinity, 5), Contains("traffic_erlangs"));
    CHECK_THROWS_WITH(erlang_c(5, -1), Contains("agents"));
    CHECK_THROWS_WITH(service_level(-1, 5, 180, 20), Contains("traffic"));
    CHECK_THROWS_WITH(service_level(1, 5, 0, 20), Contains("aht_s"));
    CHECK_THROWS_WITH(service_level(1, 5, 180, -1), Contains("target_s"));
    CHECK_THROWS_WITH(service_level(1, 5, 180, not_a_number), Contains("target_s"));
    CHECK_THROWS_WITH(average_speed_of_answer(1, 5, -180), Contains("aht_s"));
    CHECK_THROWS_WITH(average_speed_of_answer(1, -5, 180), Contains("agents"));
    CHECK_THROWS_WITH(occupancy(not_a_number, 5), Contains("traffic"));
    CHECK_THROWS_WITH(occupancy(1, -1), Contains("agents"));
    CHECK_THROWS_WITH(agents_needed(-200, 180, 0.8, 20), Contains("calls_per_hour"));
    CHECK_THROWS_WITH(agents_needed(not_a_number, 180, 0.8, 20), Contains("calls_per_hour"));
    CHECK_THROWS_WITH(agents_needed(200, 0, 0.8, 20), Contains("aht_s"));
    CHECK_THROWS_WITH(agents_needed(200, not_a_number, 0.8, 20), Contains("aht_s"));
    CHECK_THROWS_WITH(agents_needed(200, 180, 0, 20), Contains("sl_fraction"));
    CHECK_THROWS_WITH(agents_needed(200, 180, 1, 20), Contains("sl_fraction"));
    CHECK_THROWS_WITH(agents_needed(200, 180, 80, 20), Contains("sl_fraction"));
    CHECK_THROWS_WITH(agents_needed(200, 180, not_a_number, 20), Contains("sl_fraction"));
    CHECK_THROWS_WITH(agents_needed(200, 180, 0.8, -20), Contains("sl_target_s"));
    CHECK_THROWS_WITH(agents_needed(200, 180, 0.8, 20, -1), Contains("max_agents"));
    CHECK_THROWS_AS(agents_needed(0, 180, 0.8, -1), std::invalid_argument);
}

TEST_CASE("service levels written as percent/seconds", "[erlang_c]") {
    auto parsed = parse_service_level("80/20");
    REQUIRE(parsed);
    CHECK(parsed->first == Approx(0.80).margin(1e-15));
    CHECK(parsed->second == 20.0);

    parsed = parse_service_level("90.5/15");
    REQUIRE(parsed);
    CHECK(parsed->first == Approx(0.905).margin(1e-15));
    CHECK(parsed->second == 15.0);

    parsed = parse_service_level("99.9/7.5");
    REQUIRE(parsed);
    CHECK(parsed->first == Approx(0.999).margin(1e-15));
    CHECK(parsed->second == 7.5);

    parsed = parse_service_level("50/0");
    REQUIRE(parsed);
    CHECK(parsed->second == 0.0);

    for (const char *bad : {"", "80", "80/", "/20", "/", "0/20", "0.0/20", "100/20", "120/20", "-80/20", "+80/20",
                            "80/-20", "80/20s", "80%/20", " 80/20", "80/20 ", "80 / 20", "80/20/5", "8a/20", "80./20",
                            ".5/20", "80/.5", "1e1/20", "80/1e1", "inf/20", "80/inf", "nan/20", "80/nan"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_service_level(bad));
    }
    // Too large for a double: refused rather than read as infinity.
    CHECK_FALSE(parse_service_level("80/1" + std::string(400, '0')));
}
