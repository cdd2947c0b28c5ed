#pragma once
// Tones described by a string, so a dialplan can play them without a file:
//
//   tone:SEG[,SEG...][;repeat]     SEG = F1[+F2]/MS, or 0/MS for silence
//   tone:350+440/1000,0/500;repeat
//   tone:ringback | tone:busy | tone:congestion | tone:dial
//
// Frequencies are whole Hz in 1..kMaxToneHz, durations whole milliseconds
// (> 0). The named tones are the ITU-T E.180 / European defaults (425 Hz;
// ringback 1 s on, 4 s off; busy 0.5/0.5; congestion 0.25/0.25; dial
// continuous) and always repeat.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::media {

// Below the Nyquist frequency of the slowest leg (8 kHz), so every tone
// can be played at every rate without aliasing.
inline constexpr uint32_t kMaxToneHz = 3999;

struct ToneSegment {
    uint32_t freq1 = 0; // Hz; 0 = not sounding
    uint32_t freq2 = 0;
    uint32_t duration_ms = 0;
};

struct ToneSpec {
    std::vector<ToneSegment> segments;
    bool repeat = false; // loop forever
};

// True when `spec` names a tone ("tone:...") rather than a file.
bool is_tone_spec(std::string_view spec);

// Parses a whole "tone:..." string. On failure returns false, sets *error
// and leaves `out` unspecified.
bool parse_tone(std::string_view spec, ToneSpec &out, std::string *error);

// Renders a ToneSpec as PCM16 mono, each frequency at about -13 dBm0.
// Oscillators keep their phase across generate() calls and segments, so
// frames join without clicks. Owned by one leg: not thread-safe. Only the
// constructor allocates.
class ToneGenerator {
public:
    // `rate` > 0; with rate 0 the generator is finished from the start.
    ToneGenerator(const ToneSpec &spec, uint32_t rate);

    // Writes up to n samples; fewer (eventually 0) only when a non-repeating
    // spec has ended.
    size_t generate(int16_t *out, size_t n);
    bool finished() const { return finished_; }

    // Continues the same tone at another rate from the same point in time.
    void set_rate(uint32_t rate);
    uint32_t rate() const { return rate_; }

private:
    // Per-segment values that depend on the rate.
    struct Step {
        uint64_t samples;
        double cos1, sin1, cos2, sin2; // rotation per sample of each oscillator
    };
    // A unit phasor; its imaginary part is the oscillator's output. In
    // double precision its length drifts by about 5e-8 per 1e9 rotations
    // (six hours at 48 kHz), so it is never renormalised.
    struct Phasor {
        double re = 1.0;
        double im = 0.0;
    };

    void compute_steps();
    void enter_segment(size_t index);

    std::vector<ToneSegment> segments_;
    std::vector<Step> steps_;
    bool repeat_;
    uint32_t rate_;
    size_t index_ = 0;
    uint64_t left_ = 0; // samples left in the current segment
    bool finished_ = false;
    Phasor osc1_;
    Phasor osc2_;
};

} // namespace tandem::media
