#include "runtime/prompt_loading.hpp"

#include "log.hpp"
#include "media/prompt_loader.hpp"
#include "runtime/engine.hpp"

#include <filesystem>
#include <memory>

namespace tandem {

HeldFileFormats hold_file_formats(const RegistrySnapshot &registry) {
    HeldFileFormats held;
    for (auto &entry : registry.file_formats)
        if (ModuleUse use = ModuleUse::acquire(entry.owner.get())) {
            held.list.push_back(entry.desc);
            held.uses.push_back(std::move(use));
        }
    return held;
}

void preload_sounds(Engine &engine) {
    auto held = std::make_shared<HeldFileFormats>(hold_file_formats(*engine.registry().snapshot()));
    const std::string dir = engine.config().paths.sounds;
    engine.prompt_loader().submit([&engine, held, dir] {
        namespace fs = std::filesystem;
        std::error_code ec;
        size_t bytes = 0, count = 0;
        for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
             !ec && it != end; it.increment(ec)) {
            if (!it->is_regular_file(ec) || !media::format_for_path(it->path().string(), held->list))
                continue;
            std::string error;
            auto prompt = engine.prompts().load(it->path().string(), held->list, &error);
            if (!prompt) {
                log::warning("media", "preload: {}", error);
                continue;
            }
            ++count;
            bytes += prompt->pcm.size() * sizeof(int16_t);
            if (bytes >= kPreloadBytes) {
                log::notice("media", "preload stopped at {} MiB; other prompts decode on first play", bytes >> 20);
                break;
            }
        }
        log::info("media", "preloaded {} prompts ({} KiB) from {}", count, bytes >> 10, dir);
    });
}

} // namespace tandem
