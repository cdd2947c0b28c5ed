// Tone specifications: written by dialplan authors, so any text.
#include "media/tones.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view spec(reinterpret_cast<const char *>(data), size);
    tandem::media::ToneSpec tone;
    std::string error;
    if (tandem::media::parse_tone(spec, tone, &error)) {
        tandem::media::ToneGenerator gen(tone, 8000);
        int16_t pcm[160];
        for (int i = 0; i < 50 && gen.generate(pcm, 160) > 0; ++i) {
        }
    }
    return 0;
}
