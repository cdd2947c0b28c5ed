#pragma once
// The arithmetic of a mixing bridge: sums of 16-bit linear PCM kept in 32
// bits, and each listener's share taken out of the sum (mix-minus) and
// saturated back to 16 bits, so loud talkers clip instead of wrapping round.
#include <cstddef>
#include <cstdint>

namespace tandem::media {

// acc[i] += in[i]
void mix_add(int32_t *acc, const int16_t *in, size_t n);

// out[i] = acc[i] - minus[i] + plus[i], saturated to [-32768, 32767];
// `minus` (the listener's own voice) and `plus` (a whisper only this
// listener hears) may be null.
void mix_out(int16_t *out, const int32_t *acc, const int16_t *minus, const int16_t *plus, size_t n);

} // namespace tandem::media
