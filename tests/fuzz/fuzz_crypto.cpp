// The SDES crypto attribute (RFC 4568) of an SDP body: parse, and what
// parses writes back and parses to the same key.
#include <tandem/rtp.h>

#include <cstdint>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tandem_crypto_attr a, b;
    if (tandem_crypto_attr_parse(reinterpret_cast<const char *>(data), size, &a) != 0)
        return 0;
    char out[128];
    int n = tandem_crypto_attr_write(out, sizeof out, &a);
    if (n < 0 || tandem_crypto_attr_parse(out, size_t(n), &b) != 0 ||
        std::memcmp(a.key_salt, b.key_salt, sizeof a.key_salt) != 0 || a.suite != b.suite || a.tag != b.tag)
        __builtin_trap();
    return 0;
}
