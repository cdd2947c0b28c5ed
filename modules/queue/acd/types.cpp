#include "acd/types.hpp"

#include <array>
#include <utility>

namespace tandem::acd {

namespace {

constexpr std::array<std::pair<Strategy, std::string_view>, 11> strategies{{
    {Strategy::RingAll, "ring-all"},
    {Strategy::RoundRobin, "round-robin"},
    {Strategy::LongestIdle, "longest-idle"},
    {Strategy::LeastRecent, "least-recent"},
    {Strategy::FewestCalls, "fewest-calls"},
    {Strategy::LeastTalkTime, "least-talk-time"},
    {Strategy::Random, "random"},
    {Strategy::WeightedRandom, "weighted-random"},
    {Strategy::Linear, "linear"},
    {Strategy::RingProgressively, "ring-progressively"},
    {Strategy::Skills, "skills"},
}};

constexpr std::array<std::pair<EmptyPolicy, std::string_view>, 3> policies{{
    {EmptyPolicy::Never, "never"},
    {EmptyPolicy::NoneLoggedIn, "none-logged-in"},
    {EmptyPolicy::NoneReady, "none-ready"},
}};

} // namespace

std::string_view name_of(Strategy s) {
    for (const auto &[value, name] : strategies)
        if (value == s) return name;
    return "?";
}

std::string_view name_of(EmptyPolicy p) {
    for (const auto &[value, name] : policies)
        if (value == p) return name;
    return "?";
}

std::string_view name_of(AgentState s) {
    switch (s) {
    case AgentState::LoggedOut: return "logged-out";
    case AgentState::Available: return "available";
    case AgentState::Reserved: return "reserved";
    case AgentState::OnCall: return "on-call";
    case AgentState::WrapUp: return "wrap-up";
    case AgentState::Paused: return "paused";
    }
    return "?";
}

std::string_view name_of(OfferEnd e) {
    switch (e) {
    case OfferEnd::NoAnswer: return "no-answer";
    case OfferEnd::Busy: return "busy";
    case OfferEnd::Rejected: return "rejected";
    case OfferEnd::Cancelled: return "cancelled";
    }
    return "?";
}

std::string_view name_of(ExitReason r) {
    switch (r) {
    case ExitReason::Connected: return "connected";
    case ExitReason::Abandoned: return "abandoned";
    case ExitReason::Timeout: return "timeout";
    case ExitReason::Key: return "key";
    case ExitReason::Empty: return "empty";
    case ExitReason::Callback: return "callback";
    case ExitReason::Removed: return "removed";
    }
    return "?";
}

std::optional<Strategy> strategy_from(std::string_view text) {
    for (const auto &[value, name] : strategies)
        if (name == text) return value;
    return std::nullopt;
}

std::optional<EmptyPolicy> empty_policy_from(std::string_view text) {
    for (const auto &[value, name] : policies)
        if (name == text) return value;
    return std::nullopt;
}

} // namespace tandem::acd
