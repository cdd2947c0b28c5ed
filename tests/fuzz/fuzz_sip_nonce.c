/* libFuzzer: a digest nonce and nonce count as a client sends them
 * (network input, channels/sip/sip_nonce.c). The first byte splits the rest
 * into the nonce and the nc. A forged nonce is never ours; a nonce we issued
 * is spent once per count. */
#include "sip_nonce.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) ready = sip_nonce_init() == 0;
    if (!ready || size == 0 || size > 512) return 0;
    size_t split = data[0] % size;
    char nonce[513], nc[513];
    memcpy(nonce, data + 1, split ? split - 1 : 0);
    nonce[split ? split - 1 : 0] = '\0';
    memcpy(nc, data + split, size - split);
    nc[size - split] = '\0';
    /* without the secret, input is never a nonce we issued */
    if (strlen(nonce) == SIP_NONCE_LEN && sip_nonce_check(nonce) != SIP_NONCE_FOREIGN) __builtin_trap();
    /* any count against a real nonce: accepted at most once */
    char ours[SIP_NONCE_LEN + 1];
    sip_nonce_make(ours);
    if (sip_nonce_spend(ours, nc) && sip_nonce_spend(ours, nc)) __builtin_trap();
    return 0;
}
