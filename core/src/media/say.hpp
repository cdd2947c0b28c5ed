#pragma once
// Spoken numbers, digits and durations as lists of prompt names from the
// shipped prompt set (dialplans/sounds, made by contrib/make-prompts.sh):
// "en/numbers/20", "ru/numbers/2f", "ru/units/minute-5", ...
//
// English says 0..999 999 the American way, without "and" ("one hundred
// twenty three"). Russian agrees the number with the gender of what is
// counted (один час, одна минута, одно ...; два/две) and picks the
// thousand's form by the Russian plural rule (тысяча, две тысячи, пять
// тысяч). Pure functions: no I/O, any thread.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::media {

enum class Gender { masculine, feminine, neuter };

inline constexpr int64_t kMaxSayNumber = 999'999;

// True for the languages the functions below speak: "en", "ru".
bool say_language_known(std::string_view lang);

// The form of a counted Russian noun: 1 (минута), 2 (минуты: 2-4) or 5
// (минут: 0, 5-20 and every number ending in 11-14).
int russian_plural_form(int64_t n);

// Each appends to `out` and returns true, or sets *error and returns false
// (unknown language, number outside 0..kMaxSayNumber, a character other
// than 0-9 * #).
bool say_number(int64_t n, std::string_view lang, Gender gender, std::vector<std::string> &out,
                std::string *error);
bool say_digits(std::string_view digits, std::string_view lang, std::vector<std::string> &out, std::string *error);
// Hours, minutes and seconds, leaving out parts that are zero ("1 hour 5
// seconds"); 0 is "0 seconds". At most kMaxSayNumber hours.
bool say_duration(int64_t seconds, std::string_view lang, std::vector<std::string> &out, std::string *error);

} // namespace tandem::media
