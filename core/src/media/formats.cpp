#include "media/formats.hpp"

#include <array>
#include <atomic>
#include <mutex>

namespace tandem::media {
namespace {

// Readers never lock: a slot is written once, before `count` is published
// with release order, and never changes afterwards.
class FormatTable {
public:
    FormatTable() {
        // Fixed ids: kSlin8, kSlin16, kSlin48 in that order.
        intern("slin8");
        intern("slin16");
        intern("slin48");
    }

    FormatId find(std::string_view name) const {
        const uint32_t n = count_.load(std::memory_order_acquire);
        for (uint32_t i = 0; i < n; ++i)
            if (names_[i] == name)
                return static_cast<FormatId>(i);
        return kNoFormat;
    }

    FormatId intern(std::string_view name) {
        if (FormatId id = find(name); id != kNoFormat)
            return id;
        std::lock_guard lock(mutex_);
        // Another thread may have interned it between find() and the lock.
        if (FormatId id = find(name); id != kNoFormat)
            return id;
        const uint32_t n = count_.load(std::memory_order_relaxed);
        if (n == kMaxFormats)
            return kNoFormat;
        names_[n] = std::string(name);
        count_.store(n + 1, std::memory_order_release);
        return static_cast<FormatId>(n);
    }

    std::string name(FormatId id) const { return cname(id); }

    const char *cname(FormatId id) const {
        if (id >= count_.load(std::memory_order_acquire))
            return "";
        return names_[id].c_str();
    }

private:
    std::array<std::string, kMaxFormats> names_;
    std::atomic<uint32_t> count_{0};
    std::mutex mutex_;
};

// A function-local static so the fixed ids exist before any other static
// initialiser (in any translation unit) can intern a name.
FormatTable &table() {
    static FormatTable instance;
    return instance;
}

// Interns the linear formats during static initialisation, so the first
// lookup on a worker does not pay for it.
[[maybe_unused]] const FormatTable &eager_table = table();

} // namespace

FormatId intern_format(std::string_view name) {
    if (name.empty())
        return kNoFormat;
    return table().intern(name);
}

FormatId find_format(std::string_view name) { return table().find(name); }

std::string format_name(FormatId id) { return table().name(id); }

const char *format_cname(FormatId id) { return table().cname(id); }

uint32_t linear_rate(FormatId id) {
    switch (id) {
    case kSlin8: return 8000;
    case kSlin16: return 16000;
    case kSlin48: return 48000;
    default: return 0;
    }
}

FormatId linear_format_for_rate(uint32_t rate) {
    switch (rate) {
    case 8000: return kSlin8;
    case 16000: return kSlin16;
    case 48000: return kSlin48;
    default: return kNoFormat;
    }
}

} // namespace tandem::media
