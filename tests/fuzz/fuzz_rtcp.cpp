// RTCP compound packets from the network: the parser and the session's
// round-trip bookkeeping, then a report built on what was learnt.
#include <tandem/rtp.h>

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tandem_rtcp_info info;
    if (tandem_rtcp_parse(data, size, &info) == 0 && info.block_count > TANDEM_RTCP_MAX_BLOCKS)
        __builtin_trap();
    tandem_rtp_session s;
    uint8_t rnd[12] = {0, 0, 0, 1};
    tandem_rtp_session_init(&s, rnd, 8000);
    tandem_rtcp_session_receive(&s, data, size, 1000000, uint64_t(3900000000u) << 32);
    uint8_t out[256];
    size_t n = tandem_rtcp_session_report(&s, out, sizeof out, 2000000, uint64_t(3900000001u) << 32, "fuzz");
    if (n == 0 || tandem_rtcp_parse(out, n, &info) != 0)
        __builtin_trap(); // what we build must be valid RTCP
    return 0;
}
