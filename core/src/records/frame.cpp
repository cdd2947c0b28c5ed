#include "records/frame.hpp"

#include "records/crc32c.hpp"

namespace tandem::records {

namespace {
void put_u32(std::string &out, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint32_t get_u32(std::string_view s) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | static_cast<uint8_t>(s[static_cast<size_t>(i)]);
    return v;
}
bool has_newline(const std::string &s) { return s.find('\n') != std::string::npos; }

// Splits off the text up to the next '\n'; false when there is none.
bool take_line(std::string_view &rest, std::string &out) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos)
        return false;
    out.assign(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
    return true;
}
} // namespace

bool encode_frame(const SpoolRecord &r, std::string &out) {
    if (r.kind.empty() || has_newline(r.kind) || has_newline(r.id) || has_newline(r.call_id) ||
        has_newline(r.json))
        return false;
    size_t len = r.kind.size() + r.id.size() + r.call_id.size() + r.json.size() + 3;
    if (len > kMaxPayload)
        return false;
    std::string payload;
    payload.reserve(len);
    payload.append(r.kind).push_back('\n');
    payload.append(r.id).push_back('\n');
    payload.append(r.call_id).push_back('\n');
    payload.append(r.json);
    put_u32(out, static_cast<uint32_t>(payload.size()));
    put_u32(out, crc32c(payload.data(), payload.size()));
    out.append(payload);
    return true;
}

FrameStatus decode_frame(std::string_view data, SpoolRecord &r, size_t &size) {
    if (data.size() < kFrameHeader)
        return FrameStatus::torn;
    uint32_t len = get_u32(data);
    uint32_t crc = get_u32(data.substr(4));
    if (len < 4 || len > kMaxPayload)
        return FrameStatus::corrupt;
    if (data.size() - kFrameHeader < len)
        return FrameStatus::torn;
    std::string_view payload = data.substr(kFrameHeader, len);
    if (crc32c(payload.data(), payload.size()) != crc)
        return FrameStatus::corrupt;
    std::string_view rest = payload;
    if (!take_line(rest, r.kind) || !take_line(rest, r.id) || !take_line(rest, r.call_id) || r.kind.empty())
        return FrameStatus::corrupt;
    r.json.assign(rest);
    size = kFrameHeader + len;
    return FrameStatus::ok;
}

size_t scan_segment(std::string_view data, const std::function<void(SpoolRecord &&)> &on_record, std::string &why) {
    if (data.substr(0, kSegmentMagic.size()) != kSegmentMagic) {
        why = "bad header";
        return 0;
    }
    size_t pos = kSegmentMagic.size();
    while (pos < data.size()) {
        SpoolRecord r;
        size_t size = 0;
        FrameStatus s = decode_frame(data.substr(pos), r, size);
        if (s != FrameStatus::ok) {
            why = s == FrameStatus::torn ? "torn record" : "checksum or length mismatch";
            break;
        }
        on_record(std::move(r));
        pos += size;
    }
    return pos;
}

} // namespace tandem::records
