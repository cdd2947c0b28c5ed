#include "media/mix.hpp"

#include <algorithm>

namespace tandem::media {

void mix_add(int32_t *acc, const int16_t *in, size_t n) {
    for (size_t i = 0; i < n; ++i)
        acc[i] += in[i];
}

void mix_out(int16_t *out, const int32_t *acc, const int16_t *minus, const int16_t *plus, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        int32_t v = acc[i] - (minus ? minus[i] : 0) + (plus ? plus[i] : 0);
        out[i] = static_cast<int16_t>(std::clamp<int32_t>(v, INT16_MIN, INT16_MAX));
    }
}

} // namespace tandem::media
