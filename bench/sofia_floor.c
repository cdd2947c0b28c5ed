/* The floor for SIP call setup: the least a sofia-sip NUA user agent can do
 * per call (answer every INVITE 200 with a fixed SDP, accept the BYE), with
 * no engine, no dialplan, no RTP. bench/sip_setup.py runs the same SIPp load
 * against it and against Tandem; the difference is what Tandem adds.
 *
 *   sofia_floor sip:127.0.0.1:PORT      (runs until killed)
 */
#include <sofia-sip/nua.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>

#include <stdio.h>
#include <string.h>

static su_root_t *root;

static const char SDP[] = "v=0\r\no=floor 1 1 IN IP4 127.0.0.1\r\ns=floor\r\nc=IN IP4 127.0.0.1\r\n"
                          "t=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

static void on_event(nua_event_t event, int status, char const *phrase, nua_t *nua, nua_magic_t *magic,
                     nua_handle_t *nh, nua_hmagic_t *hmagic, sip_t const *sip, tagi_t tags[]) {
    (void)status; (void)phrase; (void)nua; (void)magic; (void)hmagic; (void)sip;
    if (event == nua_i_invite) {
        nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(SDP),
                    TAG_END());
    } else if (event == nua_i_state) {
        int state = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
        if (state == nua_callstate_terminated) nua_handle_destroy(nh);
    }
}

int main(int argc, char **argv) {
    if (argc != 2 && !(argc == 3 && strcmp(argv[2], "--one-thread") == 0)) {
        fprintf(stderr, "usage: sofia_floor sip:ADDR:PORT [--one-thread]\n");
        return 2;
    }
    su_init();
    root = su_root_create(NULL);
    /* By default nua_create() runs the SIP stack in a thread of its own and
     * talks to it through a socketpair; --one-thread keeps it on this one. */
    if (root && argc == 3) su_root_threading(root, 0);
    nua_t *nua = root ? nua_create(root, on_event, NULL, NUTAG_URL(argv[1]), NUTAG_MEDIA_ENABLE(0), TAG_END())
                      : NULL;
    if (!nua) {
        fprintf(stderr, "sofia_floor: cannot listen on %s\n", argv[1]);
        return 1;
    }
    printf("listening on %s\n", argv[1]);
    fflush(stdout);
    su_root_run(root); /* never returns: the benchmark kills the process */
    return 0;
}
