/* SDP bodies from the network, as the SIP channel reads them
 * (channels/sip/sip_sdp.c on sofia-sip's sdp_parse). C, because the
 * channel's internal header is C11 (stdatomic). */
#include "sip_internal.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct sip_media m;
    if (sip_sdp_parse((const char *)data, size, &m) == 0 &&
        (!m.valid || (m.pt != 0 && m.pt != 8) || m.dtmf_pt > 127 || sip_addr_len(&m.remote) == 0 ||
         m.rtcp.sa.sa_family != m.remote.sa.sa_family)) /* RTCP goes where our socket can send */
        __builtin_trap();
    return 0;
}
