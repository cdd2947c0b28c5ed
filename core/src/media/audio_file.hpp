#pragma once
// The built-in "audio" file format, read through libsndfile: WAV (16/24/32-bit
// PCM, µ-law, A-law, WAVE_FORMAT_EXTENSIBLE), Ogg/Opus, Ogg/Vorbis and
// FLAC, at any sample rate libsndfile accepts, with up to 8 channels, which
// are averaged into mono. The engine resamples to the leg's rate when the
// prompt plays. Malformed or truncated files fail cleanly with libsndfile's
// reason.
//
// The descriptor is static and lives for the whole process; its callbacks
// may run on any thread, one handle per thread at a time.
#include "tandem/module.h"

namespace tandem::media {

// Extensions: "wav,wave,ogg,opus,oga,flac".
const tandem_file_format *audio_file_format();

} // namespace tandem::media
