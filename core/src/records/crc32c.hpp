#pragma once
// CRC-32C (Castagnoli), the checksum of every spool frame: it catches torn
// and bit-flipped records, not tampering.
//
// crc32c() uses the CPU's CRC32 instruction where there is one (x86-64 with
// SSE4.2, checked once at run time) and a table otherwise; both give the
// same values, which crc32c_portable() exists to prove in the tests.
#include <cstddef>
#include <cstdint>

namespace tandem::records {

uint32_t crc32c(const void *data, size_t size, uint32_t crc = 0);

uint32_t crc32c_portable(const void *data, size_t size, uint32_t crc = 0);

} // namespace tandem::records
