#pragma once
// ITU-T G.711 µ-law and A-law, bit-exact with the ITU-T G.191 reference
// implementation: linear samples are 16-bit, of which µ-law uses the top 14
// bits and A-law the top 13; negative samples are quantised through their
// one's complement, so the quantiser is symmetric and decode->encode is the
// identity on every code word (except µ-law 0x7F, negative zero, which
// decodes to 0 and so encodes back as 0xFF).
//
// All functions are pure and thread-safe.
#include "tandem/module.h"

#include <cstddef>
#include <cstdint>

namespace tandem::media {

uint8_t linear_to_ulaw(int16_t pcm);
int16_t ulaw_to_linear(uint8_t code);
uint8_t linear_to_alaw(int16_t pcm);
int16_t alaw_to_linear(uint8_t code);

// `in` and `out` may not overlap; each converts n samples or n bytes.
void ulaw_encode(const int16_t *in, uint8_t *out, size_t n);
void ulaw_decode(const uint8_t *in, int16_t *out, size_t n);
void alaw_encode(const int16_t *in, uint8_t *out, size_t n);
void alaw_decode(const uint8_t *in, int16_t *out, size_t n);

// Static, stateless codec descriptors ("PCMU", "PCMA"; 8000 Hz, cost 1) that
// the engine registers as built-in codecs. They live for the whole process.
const tandem_codec *g711_ulaw_codec();
const tandem_codec *g711_alaw_codec();

} // namespace tandem::media
