#pragma once
// A media frame as it moves inside a worker: audio (encoded or linear PCM16),
// a DTMF digit, or a T.38 packet. Fixed-size storage so frames are recycled
// from a per-worker pool instead of allocated per packet.
#include "media/formats.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tandem::media {

inline constexpr std::size_t kMaxFrameBytes = 1920; // 20 ms of slin48 mono
inline constexpr uint32_t kPtimeMs = 20;           // the media clock's tick

enum class FrameKind : uint8_t { audio, dtmf, t38 };

struct Frame {
    FrameKind kind = FrameKind::audio;
    FormatId format = kNoFormat;
    uint32_t samples = 0; // audio: samples per channel
    uint32_t len = 0;     // bytes used in data
    char digit = 0;       // dtmf
    uint32_t duration_ms = 0;
    // audio that never arrived (TANDEM_FRAME_LOST): `samples` long; data
    // holds the packet after it when there is one (for the codec's FEC)
    bool lost = false;
    alignas(8) uint8_t data[kMaxFrameBytes];

    int16_t *pcm() { return reinterpret_cast<int16_t *>(data); }
    const int16_t *pcm() const { return reinterpret_cast<const int16_t *>(data); }
    void set_dtmf(char d, uint32_t ms) {
        kind = FrameKind::dtmf;
        lost = false;
        format = kNoFormat;
        samples = len = 0;
        digit = d;
        duration_ms = ms;
    }
};

} // namespace tandem::media
