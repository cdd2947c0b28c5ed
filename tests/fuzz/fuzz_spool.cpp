// Spool segment reader: after a power loss or a disk fault, a segment's
// bytes can be anything. Open-time scanning and the shippers' reader must
// stop cleanly at the first bad frame, and every frame they accept must
// re-encode to the same bytes.
#include "records/frame.hpp"
#include "records/spool.hpp"

#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <unistd.h>

using namespace tandem::records;

namespace {
const std::string &scratch_dir() {
    static const std::string dir = [] {
        char tmpl[] = "/tmp/fuzz-spool-XXXXXX";
        const char *d = ::mkdtemp(tmpl);
        return std::string(d ? d : "/tmp");
    }();
    return dir;
}

void check_roundtrip(const SpoolRecord &r, std::string_view original) {
    std::string again;
    if (!encode_frame(r, again) || again != original)
        std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char *>(data), size);

    // Open-time scan, over the bytes as a segment image.
    std::string why;
    size_t pos = kSegmentMagic.size();
    size_t valid = scan_segment(bytes, [&](SpoolRecord &&r) {
        size_t frame_size = 0;
        SpoolRecord copy;
        if (decode_frame(bytes.substr(pos), copy, frame_size) != FrameStatus::ok)
            std::abort();
        check_roundtrip(r, bytes.substr(pos, frame_size));
        pos += frame_size;
    }, why);
    if (valid > size || (valid < size && why.empty()))
        std::abort();

    // The shippers' reader, over the same bytes as a file, up to the valid prefix.
    std::string path = segment_path(scratch_dir(), 1);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    bool written = ::write(fd, data, size) == static_cast<ssize_t>(size);
    ::close(fd);
    if (!written)
        return 0;
    SegmentReader reader(scratch_dir());
    std::vector<SpoolRecord> out;
    SpoolPos end = reader.read({1, 0}, {1, valid}, 1u << 20, out);
    if (end.offset > valid && valid >= kSegmentMagic.size())
        std::abort();
    return 0;
}
