#pragma once
// Call quality estimate from what RTCP reports: a simplified ITU-T G.107
// E-model (docs/records.md, "Media quality"), good enough to rank calls, not
// a substitute for a PESQ/POLQA measurement.
#include <optional>

namespace tandem::records {

struct QualityInputs {
    std::optional<double> jitter_ms, loss_pct, rtt_ms;
};

struct QualityEstimate {
    double r_factor = 0;
    double mos = 0;
};

// Nullopt when neither jitter nor loss is known.
std::optional<QualityEstimate> estimate_quality(const QualityInputs &in);

} // namespace tandem::records
