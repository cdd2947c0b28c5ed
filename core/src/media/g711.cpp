#include "media/g711.hpp"

#include <array>
#include <bit>
#include <climits>

namespace tandem::media {
namespace {

// µ-law adds a bias of 33 (in 14-bit units) so that every segment starts at
// a power of two; 0x1FFF is then the largest biased magnitude.
constexpr int kUlawBias = 33;
constexpr int kUlawMaxBiased = 0x1FFF;
// A-law inverts every other bit of the code word (G.711 clause 2.3).
constexpr uint8_t kAlawToggle = 0x55;

// Sign and magnitude of a sample, taking the one's complement of negative
// values as G.191 does: -1 has magnitude 0, and -32768 fits in 15 bits.
constexpr int one_complement_magnitude(int16_t pcm) { return pcm < 0 ? ~pcm : pcm; }

constexpr int16_t ulaw_expand(uint8_t code) {
    const int inverted = ~code & 0xFF;
    const int segment = (inverted >> 4) & 0x07;
    const int mantissa = inverted & 0x0F;
    // The biased value is (1 mantissa 1) at 16-bit scale, shifted by the
    // segment: the middle of the quantisation interval.
    const int magnitude = (((mantissa << 3) + (kUlawBias << 2)) << segment) - (kUlawBias << 2);
    return static_cast<int16_t>((code & 0x80) ? magnitude : -magnitude);
}

constexpr int16_t alaw_expand(uint8_t code) {
    const int value = code ^ kAlawToggle;
    const int segment = (value >> 4) & 0x07;
    const int mantissa = value & 0x0F;
    // Segments above 0 have an implicit leading one; +8 is half a step.
    int magnitude = (mantissa << 4) + 8;
    if (segment > 0)
        magnitude = (magnitude + 0x100) << (segment - 1);
    return static_cast<int16_t>((code & 0x80) ? magnitude : -magnitude);
}

template <int16_t (*Expand)(uint8_t)> constexpr std::array<int16_t, 256> make_decode_table() {
    std::array<int16_t, 256> table{};
    for (int code = 0; code < 256; ++code)
        table[code] = Expand(static_cast<uint8_t>(code));
    return table;
}

constexpr auto kUlawTable = make_decode_table<ulaw_expand>();
constexpr auto kAlawTable = make_decode_table<alaw_expand>();

// Codec callbacks: G.711 is one byte per sample and keeps no state.

int ulaw_codec_encode(void *, void *, const int16_t *pcm, size_t samples, uint8_t *out, size_t out_cap) {
    if (samples > out_cap || samples > INT_MAX)
        return -1;
    ulaw_encode(pcm, out, samples);
    return static_cast<int>(samples);
}

int ulaw_codec_decode(void *, void *, const uint8_t *in, size_t len, int16_t *pcm, size_t pcm_cap) {
    if (len > pcm_cap || len > INT_MAX)
        return -1;
    ulaw_decode(in, pcm, len);
    return static_cast<int>(len);
}

int alaw_codec_encode(void *, void *, const int16_t *pcm, size_t samples, uint8_t *out, size_t out_cap) {
    if (samples > out_cap || samples > INT_MAX)
        return -1;
    alaw_encode(pcm, out, samples);
    return static_cast<int>(samples);
}

int alaw_codec_decode(void *, void *, const uint8_t *in, size_t len, int16_t *pcm, size_t pcm_cap) {
    if (len > pcm_cap || len > INT_MAX)
        return -1;
    alaw_decode(in, pcm, len);
    return static_cast<int>(len);
}

constexpr tandem_codec kUlawCodec = {
    sizeof(tandem_codec), "PCMU", 8000, 1, nullptr, nullptr, nullptr, ulaw_codec_encode, ulaw_codec_decode,
    "PCMU", 8000, 1, nullptr, nullptr, nullptr,
};

constexpr tandem_codec kAlawCodec = {
    sizeof(tandem_codec), "PCMA", 8000, 1, nullptr, nullptr, nullptr, alaw_codec_encode, alaw_codec_decode,
    "PCMA", 8000, 1, nullptr, nullptr, nullptr,
};

} // namespace

uint8_t linear_to_ulaw(int16_t pcm) {
    int magnitude = (one_complement_magnitude(pcm) >> 2) + kUlawBias;
    if (magnitude > kUlawMaxBiased)
        magnitude = kUlawMaxBiased;
    // Segment s holds biased magnitudes in [64 << s, 128 << s).
    const int segment = static_cast<int>(std::bit_width(static_cast<unsigned>(magnitude >> 6)));
    const int mantissa = (magnitude >> (segment + 1)) & 0x0F;
    const int sign = pcm < 0 ? 0x80 : 0x00;
    // µ-law transmits every bit inverted.
    return static_cast<uint8_t>(~(sign | (segment << 4) | mantissa));
}

int16_t ulaw_to_linear(uint8_t code) { return kUlawTable[code]; }

uint8_t linear_to_alaw(int16_t pcm) {
    const int magnitude = one_complement_magnitude(pcm) >> 4; // 0..2047
    int code = magnitude;
    if (magnitude >= 16) {
        // Segment s >= 1 holds magnitudes in [8 << s, 16 << s).
        const int segment = static_cast<int>(std::bit_width(static_cast<unsigned>(magnitude))) - 4;
        code = (segment << 4) | ((magnitude >> (segment - 1)) & 0x0F);
    }
    if (pcm >= 0)
        code |= 0x80;
    return static_cast<uint8_t>(code ^ kAlawToggle);
}

int16_t alaw_to_linear(uint8_t code) { return kAlawTable[code]; }

void ulaw_encode(const int16_t *in, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; ++i)
        out[i] = linear_to_ulaw(in[i]);
}

void ulaw_decode(const uint8_t *in, int16_t *out, size_t n) {
    for (size_t i = 0; i < n; ++i)
        out[i] = kUlawTable[in[i]];
}

void alaw_encode(const int16_t *in, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; ++i)
        out[i] = linear_to_alaw(in[i]);
}

void alaw_decode(const uint8_t *in, int16_t *out, size_t n) {
    for (size_t i = 0; i < n; ++i)
        out[i] = kAlawTable[in[i]];
}

const tandem_codec *g711_ulaw_codec() { return &kUlawCodec; }

const tandem_codec *g711_alaw_codec() { return &kAlawCodec; }

} // namespace tandem::media
