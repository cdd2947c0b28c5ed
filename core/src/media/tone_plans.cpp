#include "media/tone_plans.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>

namespace tandem::media {
namespace {

struct PlanTone {
    const char *plan;
    const char *name;
    std::initializer_list<ToneSegment> cadence; // {freq1, freq2, ms}; 0 Hz = silence
};

// One period of each cadence. A continuous tone is one long segment.
const PlanTone kTones[] = {
    {"eu", "dial", {{425, 0, 1000}}},
    {"eu", "ringback", {{425, 0, 1000}, {0, 0, 4000}}},
    {"eu", "busy", {{425, 0, 500}, {0, 0, 500}}},
    {"eu", "congestion", {{425, 0, 250}, {0, 0, 250}}},
    {"eu", "callwaiting", {{425, 0, 200}, {0, 0, 200}, {425, 0, 200}, {0, 0, 4400}}},
    {"eu", "info", {{950, 0, 330}, {1400, 0, 330}, {1800, 0, 330}, {0, 0, 1000}}},

    {"ru", "dial", {{425, 0, 1000}}},
    {"ru", "ringback", {{425, 0, 800}, {0, 0, 3200}}},
    {"ru", "busy", {{425, 0, 400}, {0, 0, 400}}},
    {"ru", "congestion", {{425, 0, 175}, {0, 0, 175}}},
    {"ru", "callwaiting", {{425, 0, 200}, {0, 0, 5000}}},
    {"ru", "info", {{950, 0, 330}, {1400, 0, 330}, {1800, 0, 330}, {0, 0, 1000}}},

    {"us", "dial", {{350, 440, 1000}}},
    {"us", "ringback", {{440, 480, 2000}, {0, 0, 4000}}},
    {"us", "busy", {{480, 620, 500}, {0, 0, 500}}},
    {"us", "congestion", {{480, 620, 250}, {0, 0, 250}}},
    {"us", "callwaiting", {{440, 0, 300}, {0, 0, 9700}}},
    {"us", "info", {{914, 0, 274}, {1371, 0, 274}, {1777, 0, 380}, {0, 0, 1000}}},
};

} // namespace

bool plan_tone(std::string_view plan, std::string_view name, uint32_t duration_ms, ToneSpec &out,
               std::string *error) {
    const PlanTone *found = nullptr;
    bool plan_known = false;
    for (const PlanTone &tone : kTones) {
        plan_known = plan_known || plan == tone.plan;
        if (plan == tone.plan && name == tone.name)
            found = &tone;
    }
    if (!found) {
        if (error)
            *error = plan_known ? "unknown tone '" + std::string(name) +
                                      "' (dial, ringback, busy, congestion, callwaiting, info)"
                                : "unknown tone plan '" + std::string(plan) + "' (eu, ru, us)";
        return false;
    }
    out.segments.clear();
    if (duration_ms == 0) {
        out.segments.assign(found->cadence.begin(), found->cadence.end());
        out.repeat = true;
        return true;
    }
    out.repeat = false;
    for (uint32_t left = duration_ms; left > 0;)
        for (ToneSegment segment : found->cadence) {
            if (left == 0)
                break;
            segment.duration_ms = std::min(segment.duration_ms, left);
            left -= segment.duration_ms;
            out.segments.push_back(segment);
        }
    return true;
}

} // namespace tandem::media
