/* module.h compiled as C11: reports the layout a C compiler sees, so a test
 * can compare it with what C++ sees (the engine is C++, modules often C). */
#include <tandem/module.h>

#include <stddef.h>

#define LAYOUT(T) sizeof(T)

size_t tandem_abi_layout_c(size_t *out, size_t cap);
size_t tandem_abi_layout_c(size_t *out, size_t cap) {
    const size_t v[] = {
        LAYOUT(tandem_frame), LAYOUT(tandem_channel_driver), LAYOUT(tandem_inbound), LAYOUT(tandem_value),
        LAYOUT(tandem_function), LAYOUT(tandem_codec), LAYOUT(tandem_file_format), LAYOUT(tandem_event),
        LAYOUT(tandem_event_subscriber), LAYOUT(tandem_record), LAYOUT(tandem_cdr_sink),
        LAYOUT(tandem_console_command), LAYOUT(tandem_host), LAYOUT(tandem_module_desc),
        offsetof(tandem_host, console_print), offsetof(tandem_host, fd_unwatch), offsetof(tandem_host, leg_set_caller), offsetof(tandem_host, instance_name), offsetof(tandem_host, console_json), offsetof(tandem_host, leg_vars_each), offsetof(tandem_host, leg_transfer), offsetof(tandem_host, leg_new_replacing), offsetof(tandem_host, leg_bridge_peer), offsetof(tandem_host, record_emit), offsetof(tandem_host, codec_list), offsetof(tandem_host, leg_set_held), offsetof(tandem_host, leg_set_format_params), offsetof(tandem_codec, rtp_fmtp), offsetof(tandem_codec, state_new_params), offsetof(tandem_codec, conceal), offsetof(tandem_frame, flags), offsetof(tandem_inbound, pvt), offsetof(tandem_module_desc, reload),
        offsetof(tandem_value, as), offsetof(tandem_inbound, inherit_from),
        /* ABI 1.3, record: audio taps */ LAYOUT(tandem_tap), offsetof(tandem_tap, closed), offsetof(tandem_host, call_post),
        /* ABI 1.4: native relay */ offsetof(tandem_host, leg_relays_directly),
        /* ABI 1.5: call control, queue */ LAYOUT(tandem_inv_watch), offsetof(tandem_inv_watch, bridge_end),
        offsetof(tandem_host, inv_play_stop), offsetof(tandem_host, call_hangup),
    };
    size_t n = sizeof v / sizeof v[0];
    for (size_t i = 0; i < n && i < cap; ++i)
        out[i] = v[i];
    return n;
}
