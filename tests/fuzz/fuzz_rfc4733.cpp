// RFC 4733 telephone-event payloads: parse, and write back what parsed.
#include <tandem/rtp.h>

#include <cstdint>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tandem_rtp_event ev;
    if (tandem_rtp_event_parse(data, size, &ev) != 0)
        return 0;
    uint8_t back[TANDEM_RTP_EVENT_SIZE];
    tandem_rtp_event_write(back, &ev);
    // the reserved bit (R) is the only one not kept
    if (back[0] != data[0] || (back[1] & 0xbf) != (data[1] & 0xbf) || back[2] != data[2] || back[3] != data[3])
        __builtin_trap();
    char d = tandem_rtp_event_digit(ev.event);
    if (d && tandem_rtp_digit_event(d) != ev.event)
        __builtin_trap();
    return 0;
}
