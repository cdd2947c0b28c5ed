#include "records/crc32c.hpp"

#include <array>
#include <cstring>

namespace tandem::records {

namespace {
constexpr std::array<uint32_t, 256> make_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1; // reflected Castagnoli polynomial
        t[i] = c;
    }
    return t;
}
constexpr auto kTable = make_table();

#if defined(__x86_64__)
// A CDR is a kilobyte or two and is checksummed when spooled and again when
// shipped: a byte-wise table costs microseconds per record on the sink's
// thread, the instruction eight bytes a cycle.
__attribute__((target("sse4.2"))) uint32_t crc32c_instruction(const uint8_t *p, size_t size, uint32_t crc) {
    uint64_t c = ~crc;
    for (; size >= 8; p += 8, size -= 8) {
        uint64_t word;
        std::memcpy(&word, p, sizeof word);
        c = __builtin_ia32_crc32di(c, word);
    }
    auto c32 = static_cast<uint32_t>(c);
    for (; size > 0; ++p, --size)
        c32 = __builtin_ia32_crc32qi(c32, *p);
    return ~c32;
}

const bool kHaveInstruction = __builtin_cpu_supports("sse4.2");
#endif
} // namespace

uint32_t crc32c_portable(const void *data, size_t size, uint32_t crc) {
    auto *p = static_cast<const uint8_t *>(data);
    crc = ~crc;
    for (size_t i = 0; i < size; ++i)
        crc = kTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

uint32_t crc32c(const void *data, size_t size, uint32_t crc) {
#if defined(__x86_64__)
    if (kHaveInstruction)
        return crc32c_instruction(static_cast<const uint8_t *>(data), size, crc);
#endif
    return crc32c_portable(data, size, crc);
}

} // namespace tandem::records
