#include "runtime/translation.hpp"

namespace tandem {

std::unique_ptr<HeldTranslator> HeldTranslator::create(const RegistrySnapshot &registry, media::FormatId from,
                                                       media::FormatId to, std::string &error,
                                                       const char *from_params, const char *to_params) {
    auto held = std::make_unique<HeldTranslator>();
    held->translator_ = media::Translator::create(registry.codec_list(), from, to, &error, from_params, to_params);
    if (!held->translator_)
        return nullptr;
    for (const tandem_codec *codec : held->translator_->codecs())
        for (const auto &entry : registry.codecs)
            if (entry.desc == codec) {
                ModuleUse use = ModuleUse::acquire(entry.owner.get());
                if (!use) {
                    error = std::string("codec ") + codec->name + " is unloading";
                    return nullptr;
                }
                held->uses_.push_back(std::move(use));
            }
    return held;
}

HeldTranslator *TranslatorSlot::get(const Registry &registry, media::FormatId from, media::FormatId to,
                                    std::string &error, const char *from_params, const char *to_params) {
    if (held_ && held_->from() == from && held_->to() == to)
        return held_.get();
    if (missing_ == std::pair{from, to})
        return nullptr;
    held_ = HeldTranslator::create(*registry.snapshot(), from, to, error, from_params, to_params);
    missing_ = held_ ? std::pair{media::kNoFormat, media::kNoFormat} : std::pair{from, to};
    return held_.get();
}

} // namespace tandem
