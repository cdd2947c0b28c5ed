#include "media/dtmf_detector.hpp"

#include <spandsp.h>

namespace tandem::media {

std::unique_ptr<DtmfDetector> DtmfDetector::create() {
    // No callback: digits are collected with dtmf_rx_get() after each feed,
    // so they reach the caller in order and on the caller's stack.
    dtmf_rx_state_t *state = dtmf_rx_init(nullptr, nullptr, nullptr);
    if (!state)
        return nullptr;
    return std::unique_ptr<DtmfDetector>(new DtmfDetector(state));
}

DtmfDetector::~DtmfDetector() { dtmf_rx_free(state_); }

void DtmfDetector::feed(const int16_t *pcm, size_t n, std::string &digits) {
    dtmf_rx(state_, pcm, static_cast<int>(n));
    char found[16];
    while (size_t got = dtmf_rx_get(state_, found, static_cast<int>(sizeof found)))
        digits.append(found, got);
}

} // namespace tandem::media
