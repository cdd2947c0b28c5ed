// Packets of any ptime from the network: the jitter buffer cutting them into
// frames by timestamp (tandem_jb_push_split) and the rechunker joining and
// splitting them (tandem_rechunk), driven by a sequence of operations so
// that wraps, gaps, odd lengths and reordering are explored together.
#include <tandem/rtp.h>

#include <cstdint>
#include <cstring>

namespace {

struct Reader {
    const uint8_t *data;
    size_t size;
    uint32_t take(int bytes) {
        uint32_t v = 0;
        for (int i = 0; i < bytes; ++i) {
            v = v << 8 | (size ? data[0] : 0);
            if (size) data++, size--;
        }
        return v;
    }
};

struct Sink {
    size_t size;
};

void check_chunk(void *arg, uint32_t, const uint8_t *data, size_t len) {
    auto *sink = static_cast<Sink *>(arg);
    if (len == 0 || len > sink->size) __builtin_trap(); // never empty, never over the chunk size
    volatile uint8_t first = data[0], last = data[len - 1]; // inside a live buffer (ASan)
    (void)first, (void)last;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tandem_jb jb;
    static tandem_rechunk r;
    static uint8_t payload[1024];
    Reader in{data, size};
    uint32_t setup = in.take(1);
    tandem_jb_init(&jb, setup & 1 ? TANDEM_JB_PCMA : TANDEM_JB_PCMU, 8000, setup & 2 ? 10 : 20, 20 + (setup >> 2),
                   200);
    Sink sink{size_t(80 * (1 + setup % 6))};
    tandem_rechunk_init(&r, sink.size);
    uint64_t now = 1;
    while (in.size > 0) {
        uint32_t op = in.take(1);
        if ((op & 3) == 0) {
            uint32_t ts = in.take(4);
            size_t len = in.take(2) % sizeof payload;
            memset(payload, int(op), len);
            tandem_jb_push_split(&jb, ts, payload, len, now);
        } else if ((op & 3) == 1) {
            uint8_t out[TANDEM_JB_MAX_FRAME];
            size_t len = 0;
            tandem_jb_pop(&jb, out, sizeof out, &len);
            if (len > sizeof out) __builtin_trap();
            now += 10000;
        } else if ((op & 3) == 2) {
            uint32_t ts = in.take(4);
            size_t len = in.take(2) % sizeof payload;
            tandem_rechunk_push(&r, ts, payload, len, check_chunk, &sink);
        } else {
            tandem_rechunk_flush(&r, check_chunk, &sink);
        }
        if (tandem_jb_depth(&jb) < 0 || tandem_jb_depth(&jb) > TANDEM_JB_SLOTS) __builtin_trap();
    }
    return 0;
}
