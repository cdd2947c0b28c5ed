#pragma once
// Getting prompts decoded without a worker doing it: the file formats held
// for a decode, and the preload of the sounds directory at start and
// reload, both on the engine's PromptLoader thread.
#include "media/prompts.hpp"
#include "modules/registry.hpp"

#include <cstddef>
#include <vector>

namespace tandem {

class Engine;

// The registered file formats, each with a use of its module so it cannot
// unload while a decode runs its code. Formats whose module is unloading
// are left out.
struct HeldFileFormats {
    media::FileFormatList list;
    std::vector<ModuleUse> uses;
};
HeldFileFormats hold_file_formats(const RegistrySnapshot &registry);

// Decodes every file with a registered extension under the sounds
// directory into the prompt cache, in the background, until the decoded
// audio reaches kPreloadBytes (a sounds directory that also holds hours of
// music must not fill memory at start; the rest decodes on first play).
inline constexpr size_t kPreloadBytes = 64u << 20;
void preload_sounds(Engine &engine);

} // namespace tandem
