/* Re-cutting a sample-stream payload into chunks of another duration: 20 ms
 * engine frames into packets of the far end's ptime, and packets of any
 * duration into 20 ms frames when no jitter buffer does it. See rtp.h. */
#include <tandem/rtp.h>

#include <string.h>

void tandem_rechunk_init(tandem_rechunk *r, size_t size) {
    r->size = size > TANDEM_RECHUNK_MAX ? TANDEM_RECHUNK_MAX : size;
    r->len = 0;
    r->ts = 0;
}

void tandem_rechunk_flush(tandem_rechunk *r, tandem_rechunk_out out, void *arg) {
    if (r->len == 0) return;
    size_t n = r->len;
    r->len = 0; /* before the callback: it may push or flush again */
    out(arg, r->ts, r->buf, n);
}

void tandem_rechunk_push(tandem_rechunk *r, uint32_t ts, const uint8_t *data, size_t len, tandem_rechunk_out out,
                         void *arg) {
    if (r->len && ts != r->ts + (uint32_t)r->len) tandem_rechunk_flush(r, out, arg); /* a gap: no splice */
    if (r->len) { /* complete the waiting chunk first */
        size_t take = r->size - r->len < len ? r->size - r->len : len;
        memcpy(r->buf + r->len, data, take);
        r->len += take;
        data += take;
        len -= take;
        ts += (uint32_t)take;
        if (r->len < r->size) return;
        r->len = 0;
        out(arg, r->ts, r->buf, r->size);
    }
    for (; len >= r->size; data += r->size, len -= r->size, ts += (uint32_t)r->size)
        out(arg, ts, data, r->size); /* whole chunks straight from the input */
    if (len) {
        memcpy(r->buf, data, len);
        r->len = len;
        r->ts = ts;
    }
}
