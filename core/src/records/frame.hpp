#pragma once
// The spool's on-disk format (docs/records.md, "Spool files"):
//   segment = 8-byte magic "TNDSPL01", then frames back to back;
//   frame   = u32 payload length (LE) | u32 CRC-32C of the payload (LE) | payload;
//   payload = kind '\n' record id '\n' call id '\n' JSON (one line).
// Decoding never trusts the input: a short tail is "torn", a bad length or
// checksum is "corrupt", and neither reads past the buffer.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tandem::records {

inline constexpr std::string_view kSegmentMagic = "TNDSPL01";
inline constexpr size_t kFrameHeader = 8;
inline constexpr uint32_t kMaxPayload = 16u << 20;

struct SpoolRecord {
    std::string kind;    // "cdr", "queue_log", "recording"; "call_start" is journal only
    std::string id;      // unique record id: the sinks' idempotency key
    std::string call_id; // the call it belongs to ("" when none)
    std::string json;    // one JSON object, no raw newline
};

// Appends the frame for `r` to `out`. False when a field cannot be framed
// (a newline in kind/id/call_id, or too large).
bool encode_frame(const SpoolRecord &r, std::string &out);

enum class FrameStatus { ok, torn, corrupt };

// Decodes the frame at the start of `data`. On ok, fills `r` and `size` (the
// bytes the frame takes). torn: the buffer ends inside the frame.
FrameStatus decode_frame(std::string_view data, SpoolRecord &r, size_t &size);

// Walks a whole segment image (magic, then frames). Calls on_record for each
// valid frame and returns the length of the valid prefix; when that is short
// of data.size(), `why` says what stopped it (bad magic, torn, corrupt).
size_t scan_segment(std::string_view data, const std::function<void(SpoolRecord &&)> &on_record, std::string &why);

} // namespace tandem::records
