#include "media/say.hpp"

namespace tandem::media {
namespace {

std::string number_prompt(std::string_view lang, std::string_view name) {
    return std::string(lang) + "/numbers/" + std::string(name);
}

// 1..999 in English.
void english_below_thousand(int64_t x, std::vector<std::string> &out) {
    if (x >= 100) {
        out.push_back(number_prompt("en", std::to_string(x / 100)));
        out.push_back(number_prompt("en", "hundred"));
        x %= 100;
    }
    if (x == 0)
        return;
    if (x <= 20) {
        out.push_back(number_prompt("en", std::to_string(x)));
        return;
    }
    out.push_back(number_prompt("en", std::to_string(x / 10 * 10)));
    if (x % 10)
        out.push_back(number_prompt("en", std::to_string(x % 10)));
}

std::string russian_unit(int64_t d, Gender gender) {
    if (d == 1)
        return gender == Gender::feminine ? "1f" : gender == Gender::neuter ? "1n" : "1";
    if (d == 2 && gender == Gender::feminine)
        return "2f";
    return std::to_string(d);
}

// 1..999 in Russian, agreeing with `gender`.
void russian_below_thousand(int64_t x, Gender gender, std::vector<std::string> &out) {
    if (x >= 100) {
        out.push_back(number_prompt("ru", std::to_string(x / 100 * 100)));
        x %= 100;
    }
    if (x == 0)
        return;
    if (x >= 3 && x <= 20) {
        out.push_back(number_prompt("ru", std::to_string(x)));
        return;
    }
    if (x > 20) {
        out.push_back(number_prompt("ru", std::to_string(x / 10 * 10)));
        x %= 10;
    }
    if (x)
        out.push_back(number_prompt("ru", russian_unit(x, gender)));
}

bool fail(std::string *error, std::string message) {
    if (error)
        *error = std::move(message);
    return false;
}

bool check(int64_t n, std::string_view lang, std::string *error) {
    if (!say_language_known(lang))
        return fail(error, "unknown language '" + std::string(lang) + "' (en or ru)");
    if (n < 0 || n > kMaxSayNumber)
        return fail(error, "number " + std::to_string(n) + " is outside 0.." + std::to_string(kMaxSayNumber));
    return true;
}

// "3 minutes": the number, then the unit in the form it needs.
void say_count(int64_t n, std::string_view lang, std::string_view unit, Gender gender,
               std::vector<std::string> &out) {
    say_number(n, lang, gender, out, nullptr);
    if (lang == "ru")
        out.push_back("ru/units/" + std::string(unit) + "-" + std::to_string(russian_plural_form(n)));
    else
        out.push_back("en/units/" + std::string(unit) + (n == 1 ? "" : "s"));
}

} // namespace

bool say_language_known(std::string_view lang) { return lang == "en" || lang == "ru"; }

int russian_plural_form(int64_t n) {
    const int64_t last_two = n % 100, last = n % 10;
    if (last_two >= 11 && last_two <= 14)
        return 5;
    if (last == 1)
        return 1;
    if (last >= 2 && last <= 4)
        return 2;
    return 5;
}

bool say_number(int64_t n, std::string_view lang, Gender gender, std::vector<std::string> &out,
                std::string *error) {
    if (!check(n, lang, error))
        return false;
    if (n == 0) {
        out.push_back(number_prompt(lang, "0"));
        return true;
    }
    const int64_t thousands = n / 1000, rest = n % 1000;
    if (lang == "en") {
        if (thousands) {
            english_below_thousand(thousands, out);
            out.push_back(number_prompt("en", "thousand"));
        }
        english_below_thousand(rest, out);
        return true;
    }
    if (thousands) {
        russian_below_thousand(thousands, Gender::feminine, out); // тысяча is feminine
        out.push_back(number_prompt("ru", "thousand-" + std::to_string(russian_plural_form(thousands))));
    }
    russian_below_thousand(rest, gender, out);
    return true;
}

bool say_digits(std::string_view digits, std::string_view lang, std::vector<std::string> &out, std::string *error) {
    if (!say_language_known(lang))
        return fail(error, "unknown language '" + std::string(lang) + "' (en or ru)");
    if (digits.find_first_not_of("0123456789*#") != std::string_view::npos)
        return fail(error, "digits are 0-9, * and #");
    for (char d : digits)
        out.push_back(number_prompt(lang, d == '*' ? "star" : d == '#' ? "hash" : std::string(1, d)));
    return true;
}

bool say_duration(int64_t seconds, std::string_view lang, std::vector<std::string> &out, std::string *error) {
    const int64_t max_seconds = kMaxSayNumber * 3600 + 3599;
    if (!say_language_known(lang))
        return fail(error, "unknown language '" + std::string(lang) + "' (en or ru)");
    if (seconds < 0 || seconds > max_seconds)
        return fail(error, "duration " + std::to_string(seconds) + " s is outside 0.." + std::to_string(max_seconds));
    const int64_t hours = seconds / 3600, minutes = seconds / 60 % 60, secs = seconds % 60;
    if (hours)
        say_count(hours, lang, "hour", Gender::masculine, out);
    if (minutes)
        say_count(minutes, lang, "minute", Gender::feminine, out);
    if (secs || seconds == 0)
        say_count(secs, lang, "second", Gender::feminine, out);
    return true;
}

} // namespace tandem::media
