#pragma once
// Audio format names interned to small ids, so frames carry an integer.
// Ids are never reused: a format registered by a module that later unloads
// keeps its id. Reads are lock-free; interning a new name takes a lock.
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::media {

using FormatId = uint16_t;
inline constexpr FormatId kNoFormat = 0xffff;
inline constexpr FormatId kMaxFormats = 256;

// The three linear formats are interned first and have fixed ids.
inline constexpr FormatId kSlin8 = 0;
inline constexpr FormatId kSlin16 = 1;
inline constexpr FormatId kSlin48 = 2;

// Returns the id for `name`, interning it if new; kNoFormat if the table is full.
FormatId intern_format(std::string_view name);
// Returns kNoFormat if `name` was never interned.
FormatId find_format(std::string_view name);
std::string format_name(FormatId id);
// The same name as a C string that stays valid for the life of the process
// (for frames handed to modules without a copy); "" for kNoFormat.
const char *format_cname(FormatId id);
// Sample rate of a linear "slinN" format (N in kHz: 8, 16, 48); 0 if not linear.
uint32_t linear_rate(FormatId id);
FormatId linear_format_for_rate(uint32_t rate); // kNoFormat if unsupported

} // namespace tandem::media
