#include "media/prompts.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace tandem::media {
namespace fs = std::filesystem;
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

// Calls fn(extension) for each entry of a format's comma-separated list
// until fn returns true; returns whether it did.
template <typename Fn> bool any_extension(const tandem_file_format *format, Fn fn) {
    if (!format || !format->extensions)
        return false;
    std::string_view rest = format->extensions;
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        std::string_view ext = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        while (!ext.empty() && std::isspace(static_cast<unsigned char>(ext.front())))
            ext.remove_prefix(1);
        while (!ext.empty() && std::isspace(static_cast<unsigned char>(ext.back())))
            ext.remove_suffix(1);
        if (!ext.empty() && fn(ext))
            return true;
    }
    return false;
}

std::string extension_of(const std::string &path) {
    const std::string ext = fs::path(path).extension().string();
    return ext.empty() ? ext : ext.substr(1); // drop the dot
}

bool is_regular_file(const fs::path &path) {
    std::error_code ec;
    return fs::is_regular_file(path, ec);
}

// Decodes the whole file. Runs without the cache lock.
std::shared_ptr<const Prompt> decode(const std::string &path, const tandem_file_format *format,
                                     std::string *error) {
    auto fail = [&](const std::string &message) -> std::shared_ptr<const Prompt> {
        if (error)
            *error = path + ": " + message;
        return nullptr;
    };
    if (!format->open_read || !format->read || !format->close)
        return fail(std::string("file format ") + (format->name ? format->name : "?") + " cannot read files");
    auto prompt = std::make_shared<Prompt>();
    prompt->path = path;
    char reason[256] = "";
    void *handle = format->open_read(format->user, path.c_str(), &prompt->rate, reason, sizeof reason);
    if (!handle)
        return fail(reason[0] ? reason : "cannot open");
    int16_t chunk[4096];
    long got = 0;
    while ((got = format->read(format->user, handle, chunk, std::size(chunk))) > 0 &&
           static_cast<size_t>(got) <= std::size(chunk))
        prompt->pcm.insert(prompt->pcm.end(), chunk, chunk + got);
    format->close(format->user, handle);
    if (got != 0)
        return fail("read error");
    if (prompt->rate == 0)
        return fail("file format reported sample rate 0");
    prompt->pcm.shrink_to_fit(); // cached for long: do not keep growth slack
    return prompt;
}

} // namespace

const tandem_file_format *format_for_path(const std::string &path, const FileFormatList &formats) {
    const std::string ext = extension_of(path);
    if (ext.empty())
        return nullptr;
    for (const tandem_file_format *format : formats)
        if (any_extension(format, [&](std::string_view listed) { return equal_ignoring_case(listed, ext); }))
            return format;
    return nullptr;
}

std::shared_ptr<const Prompt> PromptCache::load(const std::string &path, const FileFormatList &formats,
                                                std::string *error) {
    std::error_code ec;
    // Stamped before decoding: a file rewritten meanwhile looks changed on
    // the next load and is decoded again.
    const Stamp stamp{fs::last_write_time(path, ec), ec ? 0 : fs::file_size(path, ec)};
    if (ec) {
        std::lock_guard lock(mutex_);
        entries_.erase(path);
        if (error)
            *error = path + ": " + ec.message();
        return nullptr;
    }
    {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(path); it != entries_.end() && it->second.stamp == stamp)
            return it->second.prompt;
    }
    const tandem_file_format *format = format_for_path(path, formats);
    if (!format) {
        if (error)
            *error = path + ": no file format for extension '" + extension_of(path) + "'";
        return nullptr;
    }
    auto prompt = decode(path, format, error);
    if (!prompt)
        return nullptr;
    std::lock_guard lock(mutex_);
    // Another thread may have decoded the same version meanwhile; hand out
    // its copy so every caller shares one.
    auto [it, inserted] = entries_.try_emplace(path, Entry{prompt, stamp});
    if (!inserted) {
        if (it->second.stamp == stamp)
            return it->second.prompt;
        it->second = Entry{prompt, stamp};
    }
    return prompt;
}

std::shared_ptr<const Prompt> PromptCache::find(const std::string &path) const {
    std::error_code ec;
    const Stamp stamp{fs::last_write_time(path, ec), ec ? 0 : fs::file_size(path, ec)};
    if (ec)
        return nullptr;
    std::lock_guard lock(mutex_);
    auto it = entries_.find(path);
    return it != entries_.end() && it->second.stamp == stamp ? it->second.prompt : nullptr;
}

void PromptCache::clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
}

size_t PromptCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::string resolve_prompt_path(const std::string &sounds_dir, const std::string &name,
                                const FileFormatList &formats) {
    if (name.empty())
        return {};
    const fs::path given(name);
    const std::string candidate = (given.is_absolute() ? given : fs::path(sounds_dir) / given).string();
    if (is_regular_file(candidate))
        return candidate;
    if (format_for_path(candidate, formats))
        return {};
    std::string found;
    for (const tandem_file_format *format : formats)
        if (any_extension(format, [&](std::string_view ext) {
                std::string path = candidate + "." + std::string(ext);
                if (!is_regular_file(path))
                    return false;
                found = std::move(path);
                return true;
            }))
            break;
    return found;
}

} // namespace tandem::media
