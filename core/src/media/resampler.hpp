#pragma once
// Streaming sample-rate conversion of mono PCM16 (speexdsp). One instance
// per stream: it keeps filter history between calls, so consecutive chunks
// join without clicks. Not thread-safe; owned by one leg on one worker.
// process() never allocates.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

struct SpeexResamplerState_;

namespace tandem::media {

class Resampler {
public:
    // nullptr and *error set when a rate is 0 or speexdsp refuses it.
    static std::unique_ptr<Resampler> create(uint32_t in_rate, uint32_t out_rate, std::string *error);
    ~Resampler();
    Resampler(const Resampler &) = delete;
    Resampler &operator=(const Resampler &) = delete;

    struct Result {
        size_t consumed; // input samples used
        size_t produced; // output samples written
    };
    // Converts as much of `in` as fits in `out`. The output lags the input
    // by input_latency() samples; with integer rate ratios every call that
    // consumes all its input produces exactly in_len * out_rate / in_rate.
    Result process(const int16_t *in, size_t in_len, int16_t *out, size_t out_cap);

    // For a finite stream played from its start: drops the leading silence
    // the filter delay would insert. Call before the first process(); then
    // feed input_latency() zero samples after the last real one to flush the
    // tail, and the total output is the whole input at the new rate.
    void skip_leading_delay();
    size_t input_latency() const;

    uint32_t in_rate() const { return in_rate_; }
    uint32_t out_rate() const { return out_rate_; }

private:
    Resampler(SpeexResamplerState_ *state, uint32_t in_rate, uint32_t out_rate);

    SpeexResamplerState_ *state_;
    uint32_t in_rate_;
    uint32_t out_rate_;
};

} // namespace tandem::media
