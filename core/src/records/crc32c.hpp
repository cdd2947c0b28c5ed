#pragma once
// CRC-32C (Castagnoli), the checksum of every spool frame: it catches torn
// and bit-flipped records, not tampering.
#include <cstddef>
#include <cstdint>

namespace tandem::records {

uint32_t crc32c(const void *data, size_t size, uint32_t crc = 0);

} // namespace tandem::records
