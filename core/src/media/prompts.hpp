#pragma once
// Prompts: audio files decoded once into memory and shared by every call
// that plays them.
//
// Thread-safety: PromptCache may be used from any thread; its lock is held
// only to look up or insert an entry, never while a file is decoded. A
// Prompt is immutable once published, so players on any number of workers
// read it through their shared_ptr without locking. Changing or clearing the
// cache never disturbs playback in progress: a prompt lives while anyone
// holds it.
//
// Ownership: the tandem_file_format descriptors are borrowed for the
// duration of each call.
#include "tandem/module.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tandem::media {

struct Prompt {
    uint32_t rate = 0;
    std::vector<int16_t> pcm; // mono
    std::string path;
};

using FileFormatList = std::vector<const tandem_file_format *>;

// The first format listing the path's extension (case-insensitive); nullptr
// when the path has no extension or no format claims it.
const tandem_file_format *format_for_path(const std::string &path, const FileFormatList &formats);

class PromptCache {
public:
    // The prompt at `path` (the cache key, used as given), decoded by the
    // format its extension selects. Decoded again when the file's mtime or
    // size changed since it was cached. nullptr and *error on failure.
    std::shared_ptr<const Prompt> load(const std::string &path, const FileFormatList &formats, std::string *error);
    // The cached prompt at `path` if it is still the file's current
    // version, without decoding anything; nullptr otherwise. Cheap enough
    // for a worker (a stat and a lookup).
    std::shared_ptr<const Prompt> find(const std::string &path) const;
    void clear();
    size_t size() const;

private:
    struct Stamp {
        std::filesystem::file_time_type mtime;
        uintmax_t size;
        bool operator==(const Stamp &) const = default;
    };
    struct Entry {
        std::shared_ptr<const Prompt> prompt;
        Stamp stamp;
    };

    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

// Where prompt `name` lives: `name` itself when absolute, else relative to
// sounds_dir. A name without a registered extension ("welcome") is tried
// with each format's extensions in order ("welcome.wav", "welcome.wave"...).
// Returns "" when no such regular file exists.
std::string resolve_prompt_path(const std::string &sounds_dir, const std::string &name,
                                const FileFormatList &formats);

} // namespace tandem::media
