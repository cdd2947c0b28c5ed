#pragma once
// In-band DTMF detection (SpanDSP's dtmf_rx: Goertzel filters with twist,
// level and duration checks, so speech rarely passes for a digit). Fed
// 8 kHz linear audio; reports each digit once, when it is recognised.
//
// Thread-safety: none; one detector per leg on its worker. feed() does not
// allocate.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

struct dtmf_rx_state_s;

namespace tandem::media {

class DtmfDetector {
public:
    // nullptr when SpanDSP cannot allocate its state.
    static std::unique_ptr<DtmfDetector> create();
    ~DtmfDetector();
    DtmfDetector(const DtmfDetector &) = delete;
    DtmfDetector &operator=(const DtmfDetector &) = delete;

    // Processes `n` samples at 8 kHz and appends the digits completed in
    // them to `digits`.
    void feed(const int16_t *pcm, size_t n, std::string &digits);

private:
    explicit DtmfDetector(dtmf_rx_state_s *state) : state_(state) {}
    dtmf_rx_state_s *state_;
};

} // namespace tandem::media
