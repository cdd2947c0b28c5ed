#include "media/codecs.hpp"

#include <algorithm>
#include <cctype>

namespace tandem::media {
namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

} // namespace

const tandem_codec *find_codec(const CodecList &list, std::string_view name) {
    for (const tandem_codec *codec : list.codecs)
        if (codec->name && equal_ignoring_case(codec->name, name))
            return codec;
    return nullptr;
}

} // namespace tandem::media
