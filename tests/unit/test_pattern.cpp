#include "lua/pattern.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using tandem::dialplan::Pattern;

namespace {
Pattern compile(const std::string &text) {
    Pattern p;
    std::string error;
    REQUIRE(Pattern::compile(text, p, error));
    return p;
}
} // namespace

TEST_CASE("exact extensions match only themselves", "[pattern]") {
    auto p = compile("600");
    CHECK(p.matches("600"));
    CHECK_FALSE(p.matches("6000"));
    CHECK_FALSE(p.matches("60"));
    CHECK(compile("agent-1").matches("agent-1"));
}

TEST_CASE("pattern classes X Z N, sets, and wildcards", "[pattern]") {
    CHECK(compile("_1XXX").matches("1000"));
    CHECK_FALSE(compile("_1XXX").matches("100"));
    CHECK_FALSE(compile("_1XXX").matches("1a00"));
    CHECK(compile("_Z").matches("1"));
    CHECK_FALSE(compile("_Z").matches("0"));
    CHECK(compile("_N").matches("2"));
    CHECK_FALSE(compile("_N").matches("1"));
    CHECK(compile("_[13-5]X").matches("40"));
    CHECK_FALSE(compile("_[13-5]X").matches("20"));
    CHECK(compile("_9.").matches("9123"));
    CHECK_FALSE(compile("_9.").matches("9"));
    CHECK(compile("_9!").matches("9"));
    CHECK(compile("_X.5").matches("12345"));
}

TEST_CASE("malformed patterns are errors", "[pattern]") {
    Pattern p;
    std::string error;
    CHECK_FALSE(Pattern::compile("_1[3-", p, error));
    CHECK(error.find("unterminated") != std::string::npos);
    CHECK_FALSE(Pattern::compile("_[9-1]", p, error));
    CHECK_FALSE(Pattern::compile("", p, error));
    CHECK_FALSE(Pattern::compile("_", p, error));
}

TEST_CASE("ordering: exact first, then the narrower pattern", "[pattern]") {
    std::vector<Pattern> ps = {compile("_X."), compile("_1XXX"), compile("1234"), compile("_12XX"), compile("_NXXX")};
    std::stable_sort(ps.begin(), ps.end(), [](const Pattern &a, const Pattern &b) { return a.more_specific_than(b); });
    std::vector<std::string> order;
    for (auto &p : ps)
        order.push_back(p.text());
    CHECK(order == std::vector<std::string>{"1234", "_12XX", "_1XXX", "_NXXX", "_X."});
}

TEST_CASE("a number from the network cannot make matching explode", "[pattern]") {
    // Exponential backtracking would not finish: the matcher is linear in
    // pattern length times number length.
    auto p = compile("_X.X.X.X.X.X.X.X.X.X.X.X.9");
    std::string number(400, '1');
    CHECK_FALSE(p.matches(number + "a"));
    CHECK(p.matches(number + "9"));
}
