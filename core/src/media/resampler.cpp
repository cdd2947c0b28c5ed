#include "media/resampler.hpp"

#include <speex/speex_resampler.h>

#include <algorithm>
#include <limits>

namespace tandem::media {
namespace {

// speexdsp's "VoIP" quality: its filter is short (3 ms of delay at 8 kHz)
// and cheap enough for thousands of legs, and its stop-band attenuation is
// far below what G.711 quantisation noise would mask anyway.
constexpr int kQuality = SPEEX_RESAMPLER_QUALITY_VOIP;

constexpr size_t kMaxChunk = std::numeric_limits<spx_uint32_t>::max();

} // namespace

std::unique_ptr<Resampler> Resampler::create(uint32_t in_rate, uint32_t out_rate, std::string *error) {
    if (in_rate == 0 || out_rate == 0) {
        if (error)
            *error = "resampler: sample rate must be positive";
        return nullptr;
    }
    int status = RESAMPLER_ERR_SUCCESS;
    SpeexResamplerState *state = speex_resampler_init(1, in_rate, out_rate, kQuality, &status);
    if (!state) {
        if (error)
            *error = std::string("resampler: ") + speex_resampler_strerror(status);
        return nullptr;
    }
    return std::unique_ptr<Resampler>(new Resampler(state, in_rate, out_rate));
}

Resampler::Resampler(SpeexResamplerState_ *state, uint32_t in_rate, uint32_t out_rate)
    : state_(state), in_rate_(in_rate), out_rate_(out_rate) {}

Resampler::~Resampler() { speex_resampler_destroy(state_); }

Resampler::Result Resampler::process(const int16_t *in, size_t in_len, int16_t *out, size_t out_cap) {
    auto consumed = static_cast<spx_uint32_t>(std::min(in_len, kMaxChunk));
    auto produced = static_cast<spx_uint32_t>(std::min(out_cap, kMaxChunk));
    speex_resampler_process_int(state_, 0, in, &consumed, out, &produced);
    return {consumed, produced};
}

void Resampler::skip_leading_delay() { speex_resampler_skip_zeros(state_); }

size_t Resampler::input_latency() const {
    return static_cast<size_t>(speex_resampler_get_input_latency(state_));
}

} // namespace tandem::media
