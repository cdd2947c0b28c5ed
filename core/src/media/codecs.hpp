#pragma once
// The codecs the translator may use: the built-in G.711 pair plus whatever
// modules registered. The descriptors are borrowed; whoever builds a list
// keeps them alive (built-ins are static, module codecs live until unload)
// for as long as the list or any Translator created from it exists.
// find_codec() only reads the list: safe wherever the list is not being changed.
#include "tandem/module.h"

#include <string_view>
#include <vector>

namespace tandem::media {

struct CodecList {
    std::vector<const tandem_codec *> codecs;
};

// Matches the encoding name case-insensitively, as SDP does; nullptr if absent.
const tandem_codec *find_codec(const CodecList &list, std::string_view name);

} // namespace tandem::media
