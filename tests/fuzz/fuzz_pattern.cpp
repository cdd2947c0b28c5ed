// Extension patterns and dialled numbers: a pattern from the dialplan, the
// number from the network. First byte splits the input in two.
#include "lua/pattern.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t split = data[0] % size;
    std::string_view text(reinterpret_cast<const char *>(data + 1), size - 1);
    std::string_view pattern = text.substr(0, split), exten = text.substr(std::min(split, text.size()));
    if (exten.size() > 64)
        exten = exten.substr(0, 64); // numbers are short; backtracking stays bounded
    tandem::dialplan::Pattern p, q;
    std::string error;
    if (tandem::dialplan::Pattern::compile(pattern, p, error)) {
        p.matches(exten);
        if (tandem::dialplan::Pattern::compile(exten, q, error)) {
            // The ordering must be a strict weak order: never both ways.
            if (p.more_specific_than(q) && q.more_specific_than(p))
                __builtin_trap();
        }
    }
    return 0;
}
