#pragma once
// The built-in "wav" file format (extensions "wav,wave"): reads RIFF/WAVE
// files holding 16-bit PCM, A-law or µ-law, plain or wrapped in
// WAVE_FORMAT_EXTENSIBLE, at any sample rate and with up to 8 channels,
// which are averaged into mono. Malformed or truncated files fail cleanly
// with a reason; a data chunk claiming more bytes than the file holds is
// cut to what is there (recorders that die mid-write leave such files).
//
// The descriptor is static and lives for the whole process; its callbacks
// may run on any thread, one handle per thread at a time.
#include "tandem/module.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace tandem::media {

const tandem_file_format *wav_file_format();

// Writes a mono 16-bit PCM WAV file, replacing `path`. False on any I/O
// error or when the audio is too long for a RIFF file (4 GiB).
bool write_wav_pcm16(const std::string &path, uint32_t rate, const int16_t *pcm, size_t n);

} // namespace tandem::media
