/* G.711 mu-law and A-law (ITU-T G.711), for concealment: a lost frame is
 * made from the previous one, attenuated, which needs the linear samples. */
#include <tandem/rtp.h>

int16_t tandem_ulaw_decode(uint8_t v) {
    v = (uint8_t)~v;
    int t = ((v & 0x0f) << 3) + 0x84;
    t <<= (v & 0x70) >> 4;
    return (int16_t)((v & 0x80) ? (0x84 - t) : (t - 0x84));
}

uint8_t tandem_ulaw_encode(int16_t pcm) {
    int v = pcm;
    int sign = 0;
    if (v < 0) {
        v = -v;
        sign = 0x80;
    }
    if (v > 32635) v = 32635;
    v += 0x84;
    int exp = 7;
    for (int mask = 0x4000; exp > 0 && !(v & mask); mask >>= 1) exp--;
    int mant = (v >> (exp + 3)) & 0x0f;
    return (uint8_t)~(sign | (exp << 4) | mant);
}

int16_t tandem_alaw_decode(uint8_t v) {
    v ^= 0x55;
    int t = (v & 0x0f) << 4;
    int seg = (v & 0x70) >> 4;
    if (seg == 0) t += 8;
    else t = (t + 0x108) << (seg - 1);
    return (int16_t)((v & 0x80) ? t : -t);
}

uint8_t tandem_alaw_encode(int16_t pcm) {
    int v = pcm;
    int sign = 0x80;
    if (v < 0) {
        v = -v - 1;
        sign = 0;
    }
    if (v > 32767) v = 32767;
    int seg = 0;
    for (int limit = 0xff; seg < 8 && v > limit; limit = (limit << 1) | 1) seg++;
    uint8_t out;
    if (seg >= 8) out = 0x7f;
    else if (seg < 2) out = (uint8_t)((seg << 4) | ((v >> 4) & 0x0f));
    else out = (uint8_t)((seg << 4) | ((v >> (seg + 3)) & 0x0f));
    return (uint8_t)((out | sign) ^ 0x55);
}
