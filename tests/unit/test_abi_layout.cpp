// module.h must mean the same thing to a C module and the C++ engine.
#include "tandem/module.h"

#include <catch2/catch.hpp>
#include <cstddef>
#include <vector>

extern "C" size_t tandem_abi_layout_c(size_t *out, size_t cap);

TEST_CASE("module.h has the same layout in C and C++", "[abi]") {
    const std::vector<size_t> cxx = {
        sizeof(tandem_frame), sizeof(tandem_channel_driver), sizeof(tandem_inbound), sizeof(tandem_value),
        sizeof(tandem_function), sizeof(tandem_codec), sizeof(tandem_file_format), sizeof(tandem_event),
        sizeof(tandem_event_subscriber), sizeof(tandem_record), sizeof(tandem_cdr_sink),
        sizeof(tandem_console_command), sizeof(tandem_host), sizeof(tandem_module_desc),
        offsetof(tandem_host, console_print), offsetof(tandem_host, fd_unwatch), offsetof(tandem_host, leg_set_caller), offsetof(tandem_host, instance_name), offsetof(tandem_host, console_json), offsetof(tandem_host, leg_vars_each), offsetof(tandem_host, leg_transfer), offsetof(tandem_host, leg_new_replacing), offsetof(tandem_host, leg_bridge_peer), offsetof(tandem_host, record_emit), offsetof(tandem_host, codec_list), offsetof(tandem_host, leg_set_held), offsetof(tandem_host, leg_set_format_params), offsetof(tandem_codec, rtp_fmtp), offsetof(tandem_codec, state_new_params), offsetof(tandem_codec, conceal), offsetof(tandem_frame, flags), offsetof(tandem_inbound, pvt), offsetof(tandem_module_desc, reload),
        offsetof(tandem_value, as), offsetof(tandem_inbound, inherit_from),
        /* ABI 1.3, record: audio taps */ sizeof(tandem_tap), offsetof(tandem_tap, closed), offsetof(tandem_host, call_post),
        /* ABI 1.4: native relay */ offsetof(tandem_host, leg_relays_directly),
        /* ABI 1.5: call control, queue */ sizeof(tandem_inv_watch), offsetof(tandem_inv_watch, bridge_end),
        offsetof(tandem_host, inv_play_stop), offsetof(tandem_host, call_hangup),
    };
    std::vector<size_t> c(cxx.size() + 4);
    size_t n = tandem_abi_layout_c(c.data(), c.size());
    c.resize(n);
    CHECK(c == cxx);
}

TEST_CASE("every boundary struct starts with its size", "[abi]") {
    CHECK(offsetof(tandem_frame, struct_size) == 0);
    CHECK(offsetof(tandem_channel_driver, struct_size) == 0);
    CHECK(offsetof(tandem_host, struct_size) == 0);
    CHECK(offsetof(tandem_module_desc, struct_size) == 0);
    CHECK(offsetof(tandem_function, struct_size) == 0);
    CHECK(offsetof(tandem_inbound, struct_size) == 0);
    CHECK(offsetof(tandem_tap, struct_size) == 0);
}
