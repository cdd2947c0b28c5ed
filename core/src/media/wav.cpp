#include "media/wav.hpp"

#include "media/g711.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

namespace tandem::media {
namespace {

constexpr uint16_t kTagPcm = 1;
constexpr uint16_t kTagAlaw = 6;
constexpr uint16_t kTagUlaw = 7;
constexpr uint16_t kTagExtensible = 0xFFFE;
constexpr unsigned kMaxChannels = 8;
constexpr uint32_t kMaxRate = 384000;
constexpr size_t kFmtBasicSize = 16;
constexpr size_t kFmtExtensibleSize = 40;
constexpr size_t kRiffHeaderSize = 12;
constexpr size_t kChunkHeaderSize = 8;

// An extensible sub-format GUID is the format tag followed by these bytes
// (KSDATAFORMAT_SUBTYPE_* = tag-0000-0010-8000-00AA00389B71).
constexpr uint8_t kSubformatGuidTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                            0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

uint16_t le16(const uint8_t *p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t *p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
           static_cast<uint32_t>(p[3]) << 24;
}
void put16(uint8_t *p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
}
void put32(uint8_t *p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v));
    put16(p + 2, static_cast<uint16_t>(v >> 16));
}

struct FileClose {
    void operator()(FILE *f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileClose>;

bool read_at(FILE *f, uint64_t offset, void *buffer, size_t n) {
    return fseeko(f, static_cast<off_t>(offset), SEEK_SET) == 0 && std::fread(buffer, 1, n, f) == n;
}

struct WavLayout {
    uint16_t tag = 0; // after unwrapping WAVE_FORMAT_EXTENSIBLE
    uint16_t channels = 0;
    uint32_t rate = 0;
    uint16_t bits = 0;
    uint64_t data_offset = 0;
    uint64_t data_bytes = 0;
    size_t frame_bytes() const { return static_cast<size_t>(channels) * (bits / 8); }
};

// `size` is the chunk's size capped at kFmtExtensibleSize: all we read.
bool parse_fmt(const uint8_t *fmt, size_t size, WavLayout &layout, std::string &error) {
    if (size < kFmtBasicSize) {
        error = "fmt chunk too short";
        return false;
    }
    layout.tag = le16(fmt);
    layout.channels = le16(fmt + 2);
    layout.rate = le32(fmt + 4);
    layout.bits = le16(fmt + 14);
    if (layout.tag == kTagExtensible) {
        if (size < kFmtExtensibleSize) {
            error = "WAVE_FORMAT_EXTENSIBLE fmt chunk too short";
            return false;
        }
        if (std::memcmp(fmt + 26, kSubformatGuidTail, sizeof kSubformatGuidTail) != 0) {
            error = "unsupported WAVE_FORMAT_EXTENSIBLE sub-format";
            return false;
        }
        layout.tag = le16(fmt + 24);
    }
    switch (layout.tag) {
    case kTagPcm:
        if (layout.bits != 16) {
            error = "unsupported PCM sample size " + std::to_string(layout.bits) + " bits";
            return false;
        }
        break;
    case kTagAlaw:
    case kTagUlaw:
        if (layout.bits != 8) {
            error = "unsupported G.711 sample size " + std::to_string(layout.bits) + " bits";
            return false;
        }
        break;
    default:
        error = "unsupported WAV format tag " + std::to_string(layout.tag);
        return false;
    }
    if (layout.channels == 0 || layout.channels > kMaxChannels) {
        error = "unsupported channel count " + std::to_string(layout.channels);
        return false;
    }
    if (layout.rate == 0 || layout.rate > kMaxRate) {
        error = "unsupported sample rate " + std::to_string(layout.rate);
        return false;
    }
    return true;
}

// Walks the chunk list. Every offset is checked against the real file size
// before use, so no chunk size, however large, makes us read past the end.
bool parse_layout(FILE *f, uint64_t file_size, WavLayout &layout, std::string &error) {
    uint8_t riff[kRiffHeaderSize];
    if (file_size < kRiffHeaderSize || !read_at(f, 0, riff, sizeof riff) || std::memcmp(riff, "RIFF", 4) != 0 ||
        std::memcmp(riff + 8, "WAVE", 4) != 0) {
        error = "not a RIFF/WAVE file";
        return false;
    }
    bool have_fmt = false;
    bool have_data = false;
    uint64_t pos = kRiffHeaderSize;
    while (pos + kChunkHeaderSize <= file_size && !(have_fmt && have_data)) {
        uint8_t header[kChunkHeaderSize];
        if (!read_at(f, pos, header, sizeof header)) {
            error = "read error in chunk header";
            return false;
        }
        const uint64_t size = le32(header + 4);
        const uint64_t body = pos + kChunkHeaderSize;
        if (std::memcmp(header, "fmt ", 4) == 0) {
            if (body + size > file_size) {
                error = "truncated fmt chunk";
                return false;
            }
            uint8_t fmt[kFmtExtensibleSize];
            const size_t n = static_cast<size_t>(std::min<uint64_t>(size, sizeof fmt));
            if (!read_at(f, body, fmt, n)) {
                error = "read error in fmt chunk";
                return false;
            }
            if (!parse_fmt(fmt, n, layout, error))
                return false;
            have_fmt = true;
        } else if (std::memcmp(header, "data", 4) == 0) {
            layout.data_offset = body;
            layout.data_bytes = std::min(size, file_size - body);
            have_data = true;
        }
        pos = body + size + (size & 1); // chunks are padded to even sizes
    }
    if (!have_fmt) {
        error = "no fmt chunk";
        return false;
    }
    if (!have_data) {
        error = "no data chunk";
        return false;
    }
    layout.data_bytes -= layout.data_bytes % layout.frame_bytes();
    if (layout.data_bytes == 0) {
        error = "empty data chunk";
        return false;
    }
    return true;
}

struct WavReader {
    FilePtr file;
    WavLayout layout;
    uint64_t remaining_bytes;
    uint8_t buffer[4096];

    int sample_at(const uint8_t *p) const {
        switch (layout.tag) {
        case kTagAlaw: return alaw_to_linear(*p);
        case kTagUlaw: return ulaw_to_linear(*p);
        default: return static_cast<int16_t>(le16(p));
        }
    }

    long read(int16_t *pcm, size_t max_samples) {
        const size_t frame_bytes = layout.frame_bytes();
        const size_t frames =
            static_cast<size_t>(std::min<uint64_t>({max_samples, remaining_bytes / frame_bytes, sizeof buffer / frame_bytes}));
        if (frames == 0)
            return 0;
        const size_t got = std::fread(buffer, frame_bytes, frames, file.get());
        if (std::ferror(file.get()))
            return -1;
        // A file shortened since open ends early rather than failing.
        remaining_bytes = got < frames ? 0 : remaining_bytes - got * frame_bytes;
        const size_t sample_bytes = layout.bits / 8;
        for (size_t i = 0; i < got; ++i) {
            const uint8_t *frame = buffer + i * frame_bytes;
            int sum = 0;
            for (unsigned c = 0; c < layout.channels; ++c)
                sum += sample_at(frame + c * sample_bytes);
            pcm[i] = static_cast<int16_t>(sum / static_cast<int>(layout.channels));
        }
        return static_cast<long>(got);
    }
};

void set_error(char *err, size_t err_len, const std::string &message) {
    if (err && err_len > 0)
        std::snprintf(err, err_len, "%s", message.c_str());
}

void *wav_open_read(void *, const char *path, uint32_t *sample_rate, char *err, size_t err_len) {
    if (!path || !sample_rate) {
        set_error(err, err_len, "no path given");
        return nullptr;
    }
    try {
        FilePtr file(std::fopen(path, "rb"));
        if (!file) {
            set_error(err, err_len, std::string("cannot open ") + path + ": " + std::strerror(errno));
            return nullptr;
        }
        struct stat st {};
        if (fstat(fileno(file.get()), &st) != 0 || !S_ISREG(st.st_mode)) {
            set_error(err, err_len, std::string(path) + ": not a regular file");
            return nullptr;
        }
        WavLayout layout;
        std::string error;
        if (!parse_layout(file.get(), static_cast<uint64_t>(st.st_size), layout, error) ||
            fseeko(file.get(), static_cast<off_t>(layout.data_offset), SEEK_SET) != 0) {
            set_error(err, err_len, error.empty() ? "seek error" : error);
            return nullptr;
        }
        auto *reader = new WavReader{std::move(file), layout, layout.data_bytes, {}};
        *sample_rate = layout.rate;
        return reader;
    } catch (const std::bad_alloc &) {
        set_error(err, err_len, "out of memory");
        return nullptr;
    }
}

long wav_read(void *, void *handle, int16_t *pcm, size_t max_samples) {
    return static_cast<WavReader *>(handle)->read(pcm, max_samples);
}

void wav_close(void *, void *handle) { delete static_cast<WavReader *>(handle); }

constexpr tandem_file_format kWavFormat = {
    sizeof(tandem_file_format), "wav", "wav,wave", nullptr, wav_open_read, wav_read, wav_close,
};

} // namespace

const tandem_file_format *wav_file_format() { return &kWavFormat; }

bool write_wav_pcm16(const std::string &path, uint32_t rate, const int16_t *pcm, size_t n) {
    constexpr uint64_t kMaxDataBytes = 0xFFFFFFFFu - 36; // RIFF size counts 36 header bytes
    const uint64_t data_bytes = static_cast<uint64_t>(n) * sizeof(int16_t);
    if (rate == 0 || rate > kMaxRate || data_bytes > kMaxDataBytes)
        return false;
    FilePtr file(std::fopen(path.c_str(), "wb"));
    if (!file)
        return false;

    uint8_t header[44];
    std::memcpy(header, "RIFF", 4);
    put32(header + 4, static_cast<uint32_t>(36 + data_bytes));
    std::memcpy(header + 8, "WAVEfmt ", 8);
    put32(header + 16, kFmtBasicSize);
    put16(header + 20, kTagPcm);
    put16(header + 22, 1);            // channels
    put32(header + 24, rate);
    put32(header + 28, rate * 2);     // byte rate
    put16(header + 32, 2);            // block align
    put16(header + 34, 16);           // bits per sample
    std::memcpy(header + 36, "data", 4);
    put32(header + 40, static_cast<uint32_t>(data_bytes));
    if (std::fwrite(header, 1, sizeof header, file.get()) != sizeof header)
        return false;

    uint8_t chunk[4096];
    for (size_t done = 0; done < n;) {
        const size_t count = std::min(n - done, sizeof chunk / 2);
        for (size_t i = 0; i < count; ++i)
            put16(chunk + 2 * i, static_cast<uint16_t>(pcm[done + i]));
        if (std::fwrite(chunk, 2, count, file.get()) != count)
            return false;
        done += count;
    }
    return std::fclose(file.release()) == 0;
}

} // namespace tandem::media
