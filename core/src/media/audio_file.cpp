#include "media/audio_file.hpp"

#include <sndfile.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace tandem::media {
namespace {

constexpr int kMaxChannels = 8;
constexpr int kMaxRate = 384000;
constexpr size_t kChunkFrames = 1024;

// libsndfile keeps the reason a sf_open() failed in one process-wide slot
// (read back with sf_strerror(nullptr)); opens are serialised so that two
// workers decoding at once each get their own reason.
std::mutex g_open_mutex;

void set_error(char *err, size_t err_len, const std::string &message) {
    if (err && err_len > 0)
        std::snprintf(err, err_len, "%s", message.c_str());
}

struct Reader {
    SNDFILE *file;
    int channels;
    std::vector<short> interleaved; // one chunk of frames

    long read(int16_t *pcm, size_t max_samples) {
        const size_t want = std::min(max_samples, kChunkFrames);
        if (want == 0)
            return 0;
        if (channels == 1) {
            const sf_count_t got = sf_readf_short(file, pcm, static_cast<sf_count_t>(want));
            return sf_error(file) != SF_ERR_NO_ERROR ? -1 : static_cast<long>(got);
        }
        const sf_count_t got = sf_readf_short(file, interleaved.data(), static_cast<sf_count_t>(want));
        if (sf_error(file) != SF_ERR_NO_ERROR)
            return -1;
        for (sf_count_t i = 0; i < got; ++i) {
            int sum = 0;
            for (int c = 0; c < channels; ++c)
                sum += interleaved[static_cast<size_t>(i * channels + c)];
            pcm[i] = static_cast<int16_t>(sum / channels);
        }
        return static_cast<long>(got);
    }
};

void *open_read(void *, const char *path, uint32_t *sample_rate, char *err, size_t err_len) {
    if (!path || !sample_rate) {
        set_error(err, err_len, "no path given");
        return nullptr;
    }
    struct stat st {};
    if (::stat(path, &st) != 0) {
        set_error(err, err_len, std::string("cannot open ") + path + ": " + std::strerror(errno));
        return nullptr;
    }
    if (!S_ISREG(st.st_mode)) {
        set_error(err, err_len, std::string(path) + ": not a regular file");
        return nullptr;
    }
    SF_INFO info{};
    SNDFILE *file = nullptr;
    {
        std::lock_guard lock(g_open_mutex);
        file = sf_open(path, SFM_READ, &info);
        if (!file) {
            set_error(err, err_len, sf_strerror(nullptr));
            return nullptr;
        }
    }
    std::string problem;
    if (info.channels < 1 || info.channels > kMaxChannels)
        problem = "unsupported channel count " + std::to_string(info.channels);
    else if (info.samplerate < 1 || info.samplerate > kMaxRate)
        problem = "unsupported sample rate " + std::to_string(info.samplerate);
    else if (info.frames == 0)
        problem = "no audio in the file";
    if (!problem.empty()) {
        sf_close(file);
        set_error(err, err_len, problem);
        return nullptr;
    }
    try {
        auto *reader = new Reader{file, info.channels, {}};
        if (info.channels > 1)
            reader->interleaved.resize(kChunkFrames * static_cast<size_t>(info.channels));
        *sample_rate = static_cast<uint32_t>(info.samplerate);
        return reader;
    } catch (const std::bad_alloc &) {
        sf_close(file);
        set_error(err, err_len, "out of memory");
        return nullptr;
    }
}

long read(void *, void *handle, int16_t *pcm, size_t max_samples) {
    return static_cast<Reader *>(handle)->read(pcm, max_samples);
}

void close(void *, void *handle) {
    auto *reader = static_cast<Reader *>(handle);
    sf_close(reader->file);
    delete reader;
}

constexpr tandem_file_format kAudioFormat = {
    sizeof(tandem_file_format), "audio", "wav,wave,ogg,opus,oga,flac", nullptr, open_read, read, close,
};

} // namespace

const tandem_file_format *audio_file_format() { return &kAudioFormat; }

} // namespace tandem::media
