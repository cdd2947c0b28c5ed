#include "acd/erlang_c.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace tandem::acd {

namespace {

[[noreturn]] void reject(const char *function, const char *parameter, const char *rule) {
    throw std::invalid_argument(std::string(function) + ": " + parameter + " " + rule);
}

void require_non_negative(const char *function, const char *parameter, double value) {
    if (!std::isfinite(value) || value < 0)
        reject(function, parameter, "must be a finite number >= 0");
}

void require_positive(const char *function, const char *parameter, double value) {
    if (!std::isfinite(value) || value <= 0)
        reject(function, parameter, "must be a finite number > 0");
}

void require_count(const char *function, const char *parameter, int value) {
    if (value < 0)
        reject(function, parameter, "must be >= 0");
}

// With no more agents than Erlangs the queue never drains, and the steady-state
// formulas divide by zero or go negative.
bool stable(double traffic, int agents) { return agents > traffic; }

// B(n) from B(n-1). Every B lies in [0, 1], so no step can overflow, unlike the
// A^N / N! of the textbook formula.
double next_erlang_b(double traffic, int agents, double previous_b) {
    double carried = traffic * previous_b;
    return carried / (agents + carried);
}

double erlang_b(double traffic, int agents) {
    double b = 1.0;
    for (int n = 1; n <= agents; ++n)
        b = next_erlang_b(traffic, n, b);
    return b;
}

// Erlang C from Erlang B for the same agents; only for a stable queue.
double wait_probability_from_b(double traffic, int agents, double b) {
    return agents * b / (agents - traffic * (1.0 - b));
}

double wait_probability(double traffic, int agents) {
    if (!stable(traffic, agents))
        return 1.0;
    return wait_probability_from_b(traffic, agents, erlang_b(traffic, agents));
}

double service_level_from_wait(double traffic, int agents, double wait, double aht_s, double target_s) {
    if (!stable(traffic, agents))
        return 0.0;
    return 1.0 - wait * std::exp(-(agents - traffic) * target_s / aht_s);
}

double asa_from_wait(double traffic, int agents, double wait, double aht_s) {
    if (!stable(traffic, agents))
        return std::numeric_limits<double>::infinity();
    return wait * aht_s / (agents - traffic);
}

double occupancy_unchecked(double traffic, int agents) {
    if (traffic == 0)
        return 0.0;
    return stable(traffic, agents) ? traffic / agents : 1.0;
}

Forecast describe(double traffic, int agents, double wait, double aht_s, double target_s) {
    return Forecast{agents,
                    service_level_from_wait(traffic, agents, wait, aht_s, target_s),
                    asa_from_wait(traffic, agents, wait, aht_s),
                    occupancy_unchecked(traffic, agents),
                    wait,
                    traffic};
}

// Digits with an optional fraction: what an operator types, without the
// signs, exponents, "inf" and "nan" that from_chars would also accept.
std::optional<double> parse_plain_decimal(std::string_view text) {
    auto all_digits = [](std::string_view s) {
        return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    size_t dot = text.find('.');
    std::string_view whole = text.substr(0, dot);
    std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    if (whole.empty() || (dot != std::string_view::npos && fraction.empty()))
        return std::nullopt;
    if (!all_digits(whole) || !all_digits(fraction))
        return std::nullopt;
    double value = 0;
    const char *end = text.data() + text.size();
    auto [stop, error] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
    if (error != std::errc{} || stop != end)
        return std::nullopt;
    return value;
}

} // namespace

double erlang_c(double traffic_erlangs, int agents) {
    require_non_negative("erlang_c", "traffic_erlangs", traffic_erlangs);
    require_count("erlang_c", "agents", agents);
    return wait_probability(traffic_erlangs, agents);
}

double service_level(double traffic, int agents, double aht_s, double target_s) {
    require_non_negative("service_level", "traffic", traffic);
    require_count("service_level", "agents", agents);
    require_positive("service_level", "aht_s", aht_s);
    require_non_negative("service_level", "target_s", target_s);
    return service_level_from_wait(traffic, agents, wait_probability(traffic, agents), aht_s, target_s);
}

double average_speed_of_answer(double traffic, int agents, double aht_s) {
    require_non_negative("average_speed_of_answer", "traffic", traffic);
    require_count("average_speed_of_answer", "agents", agents);
    require_positive("average_speed_of_answer", "aht_s", aht_s);
    return asa_from_wait(traffic, agents, wait_probability(traffic, agents), aht_s);
}

double occupancy(double traffic, int agents) {
    require_non_negative("occupancy", "traffic", traffic);
    require_count("occupancy", "agents", agents);
    return occupancy_unchecked(traffic, agents);
}

Forecast agents_needed(double calls_per_hour, double aht_s, double sl_fraction, double sl_target_s,
                       int max_agents) {
    require_non_negative("agents_needed", "calls_per_hour", calls_per_hour);
    require_positive("agents_needed", "aht_s", aht_s);
    if (!(sl_fraction > 0 && sl_fraction < 1))
        reject("agents_needed", "sl_fraction", "must lie strictly between 0 and 1");
    require_non_negative("agents_needed", "sl_target_s", sl_target_s);
    require_count("agents_needed", "max_agents", max_agents);

    double traffic = calls_per_hour * aht_s / 3600.0;
    if (traffic == 0)
        return Forecast{0, 1.0, 0.0, 0.0, 0.0, 0.0};
    if (!stable(traffic, max_agents)) {
        Forecast short_of_target = describe(traffic, max_agents, 1.0, aht_s, sl_target_s);
        short_of_target.agents = -1;
        return short_of_target;
    }

    // Service level only rises with agents, so the first count that meets the
    // target is the answer; B is carried forward instead of recomputed.
    int first = static_cast<int>(std::floor(traffic)) + 1;
    double b = erlang_b(traffic, first - 1);
    for (int agents = first;; ++agents) {
        b = next_erlang_b(traffic, agents, b);
        Forecast forecast = describe(traffic, agents, wait_probability_from_b(traffic, agents, b), aht_s, sl_target_s);
        if (forecast.service_level >= sl_fraction)
            return forecast;
        if (agents == max_agents) {
            forecast.agents = -1;
            return forecast;
        }
    }
}

std::optional<std::pair<double, double>> parse_service_level(std::string_view text) {
    size_t slash = text.find('/');
    if (slash == std::string_view::npos)
        return std::nullopt;
    std::optional<double> percent = parse_plain_decimal(text.substr(0, slash));
    std::optional<double> target_s = parse_plain_decimal(text.substr(slash + 1));
    if (!percent || !target_s || *percent <= 0 || *percent >= 100)
        return std::nullopt;
    return std::pair{*percent / 100.0, *target_s};
}

} // namespace tandem::acd
