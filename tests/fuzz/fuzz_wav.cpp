// Audio file reader (libsndfile behind our wrapper): prompts come from users' uploads.
#include "media/audio_file.hpp"

#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz.wav", 0);
    if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size)) {
        if (fd >= 0)
            ::close(fd);
        return 0;
    }
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    const tandem_file_format *wav = tandem::media::audio_file_format();
    uint32_t rate = 0;
    char err[256];
    if (void *h = wav->open_read(wav->user, path.c_str(), &rate, err, sizeof err)) {
        int16_t pcm[4096];
        while (wav->read(wav->user, h, pcm, 4096) > 0) {
        }
        wav->close(wav->user, h);
    }
    ::close(fd);
    return 0;
}
