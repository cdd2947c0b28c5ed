#pragma once
// National call-progress tone plans: the tones a caller expects to hear
// (dial, ringback, busy, congestion, call waiting, special information),
// with the frequencies and cadences of ITU-T E.180 and its Supplement 2,
// for three plans:
//
//   eu  ITU-T / CEPT (ETSI TR 101 041) recommendation, used across Europe
//   ru  Russia (E.180 Supplement 2 entry; GOST-era exchanges)
//   us  North America (ANSI T1.401 "precise tone plan")
//
// The tones are rendered by media::ToneGenerator, not SpanDSP's tone_gen:
// SpanDSP generates at a fixed 8 kHz and a descriptor holds at most two
// on/off pairs of one frequency pair, while legs here run at 8, 16 or
// 48 kHz and the special information tone needs three frequencies in a
// row. ToneGenerator synthesises any cadence at the leg's own rate.
#include "media/tones.hpp"

#include <string>
#include <string_view>

namespace tandem::media {

// The tone `name` of `plan` as a ToneSpec. duration_ms == 0: the cadence
// repeats until stopped; otherwise exactly duration_ms of it (the cadence
// unrolled and cut), not repeating. False and *error for an unknown plan
// or tone name.
bool plan_tone(std::string_view plan, std::string_view name, uint32_t duration_ms, ToneSpec &out,
               std::string *error);

} // namespace tandem::media
