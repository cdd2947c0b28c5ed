/* libFuzzer: the body of a SIP INFO with a DTMF digit (network input).
 * The first byte picks the content type, the rest is the body. */
#include "sip_internal.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const char *type = (data[0] & 1) ? "application/dtmf-relay" : "application/dtmf";
    uint32_t ms = 0;
    char d = sip_info_dtmf_parse(type, (const char *)data + 1, size - 1, &ms);
    /* the contract: one valid digit or 0, a duration in range */
    if ((d && !((d >= '0' && d <= '9') || d == '*' || d == '#' || (d >= 'A' && d <= 'D'))) || ms < 40 ||
        ms > 5000)
        __builtin_trap();
    return 0;
}
