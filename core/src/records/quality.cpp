#include "records/quality.hpp"

#include <algorithm>

namespace tandem::records {

std::optional<QualityEstimate> estimate_quality(const QualityInputs &in) {
    if (!in.jitter_ms && !in.loss_pct)
        return std::nullopt;
    double jitter = std::max(0.0, in.jitter_ms.value_or(0));
    double loss = std::clamp(in.loss_pct.value_or(0), 0.0, 100.0);
    double rtt = std::max(0.0, in.rtt_ms.value_or(0));
    // One-way delay as the ear perceives it: half the round trip, a jitter
    // buffer of twice the jitter, and ~10 ms of codec framing.
    double delay = rtt / 2 + 2 * jitter + 10;
    double r = delay < 160 ? 93.2 - delay / 40 : 93.2 - (delay - 120) / 10;
    r -= 2.5 * loss; // G.711 with packet loss concealment
    r = std::clamp(r, 0.0, 100.0);
    double mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
    return QualityEstimate{r, std::clamp(mos, 1.0, 4.5)};
}

} // namespace tandem::records
