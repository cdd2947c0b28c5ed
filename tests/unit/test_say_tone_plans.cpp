// Spoken numbers (the prompt lists say_number/say_digits/say_duration
// play) and the national tone plans, measured with Goertzel filters.
#include "media/say.hpp"
#include "media/tone_plans.hpp"

#include "audio_test_util.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <sstream>

using namespace tandem::media;
using tandem::test::goertzel_power;
using tandem::test::mean_power;

namespace {

// "en/numbers/" prefixes dropped, names joined by spaces: "20 1f".
std::string spoken(const std::vector<std::string> &names, const std::string &prefix) {
    std::string out;
    for (auto &name : names) {
        REQUIRE(name.rfind(prefix, 0) == 0);
        out += (out.empty() ? "" : " ") + name.substr(prefix.size());
    }
    return out;
}

std::string number(int64_t n, const char *lang, Gender gender = Gender::masculine) {
    std::vector<std::string> names;
    std::string error;
    INFO(n << " in " << lang);
    REQUIRE(say_number(n, lang, gender, names, &error));
    return spoken(names, std::string(lang) + "/numbers/");
}

std::string duration(int64_t seconds, const char *lang) {
    std::vector<std::string> names;
    REQUIRE(say_duration(seconds, lang, names, nullptr));
    return spoken(names, std::string(lang) + "/");
}

} // namespace

TEST_CASE("English numbers are said word by word", "[say]") {
    const std::pair<int64_t, const char *> table[] = {
        {0, "0"},
        {7, "7"},
        {13, "13"},
        {20, "20"},
        {21, "20 1"},
        {99, "90 9"},
        {100, "1 hundred"},
        {115, "1 hundred 15"},
        {342, "3 hundred 40 2"},
        {1000, "1 thousand"},
        {1001, "1 thousand 1"},
        {20000, "20 thousand"},
        {305070, "3 hundred 5 thousand 70"},
        {999999, "9 hundred 90 9 thousand 9 hundred 90 9"},
    };
    for (auto [n, words] : table)
        CHECK(number(n, "en") == words);
}

TEST_CASE("Russian numbers agree in gender and decline the thousands", "[say]") {
    CHECK(number(1, "ru") == "1");
    CHECK(number(1, "ru", Gender::feminine) == "1f");
    CHECK(number(1, "ru", Gender::neuter) == "1n");
    CHECK(number(2, "ru") == "2");
    CHECK(number(2, "ru", Gender::feminine) == "2f");
    CHECK(number(2, "ru", Gender::neuter) == "2");
    CHECK(number(12, "ru", Gender::feminine) == "12");
    CHECK(number(21, "ru", Gender::feminine) == "20 1f");
    CHECK(number(42, "ru", Gender::feminine) == "40 2f");
    CHECK(number(342, "ru") == "300 40 2");
    CHECK(number(1000, "ru") == "1f thousand-1");
    CHECK(number(2000, "ru") == "2f thousand-2");
    CHECK(number(5000, "ru") == "5 thousand-5");
    CHECK(number(11000, "ru") == "11 thousand-5");
    CHECK(number(21000, "ru") == "20 1f thousand-1");
    CHECK(number(101001, "ru", Gender::feminine) == "100 1f thousand-1 1f");
    CHECK(number(999999, "ru") == "900 90 9 thousand-5 900 90 9");
}

TEST_CASE("the Russian plural form follows the last two digits", "[say]") {
    const std::pair<int64_t, int> table[] = {{0, 5},  {1, 1},  {2, 2},   {4, 2},   {5, 5},   {11, 5},  {12, 5},
                                             {14, 5}, {20, 5}, {21, 1},  {22, 2},  {25, 5},  {101, 1}, {111, 5},
                                             {112, 5}, {1004, 2}, {1011, 5}};
    for (auto [n, form] : table) {
        INFO(n);
        CHECK(russian_plural_form(n) == form);
    }
}

TEST_CASE("durations are said as hours, minutes and seconds with their forms", "[say]") {
    CHECK(duration(0, "en") == "numbers/0 units/seconds");
    CHECK(duration(1, "en") == "numbers/1 units/second");
    CHECK(duration(61, "en") == "numbers/1 units/minute numbers/1 units/second");
    CHECK(duration(7200, "en") == "numbers/2 units/hours");
    CHECK(duration(0, "ru") == "numbers/0 units/second-5");
    CHECK(duration(60, "ru") == "numbers/1f units/minute-1");
    CHECK(duration(120, "ru") == "numbers/2f units/minute-2");
    CHECK(duration(300, "ru") == "numbers/5 units/minute-5");
    CHECK(duration(1320, "ru") == "numbers/20 numbers/2f units/minute-2");
    CHECK(duration(3661, "ru") == "numbers/1 units/hour-1 numbers/1f units/minute-1 numbers/1f units/second-1");
    CHECK(duration(2 * 3600 + 11 * 60, "ru") == "numbers/2 units/hour-2 numbers/11 units/minute-5");
}

TEST_CASE("digits, stars and hashes are said one by one", "[say]") {
    std::vector<std::string> names;
    REQUIRE(say_digits("10*#", "ru", names, nullptr));
    CHECK(spoken(names, "ru/numbers/") == "1 0 star hash");
}

TEST_CASE("say refuses unknown languages, out-of-range numbers and non-digits", "[say]") {
    std::vector<std::string> names;
    std::string error;
    CHECK_FALSE(say_number(5, "de", Gender::masculine, names, &error));
    CHECK(error == "unknown language 'de' (en or ru)");
    CHECK_FALSE(say_number(-1, "en", Gender::masculine, names, &error));
    CHECK_FALSE(say_number(1'000'000, "en", Gender::masculine, names, &error));
    CHECK(error == "number 1000000 is outside 0..999999");
    CHECK_FALSE(say_digits("12a", "en", names, &error));
    CHECK_FALSE(say_duration(-5, "en", names, &error));
    CHECK(names.empty());
}

TEST_CASE("every prompt the say functions can name is shipped", "[say]") {
    std::set<std::string> used;
    for (const char *lang : {"en", "ru"}) {
        std::vector<std::string> names;
        for (int64_t n = 0; n < 1000; ++n)
            for (Gender g : {Gender::masculine, Gender::feminine, Gender::neuter}) {
                REQUIRE(say_number(n, lang, g, names, nullptr));
                REQUIRE(say_number(n * 1000, lang, g, names, nullptr));
            }
        for (int64_t s = 0; s < 2 * 3600; s += 7)
            REQUIRE(say_duration(s, lang, names, nullptr));
        REQUIRE(say_digits("0123456789*#", lang, names, nullptr));
        used.insert(names.begin(), names.end());
    }
    const std::filesystem::path sounds = std::filesystem::path(TANDEM_SOURCE_DIR) / "dialplans" / "sounds";
    for (const std::string &name : used) {
        INFO(name);
        CHECK(std::filesystem::is_regular_file(sounds / (name + ".wav")));
    }
    CHECK(used.size() > 80);
}

namespace {

struct Expected {
    uint32_t f1, f2, ms; // 0 Hz: silence
};

// Renders `ms` of the plan's tone at `rate` and checks each expected
// segment, leaving 10 ms at its edges: silence is silent, a tone holds its
// frequencies and nothing else.
void check_cadence(const char *plan, const char *name, std::vector<Expected> expected, uint32_t rate = 8000) {
    INFO(plan << " " << name << " at " << rate);
    ToneSpec spec;
    std::string error;
    REQUIRE(plan_tone(plan, name, 0, spec, &error));
    REQUIRE(spec.repeat);
    uint32_t period_ms = 0;
    for (auto &e : expected)
        period_ms += e.ms;
    // Two periods: the cadence must also repeat.
    ToneGenerator generator(spec, rate);
    std::vector<int16_t> pcm(static_cast<size_t>(2 * period_ms) * rate / 1000);
    REQUIRE(generator.generate(pcm.data(), pcm.size()) == pcm.size());
    size_t at = 0;
    for (int round = 0; round < 2; ++round)
        for (auto &e : expected) {
            const size_t len = static_cast<size_t>(e.ms) * rate / 1000, margin = rate / 100;
            const int16_t *x = pcm.data() + at + margin;
            const size_t n = len - 2 * margin;
            INFO("segment at " << at * 1000 / rate << " ms: " << e.f1 << "+" << e.f2 << " Hz for " << e.ms << " ms");
            const double power = mean_power(x, n);
            if (e.f1 == 0) {
                CHECK(power == 0.0);
            } else {
                const double p1 = goertzel_power(x, n, e.f1, rate);
                const double p2 = e.f2 ? goertzel_power(x, n, e.f2, rate) : 0.0;
                CHECK((p1 + p2) / power > 0.97);
                if (e.f2)
                    CHECK(p2 / power > 0.4);
                CHECK(goertzel_power(x, n, e.f1 + 150, rate) / power < 0.01); // not a neighbour
            }
            at += len;
        }
}

} // namespace

TEST_CASE("the European (ITU/CEPT) tone plan", "[tones][plans]") {
    check_cadence("eu", "dial", {{425, 0, 1000}});
    check_cadence("eu", "ringback", {{425, 0, 1000}, {0, 0, 4000}});
    check_cadence("eu", "busy", {{425, 0, 500}, {0, 0, 500}});
    check_cadence("eu", "congestion", {{425, 0, 250}, {0, 0, 250}});
    check_cadence("eu", "callwaiting", {{425, 0, 200}, {0, 0, 200}, {425, 0, 200}, {0, 0, 4400}});
    check_cadence("eu", "info", {{950, 0, 330}, {1400, 0, 330}, {1800, 0, 330}, {0, 0, 1000}});
}

TEST_CASE("the Russian tone plan", "[tones][plans]") {
    check_cadence("ru", "dial", {{425, 0, 1000}});
    check_cadence("ru", "ringback", {{425, 0, 800}, {0, 0, 3200}});
    check_cadence("ru", "busy", {{425, 0, 400}, {0, 0, 400}});
    check_cadence("ru", "congestion", {{425, 0, 175}, {0, 0, 175}});
    check_cadence("ru", "callwaiting", {{425, 0, 200}, {0, 0, 5000}});
    check_cadence("ru", "info", {{950, 0, 330}, {1400, 0, 330}, {1800, 0, 330}, {0, 0, 1000}});
}

TEST_CASE("the North American tone plan", "[tones][plans]") {
    check_cadence("us", "dial", {{350, 440, 1000}});
    check_cadence("us", "ringback", {{440, 480, 2000}, {0, 0, 4000}});
    check_cadence("us", "busy", {{480, 620, 500}, {0, 0, 500}});
    check_cadence("us", "congestion", {{480, 620, 250}, {0, 0, 250}});
    check_cadence("us", "callwaiting", {{440, 0, 300}, {0, 0, 9700}});
    check_cadence("us", "info", {{914, 0, 274}, {1371, 0, 274}, {1777, 0, 380}, {0, 0, 1000}});
    // The same cadence at the wideband rates.
    check_cadence("us", "busy", {{480, 620, 500}, {0, 0, 500}}, 16000);
    check_cadence("us", "busy", {{480, 620, 500}, {0, 0, 500}}, 48000);
}

TEST_CASE("a tone with a duration plays exactly that long and stops", "[tones][plans]") {
    ToneSpec spec;
    REQUIRE(plan_tone("eu", "busy", 1200, spec, nullptr));
    CHECK_FALSE(spec.repeat);
    ToneGenerator generator(spec, 8000);
    std::vector<int16_t> pcm(20000);
    REQUIRE(generator.generate(pcm.data(), pcm.size()) == 9600); // 1.2 s
    CHECK(generator.finished());
    CHECK(mean_power(pcm.data() + 8000 + 80, 1440) > 1e5); // the third burst, cut at 200 ms
    REQUIRE(plan_tone("us", "dial", 300, spec, nullptr));
    ToneGenerator dial(spec, 8000);
    CHECK(dial.generate(pcm.data(), pcm.size()) == 2400);
}

TEST_CASE("unknown plans and tones are refused with the choices", "[tones][plans]") {
    ToneSpec spec;
    std::string error;
    CHECK_FALSE(plan_tone("uk", "busy", 0, spec, &error));
    CHECK(error == "unknown tone plan 'uk' (eu, ru, us)");
    CHECK_FALSE(plan_tone("ru", "howler", 0, spec, &error));
    CHECK(error == "unknown tone 'howler' (dial, ringback, busy, congestion, callwaiting, info)");
}
