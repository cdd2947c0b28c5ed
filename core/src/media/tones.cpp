#include "media/tones.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>

namespace tandem::media {
namespace {

constexpr std::string_view kPrefix = "tone:";

// -13 dBm0 per frequency. µ-law overloads at +3.17 dBm0, a sine peaking at
// 32636 on the 16-bit scale, so 0 dBm0 peaks at 32636 / 10^(3.17/20) = 22663
// and -13 dBm0 at 22663 / 10^(13/20) = 5074. Two tones sum to 10148: no
// clipping.
constexpr double kAmplitude = 5074.0;

struct NamedTone {
    std::string_view name;
    ToneSpec spec;
};

const std::vector<NamedTone> &named_tones() {
    static const std::vector<NamedTone> tones = {
        {"ringback", {{{425, 0, 1000}, {0, 0, 4000}}, true}},
        {"busy", {{{425, 0, 500}, {0, 0, 500}}, true}},
        {"congestion", {{{425, 0, 250}, {0, 0, 250}}, true}},
        // One repeating segment: the oscillator's phase runs on across the
        // loop, so the tone is seamless.
        {"dial", {{{425, 0, 1000}}, true}},
    };
    return tones;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

// The whole of `text` as a decimal number.
bool parse_number(std::string_view text, uint32_t &value) {
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return !text.empty() && ec == std::errc{} && ptr == end;
}

bool parse_frequency(std::string_view text, uint32_t &hz, std::string &error) {
    if (!parse_number(text, hz) || hz == 0 || hz > kMaxToneHz) {
        error = "bad frequency '" + std::string(text) + "' (1.." + std::to_string(kMaxToneHz) + " Hz)";
        return false;
    }
    return true;
}

bool parse_segment(std::string_view text, ToneSegment &segment, std::string &error) {
    const size_t slash = text.find('/');
    if (slash == std::string_view::npos) {
        error = "segment '" + std::string(text) + "' is not FREQ[+FREQ]/MS";
        return false;
    }
    const std::string_view freqs = trim(text.substr(0, slash));
    const std::string_view duration = trim(text.substr(slash + 1));
    if (!parse_number(duration, segment.duration_ms) || segment.duration_ms == 0) {
        error = "bad duration '" + std::string(duration) + "' in segment '" + std::string(text) + "'";
        return false;
    }
    if (freqs == "0")
        return true; // silence
    const size_t plus = freqs.find('+');
    if (!parse_frequency(trim(freqs.substr(0, plus)), segment.freq1, error))
        return false;
    return plus == std::string_view::npos || parse_frequency(trim(freqs.substr(plus + 1)), segment.freq2, error);
}

// `options` is what follows the first ';': one or more ';'-separated words.
bool parse_options(std::string_view options, ToneSpec &out, std::string &error) {
    for (;;) {
        const size_t semicolon = options.find(';');
        const std::string_view option = trim(options.substr(0, semicolon));
        if (option != "repeat") {
            error = "unknown tone option '" + std::string(option) + "'";
            return false;
        }
        out.repeat = true;
        if (semicolon == std::string_view::npos)
            return true;
        options = options.substr(semicolon + 1);
    }
}

bool parse_body(std::string_view body, ToneSpec &out, std::string &error) {
    for (const NamedTone &named : named_tones()) {
        if (body == named.name) {
            out = named.spec;
            return true;
        }
    }
    out = {};
    while (true) {
        const size_t comma = body.find(',');
        ToneSegment segment;
        if (!parse_segment(trim(body.substr(0, comma)), segment, error))
            return false;
        out.segments.push_back(segment);
        if (comma == std::string_view::npos)
            return true;
        body = body.substr(comma + 1);
    }
}

} // namespace

bool is_tone_spec(std::string_view spec) { return spec.starts_with(kPrefix); }

bool parse_tone(std::string_view spec, ToneSpec &out, std::string *error) {
    std::string reason;
    if (!is_tone_spec(spec)) {
        reason = "tone spec must start with 'tone:'";
    } else {
        spec.remove_prefix(kPrefix.size());
        const size_t semicolon = spec.find(';');
        const std::string_view body = trim(spec.substr(0, semicolon));
        if (body.empty())
            reason = "empty tone spec";
        else if (parse_body(body, out, reason) &&
                 (semicolon == std::string_view::npos || parse_options(spec.substr(semicolon + 1), out, reason)))
            return true;
    }
    if (error)
        *error = std::move(reason);
    return false;
}

ToneGenerator::ToneGenerator(const ToneSpec &spec, uint32_t rate)
    : segments_(spec.segments), steps_(spec.segments.size()), repeat_(spec.repeat), rate_(rate) {
    finished_ = segments_.empty() || rate_ == 0;
    if (finished_)
        return;
    compute_steps();
    left_ = steps_[0].samples;
}

void ToneGenerator::compute_steps() {
    for (size_t i = 0; i < segments_.size(); ++i) {
        const ToneSegment &segment = segments_[i];
        Step &step = steps_[i];
        // At least one sample, so a repeating spec always makes progress.
        step.samples = std::max<uint64_t>(1, (uint64_t{segment.duration_ms} * rate_ + 500) / 1000);
        const double w1 = 2.0 * std::numbers::pi * segment.freq1 / rate_;
        const double w2 = 2.0 * std::numbers::pi * segment.freq2 / rate_;
        step.cos1 = std::cos(w1);
        step.sin1 = std::sin(w1);
        step.cos2 = std::cos(w2);
        step.sin2 = std::sin(w2);
    }
}

void ToneGenerator::set_rate(uint32_t rate) {
    if (rate == rate_ || rate == 0 || finished_)
        return;
    left_ = std::max<uint64_t>(1, (left_ * rate + rate_ / 2) / rate_);
    rate_ = rate;
    compute_steps();
}

void ToneGenerator::enter_segment(size_t index) {
    const ToneSegment &previous = segments_[index_];
    const ToneSegment &next = segments_[index];
    // A tone that starts out of silence starts at a zero crossing; one that
    // was already sounding keeps its phase and only changes pitch.
    if (previous.freq1 == 0 && next.freq1 != 0)
        osc1_ = Phasor{};
    if (previous.freq2 == 0 && next.freq2 != 0)
        osc2_ = Phasor{};
    index_ = index;
    left_ = steps_[index].samples;
}

size_t ToneGenerator::generate(int16_t *out, size_t n) {
    size_t produced = 0;
    while (produced < n && !finished_) {
        const ToneSegment &segment = segments_[index_];
        const Step &step = steps_[index_];
        const size_t count = static_cast<size_t>(std::min<uint64_t>(n - produced, left_));
        for (size_t i = 0; i < count; ++i) {
            double value = 0.0;
            if (segment.freq1 != 0) {
                value += osc1_.im;
                osc1_ = {osc1_.re * step.cos1 - osc1_.im * step.sin1, osc1_.re * step.sin1 + osc1_.im * step.cos1};
            }
            if (segment.freq2 != 0) {
                value += osc2_.im;
                osc2_ = {osc2_.re * step.cos2 - osc2_.im * step.sin2, osc2_.re * step.sin2 + osc2_.im * step.cos2};
            }
            out[produced + i] = static_cast<int16_t>(std::lround(value * kAmplitude));
        }
        produced += count;
        left_ -= count;
        if (left_ == 0) {
            if (index_ + 1 < segments_.size())
                enter_segment(index_ + 1);
            else if (repeat_)
                enter_segment(0);
            else
                finished_ = true;
        }
    }
    return produced;
}

} // namespace tandem::media
