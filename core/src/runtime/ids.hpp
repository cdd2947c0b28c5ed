#pragma once
// Identifiers for calls and legs: unique across restarts of one instance
// (CDRs use them as keys), short enough to type into `tandem ctl hangup`.
#include <cstdint>
#include <string>

namespace tandem::ids {

// "<boot-seconds-hex>-<counter>", e.g. "6741a2c0-17": at most 16 + 1 + 20
// characters, so TANDEM_CALL_ID_SIZE (40, module.h) bytes hold one.
std::string next_call_id();
// "<call_id>.<n>": the legs of a call share its prefix.
std::string next_leg_id(const std::string &call_id, unsigned n);
// Microseconds since the epoch, UTC.
uint64_t now_us();

} // namespace tandem::ids
