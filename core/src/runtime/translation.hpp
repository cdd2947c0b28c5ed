#pragma once
// A translator together with uses of the modules whose codecs it calls: a
// codec module cannot unload while a bridge or a player still encodes with it.
#include "media/translator.hpp"
#include "modules/registry.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

class HeldTranslator {
public:
    // Null with `error` when no path exists or a codec's module is unloading.
    // The params are the legs' format parameters (Translator::create).
    static std::unique_ptr<HeldTranslator> create(const RegistrySnapshot &registry, media::FormatId from,
                                                  media::FormatId to, std::string &error,
                                                  const char *from_params = nullptr,
                                                  const char *to_params = nullptr);
    media::Translator &get() { return *translator_; }
    media::FormatId from() const { return translator_->from(); }
    media::FormatId to() const { return translator_->to(); }

private:
    std::unique_ptr<media::Translator> translator_;
    std::vector<ModuleUse> uses_;
};

// The translator one direction of a stream needs, kept while its formats
// stay the same. A pair of formats with no path is searched once, not for
// every frame: until either format changes, get() returns null at once.
class TranslatorSlot {
public:
    // Null when there is no path; `error` says why the first time only
    // (empty afterwards), so the caller logs one line per format pair.
    HeldTranslator *get(const Registry &registry, media::FormatId from, media::FormatId to, std::string &error,
                        const char *from_params = nullptr, const char *to_params = nullptr);
    // Lets go of the translator (and its codec modules); the next get() searches again.
    void reset() {
        held_.reset();
        missing_ = {media::kNoFormat, media::kNoFormat};
    }

private:
    std::unique_ptr<HeldTranslator> held_;
    std::pair<media::FormatId, media::FormatId> missing_{media::kNoFormat, media::kNoFormat};
};

} // namespace tandem
