/*
 * Tandem module ABI — the contract between the engine and every module.
 *
 * This header is pure C11 and depends only on <stdint.h>, <stddef.h> and
 * <stdbool.h>, so a vendor can build a module with any C or C++ compiler.
 *
 * A module is a shared library that exports exactly one symbol,
 * TANDEM_MODULE_ENTRY_SYMBOL ("tandem_module_entry"), returning a pointer to
 * a static tandem_module_desc. The engine loads it with RTLD_NOW|RTLD_LOCAL,
 * checks the ABI version, loads its dependencies first, then calls load()
 * with a table of host functions (the SQLite-extension pattern): a module
 * never links against the engine binary, it only calls through that table.
 *
 * Versioning rules
 *   - TANDEM_ABI_MAJOR changes only when an existing function or struct
 *     changes meaning; the engine refuses modules of another major.
 *   - TANDEM_ABI_MINOR grows when something is appended. The host table and
 *     every struct that crosses the boundary start with `struct_size`, and
 *     new members are only ever appended, so both sides can tell what the
 *     other knows: a module built against 1.0 loads into a 1.3 engine, and a
 *     module built against 1.3 must check host->struct_size (or
 *     host->abi_minor) before calling a member added after 1.0.
 *
 * Thread rules (apply to every function below unless it says otherwise)
 *   - The engine runs a fixed set of worker threads. Every call, and every
 *     leg of that call, belongs to one worker for its whole life.
 *   - "worker-only" means: call it only on the worker that owns the leg,
 *     i.e. from a callback the engine made for that leg, or from a function
 *     you posted there with host->leg_post() or host->post().
 *   - "any thread" means exactly that; such functions never block for long.
 *   - Module callbacks are never called concurrently for the same leg.
 *
 * Ownership rules
 *   - Strings passed into the engine are copied before the call returns,
 *     unless the member says "kept": descriptor structs passed to
 *     register_* (and the strings they point to) must stay valid until the
 *     module is unloaded; static storage is the normal way to do that.
 *   - Strings and frames the engine hands to a callback are borrowed for the
 *     duration of that callback only.
 *   - A tandem_leg pointer given to a callback is valid during it; to keep
 *     one beyond it, take a reference with leg_ref() and drop it with
 *     leg_unref(). A referenced leg stays valid memory after hang-up, but
 *     most operations on it then fail with TANDEM_EGONE.
 */
#ifndef TANDEM_MODULE_H
#define TANDEM_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TANDEM_ABI_MAJOR 1
#define TANDEM_ABI_MINOR 5

#if defined(__GNUC__)
#define TANDEM_EXPORT __attribute__((visibility("default")))
#define TANDEM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TANDEM_EXPORT
#define TANDEM_PRINTF(f, a)
#endif

/* ---------------------------------------------------------------------- */
/* Result codes. Functions returning int use 0 for success.               */

enum {
    TANDEM_OK = 0,
    TANDEM_ERROR = -1,     /* generic failure; the log says why */
    TANDEM_EINVAL = -2,    /* bad argument or malformed struct */
    TANDEM_EEXIST = -3,    /* a registration with that name already exists */
    TANDEM_ENOENT = -4,    /* no such thing */
    TANDEM_EGONE = -5,     /* the leg or call has hung up */
    TANDEM_EBUSY = -6,     /* refused: in use, or the engine is shutting down */
    TANDEM_SUSPENDED = 1   /* dialplan function: result comes later */
};

/* ---------------------------------------------------------------------- */
/* Opaque engine objects.                                                   */

typedef struct tandem_module tandem_module;         /* one loaded module */
typedef struct tandem_leg tandem_leg;               /* one channel to one party */
typedef struct tandem_invocation tandem_invocation; /* one dialplan function call */
typedef struct tandem_console_out tandem_console_out;
typedef struct tandem_host tandem_host;
typedef struct tandem_stream tandem_stream;         /* ABI 1.3: a shared audio stream */

/* ---------------------------------------------------------------------- */
/* Logging.                                                                 */

enum tandem_log_level {
    TANDEM_LOG_DEBUG = 0,
    TANDEM_LOG_INFO = 1,
    TANDEM_LOG_NOTICE = 2,
    TANDEM_LOG_WARNING = 3,
    TANDEM_LOG_ERROR = 4
};

/* ---------------------------------------------------------------------- */
/* Legs.                                                                    */

/* Leg states. Transitions only move forward:
 *   DOWN -> RINGING -> EARLY -> UP -> HUNGUP, any of them may be skipped,
 *   and every state may go straight to HUNGUP. */
enum tandem_leg_state {
    TANDEM_LEG_DOWN = 0,
    TANDEM_LEG_RINGING = 1,
    TANDEM_LEG_EARLY = 2, /* early media: audio flows before answer */
    TANDEM_LEG_UP = 3,
    TANDEM_LEG_HUNGUP = 4
};

/* Q.850 cause values the engine itself uses; any 1..127 value is accepted. */
enum tandem_cause {
    TANDEM_CAUSE_UNALLOCATED = 1,
    TANDEM_CAUSE_NORMAL_CLEARING = 16,
    TANDEM_CAUSE_USER_BUSY = 17,
    TANDEM_CAUSE_NO_USER_RESPONSE = 18,
    TANDEM_CAUSE_NO_ANSWER = 19,
    TANDEM_CAUSE_CALL_REJECTED = 21,
    TANDEM_CAUSE_INVALID_NUMBER_FORMAT = 28,
    TANDEM_CAUSE_NORMAL_UNSPECIFIED = 31,
    TANDEM_CAUSE_CONGESTION = 34, /* no circuit/channel available */
    TANDEM_CAUSE_TEMPORARY_FAILURE = 41,
    TANDEM_CAUSE_SWITCH_CONGESTION = 42,
    TANDEM_CAUSE_FACILITY_NOT_IMPLEMENTED = 69,
    TANDEM_CAUSE_INCOMPATIBLE_DESTINATION = 88,
    TANDEM_CAUSE_RECOVERY_ON_TIMER_EXPIRE = 102,
    TANDEM_CAUSE_INTERWORKING = 127
};

/* ---------------------------------------------------------------------- */
/* Media frames.                                                            */

enum tandem_frame_kind {
    TANDEM_FRAME_AUDIO = 0, /* encoded or linear audio, see `format` */
    TANDEM_FRAME_DTMF = 1,  /* one completed digit */
    TANDEM_FRAME_T38 = 2    /* one UDPTL/T.38 IFP packet, payload in data */
};

/* The linear format names every codec converts to and from. */
#define TANDEM_FORMAT_SLIN8 "slin8"
#define TANDEM_FORMAT_SLIN16 "slin16"
#define TANDEM_FORMAT_SLIN48 "slin48"

typedef struct tandem_frame {
    size_t struct_size;
    uint32_t kind;        /* enum tandem_frame_kind */
    const char *format;   /* AUDIO: codec name ("PCMU") or "slinN"; else NULL */
    uint32_t samples;     /* AUDIO: samples per channel in this frame */
    const void *data;     /* payload (AUDIO, T38) */
    size_t len;           /* payload length in bytes */
    char digit;           /* DTMF: '0'-'9', '*', '#', 'A'-'D' */
    uint32_t duration_ms; /* DTMF: how long the key was held */

    /* --- added in ABI 1.3: lost audio (codecs) --- */
    /* TANDEM_FRAME_LOST: an AUDIO frame of `samples` that never arrived (a
     * channel's jitter buffer found the gap). data/len then hold the packet
     * that follows it when that one is already there (Opus rebuilds the
     * lost frame from its in-band FEC), else len is 0. Translators let the
     * codec conceal it (tandem_codec.conceal) or drop it; RTP channels send
     * nothing for it but count its sequence number, so the far end sees a
     * loss too. */
    uint32_t flags;
} tandem_frame;

#define TANDEM_FRAME_LOST 1u

/* Bytes that always hold a call id with its NUL (host->originate). */
#define TANDEM_CALL_ID_SIZE 40

/* Channel driver: provides legs to one kind of network or device.
 * A dial string "NAME/REST" reaches the driver registered as NAME.
 * All callbacks run on the leg's worker. */
typedef struct tandem_channel_driver {
    size_t struct_size;
    const char *name;        /* kept; "local", "sip", ... */
    const char *description; /* kept; one line for `tandem ctl registry` */
    void *user;              /* passed back to every callback */

    /* Start an outbound leg towards REST of the dial string. The engine
     * created `leg` in state DOWN; the driver reports progress with
     * leg_set_state() and failure with leg_hangup(). Return TANDEM_OK when
     * the attempt started, or a Q.850 cause (> 0) to fail at once. */
    int (*request)(void *user, tandem_leg *leg, const char *dest);

    /* The dialplan answers an inbound leg. Return TANDEM_OK or a cause. */
    int (*answer)(void *user, tandem_leg *leg);

    /* Tell the far end that it is ringing (TANDEM_LEG_RINGING) or that early
     * media follows (TANDEM_LEG_EARLY). May be NULL. */
    int (*indicate)(void *user, tandem_leg *leg, int state);

    /* The engine hangs up the leg with a Q.850 cause. After this returns the
     * engine calls nothing else for this leg; the driver drops its private
     * state (see leg_set_pvt) here. Not called when the driver itself
     * reported the hang-up with leg_hangup(). */
    void (*hangup)(void *user, tandem_leg *leg, int cause);

    /* Send one frame to the far end. The frame is borrowed. */
    int (*write_frame)(void *user, tandem_leg *leg, const tandem_frame *frame);
} tandem_channel_driver;

/* What a driver knows about a call it received (see host->leg_new_inbound). */
typedef struct tandem_inbound {
    size_t struct_size;
    const char *context;     /* dialplan context that routes it */
    const char *exten;       /* dialled number */
    const char *caller_num;  /* may be NULL */
    const char *caller_name; /* may be NULL */
    const char *format;      /* audio format the driver reads/writes */
    int worker;              /* worker to own the call, or -1 to let the engine pick */
    const char *linked_id;   /* join an existing interaction, or NULL for a new one */
    const tandem_leg *inherit_from; /* copy this leg's variables (the other half
                                       of a local pair), or NULL */
    /* ABI 1.1: the driver's private state, attached before the call starts
     * (what leg_pvt() returns), so a driver on its own thread never sees a
     * callback for a leg it has not yet described. */
    void *pvt;
} tandem_inbound;

/* ---------------------------------------------------------------------- */
/* Dialplan functions: become methods of the Lua call object.              */

enum tandem_value_type {
    TANDEM_VALUE_NIL = 0,
    TANDEM_VALUE_BOOLEAN = 1,
    TANDEM_VALUE_INTEGER = 2,
    TANDEM_VALUE_NUMBER = 3,
    TANDEM_VALUE_STRING = 4
};

/* A Lua value crossing the boundary. Its layout is frozen for ABI major 1
 * (it is an array element, so it carries no struct_size). */
typedef struct tandem_value {
    uint32_t type; /* enum tandem_value_type */
    union {
        bool boolean;
        int64_t integer;
        double number;
        struct {
            const char *ptr; /* not NUL-terminated when it comes from Lua */
            size_t len;
        } string;
    } as;
} tandem_value;

typedef struct tandem_function {
    size_t struct_size;
    const char *name; /* kept; Lua: call:NAME(...) */
    /* kept; argument types, one letter each: s string, i integer,
     * n number, b boolean; letters after '|' are optional.
     * Example: "si|b". The engine checks arguments before invoke(). */
    const char *signature;
    const char *help;  /* kept; one line for `tandem ctl registry` */
    bool may_suspend;  /* true if invoke() may return TANDEM_SUSPENDED */
    void *user;

    /* Worker-only. Read arguments with inv_arg(), add results with
     * inv_return(), then either return TANDEM_OK (done), an error code after
     * inv_error() (the script gets a Lua error), or TANDEM_SUSPENDED: the
     * Lua coroutine then sleeps until the module calls inv_complete() on the
     * same worker. */
    int (*invoke)(void *user, tandem_invocation *inv);

    /* Worker-only; needed when may_suspend. The call hung up or the
     * script was stopped while suspended: release what belongs to `inv`;
     * after cancel() returns, `inv` must not be used. */
    void (*cancel)(void *user, tandem_invocation *inv);
} tandem_function;

/* ---------------------------------------------------------------------- */
/* Codecs.                                                                  */

typedef struct tandem_codec {
    size_t struct_size;
    const char *name;     /* kept; SDP encoding name, e.g. "PCMU" */
    uint32_t sample_rate; /* rate of the linear audio it encodes/decodes */
    /* Relative CPU cost to encode + decode 20 ms; the translator minimises
     * the sum of costs along a path. G.711 is 1. */
    uint32_t cost;
    void *user;
    void *(*state_new)(void *user); /* may be NULL: stateless codec */
    void (*state_free)(void *user, void *state);
    /* Encode `samples` linear samples; return bytes written or -1. */
    int (*encode)(void *user, void *state, const int16_t *pcm, size_t samples,
                  uint8_t *out, size_t out_cap);
    /* Decode `len` bytes; return samples written or -1. */
    int (*decode)(void *user, void *state, const uint8_t *in, size_t len,
                  int16_t *pcm, size_t pcm_cap);

    /* --- added in ABI 1.2: how the codec travels in RTP --- */
    /* With rtp_encoding set, RTP channels (SIP) offer and accept the codec
     * in SDP under a dynamic payload type, one frame per 20 ms packet. */
    const char *rtp_encoding; /* kept; the rtpmap encoding name ("opus"); NULL: not in SDP */
    uint32_t rtp_clock_rate;  /* the rtpmap clock rate (opus: 48000); 0: sample_rate */
    uint32_t rtp_channels;    /* the rtpmap channel count; 0 or 1: mono, left out */
    const char *rtp_fmtp;     /* kept; our a=fmtp parameters, NULL none */

    /* --- added in ABI 1.3: the far end's codec parameters (codecs) --- */
    /* May be NULL: state_new is used. Otherwise the engine calls it instead
     * of state_new for a stream to or from a leg whose channel reported the
     * far end's parameters for this codec (host->leg_set_format_params: for
     * RTP its a=fmtp, "" when it sent none), e.g. so that Opus honours the
     * far end's maxplaybackrate, useinbandfec and usedtx. `params` is
     * borrowed for the call. */
    void *(*state_new_params)(void *user, const char *params);
    /* May be NULL: lost frames are then dropped. The frame of `samples`
     * before `next` (the packet that followed it, len 0 when not there yet)
     * was lost: write its best replacement (the decoder's concealment, or
     * what `next`'s FEC holds) and return samples written, or -1. */
    int (*conceal)(void *user, void *state, size_t samples, const uint8_t *next, size_t next_len, int16_t *pcm,
                   size_t pcm_cap);
} tandem_codec;

/* ---------------------------------------------------------------------- */
/* Audio file formats (prompts, recordings).                                */

typedef struct tandem_file_format {
    size_t struct_size;
    const char *name;       /* kept */
    const char *extensions; /* kept; comma-separated, no dots: "wav,wave" */
    void *user;
    /* Open for reading; mono PCM16. Fill *sample_rate. On failure return
     * NULL and write a reason into err. Any thread (never a worker in a
     * hurry: the engine caches decoded prompts). */
    void *(*open_read)(void *user, const char *path, uint32_t *sample_rate,
                       char *err, size_t err_len);
    /* Return samples read, 0 at end, -1 on error. */
    long (*read)(void *user, void *handle, int16_t *pcm, size_t max_samples);
    void (*close)(void *user, void *handle);
} tandem_file_format;

/* ---------------------------------------------------------------------- */
/* Events.                                                                  */

enum tandem_event_type {
    TANDEM_EVENT_CALL_START = 0,
    TANDEM_EVENT_CALL_END = 1,
    TANDEM_EVENT_LEG_STATE = 2,
    TANDEM_EVENT_DTMF = 3,
    TANDEM_EVENT_BRIDGE = 4,
    TANDEM_EVENT_UNBRIDGE = 5,
    TANDEM_EVENT_MODULE = 6,
    TANDEM_EVENT_DIALPLAN = 7, /* script errors, limits, reloads */
    TANDEM_EVENT_CUSTOM = 8,   /* published by a module; see `name` */
    TANDEM_EVENT_TYPE_COUNT = 9
};
#define TANDEM_EVENT_MASK(type) (UINT64_C(1) << (type))
#define TANDEM_EVENT_MASK_ALL (~UINT64_C(0))

typedef struct tandem_field {
    const char *key;
    const char *value;
} tandem_field;

typedef struct tandem_event {
    size_t struct_size;
    uint32_t type;         /* enum tandem_event_type */
    const char *name;      /* "call_start", ..., or the CUSTOM name */
    uint64_t timestamp_us; /* UTC microseconds since the epoch */
    const char *call_id;   /* "" when not about a call */
    const char *leg_id;    /* "" when not about a leg */
    const char *linked_id; /* "" when not about a call */
    size_t field_count;
    const tandem_field *fields;
} tandem_event;

typedef struct tandem_event_subscriber {
    size_t struct_size;
    const char *name;   /* kept */
    uint64_t type_mask; /* TANDEM_EVENT_MASK(...) bits, or _ALL */
    void *user;
    /* Runs on the engine's event thread, never on a worker, in publication
     * order per call. Must not block for long: it delays every subscriber. */
    void (*on_event)(void *user, const tandem_event *event);
} tandem_event_subscriber;

/* ---------------------------------------------------------------------- */
/* Records for billing and reporting (CDR, queue log, recording metadata).  */

typedef struct tandem_record {
    size_t struct_size;
    const char *kind; /* "cdr", "queue_log", "recording" */
    const char *id;   /* unique; a sink stores each id at most once */
    const char *json; /* the record, one JSON object */
    size_t json_len;
} tandem_record;

typedef struct tandem_cdr_sink {
    size_t struct_size;
    const char *name; /* kept */
    void *user;
    /* Runs on the engine's record thread. Return TANDEM_OK once every
     * record is stored durably; anything else makes the engine retry the
     * same batch later (so storing must be idempotent by record id). */
    int (*write)(void *user, const tandem_record *records, size_t count);
} tandem_cdr_sink;

/* ---------------------------------------------------------------------- */
/* Console commands (`tandem ctl NAME ARGS...`).                            */

typedef struct tandem_console_command {
    size_t struct_size;
    const char *name;  /* kept; one word, must not clash with built-ins */
    const char *usage; /* kept; e.g. "example-hello NAME" */
    const char *help;  /* kept; one line */
    void *user;
    /* Runs on the console thread. argv[0] is the command name. Write output
     * with host->console_print(). Return TANDEM_OK or an error code (the
     * client then exits non-zero). */
    int (*run)(void *user, int argc, const char *const *argv,
               tandem_console_out *out);
} tandem_console_command;

/* ---------------------------------------------------------------------- */
/* Audio taps (ABI 1.3, record): both directions of a leg's audio as PCM.  */

/* Why a tap's closed() is called. */
enum tandem_tap_close_reason {
    TANDEM_TAP_REMOVED = 0,  /* leg_tap_remove() */
    TANDEM_TAP_DETACHED = 1, /* audio() returned non-zero */
    TANDEM_TAP_HANGUP = 2,   /* the leg it was on hung up */
    TANDEM_TAP_SHUTDOWN = 3  /* the engine is stopping */
};

typedef struct tandem_tap {
    size_t struct_size;
    uint32_t sample_rate; /* 8000, 16000 or 48000: the PCM the tap receives */
    void *user;
    /* Worker-only, once per media period (20 ms; after a late wake-up once
     * per period caught up, at most 4) while attached: `rx` is what
     * the leg's far end sent, `tx` what the engine sent to it, `samples`
     * (sample_rate / 50) of each, time-aligned on the media clock; silence
     * where a direction had nothing. Borrowed for the call. It must not
     * block (copy into a buffer; write files on a thread of your own).
     * Return 0 to go on, non-zero to detach (closed() follows). */
    int (*audio)(void *user, const int16_t *rx, const int16_t *tx, size_t samples);
    /* Worker-only, may be NULL: the tap is gone (enum
     * tandem_tap_close_reason); the last callback with `user`. */
    void (*closed)(void *user, int reason);
} tandem_tap;

/* ---------------------------------------------------------------------- */
/* Call control from a dialplan function (ABI 1.5, queue).                  */

/* How a bridge made with host->inv_bridge ended. */
enum tandem_bridge_end {
    TANDEM_BRIDGE_PEER_GONE = 0,    /* the dialled leg hung up */
    TANDEM_BRIDGE_CHANNEL_GONE = 1, /* the call's channel hung up */
    TANDEM_BRIDGE_DISSOLVED = 2     /* ended with both legs alive (a transfer) */
};

/* What a suspended invocation hears about its call (host->inv_watch). Every
 * callback runs on the call's worker; `tag` is the value given to inv_dial
 * for that leg. */
typedef struct tandem_inv_watch {
    size_t struct_size;
    void *user;
    /* A leg dialled with inv_dial changed state: RINGING, EARLY, UP, or
     * HUNGUP with its Q.850 cause (0 otherwise). May run before inv_dial
     * returns, when the driver fails or answers at once. */
    void (*leg_state)(void *user, tandem_leg *leg, uint64_t tag, int state, int cause);
    /* May be NULL. A digit from the call's channel. The digit is consumed:
     * a later read() of the script does not see it. */
    void (*dtmf)(void *user, char digit);
    /* May be NULL. The bridge made with inv_bridge ended (enum
     * tandem_bridge_end). With TANDEM_BRIDGE_CHANNEL_GONE the call is ending:
     * complete the invocation now (cancel() is then not called) or wait for
     * cancel(). */
    void (*bridge_end)(void *user, uint64_t tag, int how);
} tandem_inv_watch;

/* ---------------------------------------------------------------------- */
/* The host table: everything a module may call.                           */

typedef void (*tandem_task_fn)(void *arg);

struct tandem_host {
    size_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *engine_version;

    /* --- module and configuration (any thread) --- */

    /* Log a line; call_id may be NULL. */
    void (*log)(tandem_module *self, int level, const char *call_id,
                const char *fmt, ...) TANDEM_PRINTF(4, 5);
    /* A value from this module's table in tandem.lua (`module_config`),
     * converted to a string; NULL when absent. Valid until reload/unload. */
    const char *(*config_get)(tandem_module *self, const char *key);
    const char *(*module_name)(tandem_module *self);

    /* --- registration (only inside load() or reload()) ---
     * Names are global per kind; a clash returns TANDEM_EEXIST. Everything
     * a module registered is removed by the engine when it unloads. */
    int (*register_channel)(tandem_module *self, const tandem_channel_driver *driver);
    int (*register_function)(tandem_module *self, const tandem_function *function);
    int (*register_codec)(tandem_module *self, const tandem_codec *codec);
    int (*register_file_format)(tandem_module *self, const tandem_file_format *format);
    int (*subscribe)(tandem_module *self, const tandem_event_subscriber *subscriber);
    int (*register_cdr_sink)(tandem_module *self, const tandem_cdr_sink *sink);
    int (*register_console_command)(tandem_module *self, const tandem_console_command *command);

    /* --- workers and timers --- */

    /* Number of worker threads (any thread). */
    int (*worker_count)(void);
    /* Run fn(arg) on worker `worker` soon (any thread). TANDEM_EBUSY when
     * the engine is stopping: then fn is not called and arg is yours. */
    int (*post)(tandem_module *self, int worker, tandem_task_fn fn, void *arg);
    /* Worker-only: run fn(arg) once after `ms` on the current worker.
     * Returns a timer id > 0, or 0 on failure. */
    uint64_t (*timer_start)(tandem_module *self, uint32_t ms, tandem_task_fn fn, void *arg);
    /* Worker-only, same worker: cancel a timer that has not fired yet. */
    void (*timer_cancel)(tandem_module *self, uint64_t timer_id);

    /* --- legs --- */

    /* Any thread: a new inbound leg and call, routed by in->context and
     * in->exten once it reaches its worker. Returns a referenced leg (drop it
     * with leg_unref) or NULL when refused (engine stopping, bad args). */
    tandem_leg *(*leg_new_inbound)(tandem_module *self, const char *driver_name,
                                   const tandem_inbound *in);
    void (*leg_ref)(tandem_leg *leg);   /* any thread */
    void (*leg_unref)(tandem_leg *leg); /* any thread */
    /* Any thread: run fn(leg, arg) on the leg's worker. The engine holds a
     * reference until fn returns. TANDEM_EBUSY when stopping. */
    int (*leg_post)(tandem_leg *leg, void (*fn)(tandem_leg *leg, void *arg), void *arg);
    /* Any thread; the strings live as long as the leg. */
    const char *(*leg_id)(const tandem_leg *leg);
    const char *(*leg_call_id)(const tandem_leg *leg);
    const char *(*leg_linked_id)(const tandem_leg *leg);
    int (*leg_worker)(const tandem_leg *leg);
    /* Worker-only. */
    int (*leg_state)(const tandem_leg *leg);
    /* Worker-only: the driver reports remote progress (RINGING, EARLY, UP). */
    int (*leg_set_state)(tandem_leg *leg, int state);
    /* Worker-only: the driver reports that the far end hung up. */
    int (*leg_hangup)(tandem_leg *leg, int cause);
    /* Worker-only: the driver delivers one frame received from the far end. */
    int (*leg_push_frame)(tandem_leg *leg, const tandem_frame *frame);
    /* Worker-only: private driver state. */
    void (*leg_set_pvt)(tandem_leg *leg, void *pvt);
    void *(*leg_pvt)(const tandem_leg *leg);
    /* Worker-only: channel variables. leg_get_var's result is valid until the
     * variable changes or the callback returns, whichever is first. */
    const char *(*leg_get_var)(const tandem_leg *leg, const char *name);
    int (*leg_set_var)(tandem_leg *leg, const char *name, const char *value);
    /* Worker-only: the audio format this leg's driver reads and writes. */
    int (*leg_set_format)(tandem_leg *leg, const char *format);

    /* --- dialplan function invocations (worker-only) --- */

    tandem_leg *(*inv_leg)(tandem_invocation *inv);
    size_t (*inv_argc)(const tandem_invocation *inv);
    /* NULL past the last argument. Borrowed until invoke() returns; copy
     * what you need before suspending. */
    const tandem_value *(*inv_arg)(const tandem_invocation *inv, size_t index);
    /* Append one result (copied). */
    int (*inv_return)(tandem_invocation *inv, const tandem_value *value);
    /* Set the error message raised in Lua when invoke() returns an error. */
    void (*inv_error)(tandem_invocation *inv, const char *message);
    /* Finish a suspended invocation: the coroutine resumes with the results
     * added so far. `inv` is invalid afterwards. */
    void (*inv_complete)(tandem_invocation *inv);

    /* --- events and console --- */

    /* Any thread: publish a TANDEM_EVENT_CUSTOM event named `name` with
     * `count` key/value fields. call_id may be NULL. */
    int (*publish)(tandem_module *self, const char *name, const char *call_id,
                   const tandem_field *fields, size_t count);
    /* Console thread, inside tandem_console_command.run only. */
    void (*console_print)(tandem_console_out *out, const char *text);

    /* --- added in ABI 1.1: sockets on a worker's event loop --- */

    /* Worker-only: call fn(fd, events, arg) on the current worker whenever
     * `fd` is ready (level-triggered; events are EPOLLIN/EPOLLOUT bits from
     * <sys/epoll.h>). One watch per fd; watching again replaces it. The fd
     * stays the module's: unwatch it (on the same worker) before closing.
     * This is how a channel keeps a call's media sockets on the call's
     * worker. Returns TANDEM_OK or TANDEM_EINVAL. */
    int (*fd_watch)(tandem_module *self, int fd, uint32_t events,
                    void (*fn)(int fd, uint32_t events, void *arg), void *arg);
    /* Worker-only, the worker that watches it. */
    void (*fd_unwatch)(tandem_module *self, int fd);

    /* --- added in ABI 1.1: caller identity --- */

    /* Worker-only: the leg's caller number and name ("" when unknown), e.g.
     * for the From header of an outbound INVITE. Valid until they change or
     * the callback returns. */
    void (*leg_caller)(const tandem_leg *leg, const char **number, const char **name);
    /* Worker-only: set them (NULL keeps a value), e.g. from P-Asserted-Identity. */
    int (*leg_set_caller)(tandem_leg *leg, const char *number, const char *name);

    /* --- added in ABI 1.1: the instance's directories --- */

    /* Any thread: an absolute directory of this instance, by name: "data",
     * "spool", "recordings", "logs", "sounds", "config" (where tandem.lua
     * is); NULL for an unknown name. Valid until the engine stops. Modules
     * keep their own files under "data" (tenants never share it). */
    const char *(*instance_path)(const char *which);
    /* Any thread: the instance name (tandem.lua's `instance`). */
    const char *(*instance_name)(void);

    /* --- added in ABI 1.1: console output format --- */

    /* Console thread, inside tandem_console_command.run: true when the user
     * asked for --json. Print one JSON object or array then; the engine
     * makes it the reply's data (other output is wrapped as {"output": ...}). */
    bool (*console_json)(const tandem_console_out *out);

    /* --- added in ABI 1.2: call features of channel drivers --- */

    /* Worker-only: call fn(arg, name, value) for every variable of the leg
     * whose name starts with `prefix` ("" for all), in name order; the
     * strings are borrowed for that call. fn must not change the leg's
     * variables. E.g. the SIP channel adds the `sip_h_X-...` variables as
     * headers to an outbound INVITE. Returns the number of variables seen. */
    int (*leg_vars_each)(const tandem_leg *leg, const char *prefix,
                         void (*fn)(void *arg, const char *name, const char *value), void *arg);
    /* Worker-only: a blind transfer asked for by `leg`'s far end (a SIP
     * REFER). The party `leg` is bridged to (or, for a dialled leg that is
     * not bridged, the call's channel) continues in the dialplan at
     * exten@context (context NULL: the one the call's channel is in): the
     * script stops where it waits, without on_hangup, and starts again
     * there with that party as its channel; `leg` is hung up (cause 16) in
     * a later task, so the driver can still signal on it. Returns TANDEM_OK,
     * TANDEM_ENOENT (no such extension, or nobody to transfer: nothing
     * changed), TANDEM_EBUSY (the script is not waiting in its main part,
     * or the call had 100 transfers), TANDEM_EGONE. */
    int (*leg_transfer)(tandem_leg *leg, const char *exten, const char *context);
    /* Worker-only, on `replaced`'s worker: an attended transfer (a SIP
     * INVITE with Replaces). Creates a leg of this module's driver
     * `driver_name`, already UP, in `replaced`'s call, described by `in`
     * (caller, format, pvt; context/exten/worker/linked_id are ignored),
     * and moves `replaced`'s bridge to it: the party `replaced` was
     * bridged with is now bridged with the new leg (a script waiting in
     * bridge() goes on waiting for the new bridge), and if `replaced` was
     * the call's channel the new leg becomes it. `replaced` is hung up
     * (cause 16) in a later task. Returns the new leg, referenced, or NULL
     * when `replaced` is gone or not bridged (nothing changed). */
    tandem_leg *(*leg_new_replacing)(tandem_module *self, const char *driver_name, tandem_leg *replaced,
                                     const tandem_inbound *in);
    /* Worker-only: the leg `leg` is bridged with, or NULL. Borrowed: valid
     * during the current callback (take leg_ref to keep it). E.g. the SIP
     * channel passes a hold on to the other party. */
    tandem_leg *(*leg_bridge_peer)(const tandem_leg *leg);

    /* --- added in ABI 1.2: records --- */

    /* Any thread: a record of `kind` ("queue_log", "recording", or a
     * module's own kind; not "cdr", which only the engine writes) into the
     * durable record spool, for every CDR sink (docs/records.md). `json` is
     * one JSON object: a string "id" in it is kept (it must be unique, e.g.
     * to make a retry idempotent), else one is assigned; "kind", "tenant"
     * and "time" (now, UTC) are filled in when absent. TANDEM_OK once it is
     * accepted: written to the spool, or held in memory while the spool
     * cannot be written (it is then written as soon as it can);
     * TANDEM_EINVAL for a bad kind or JSON. */
    int (*record_emit)(tandem_module *self, const char *kind, const char *json, size_t json_len);

    /* --- added in ABI 1.2: the registered codecs (for SDP) --- */

    /* Any thread: writes up to `cap` registered codecs into `out` (the
     * core's PCMU and PCMA first, then in registration order) and returns
     * how many are registered. The pointers are the registering modules'
     * kept descriptors: use them at once and copy what you keep (a codec
     * module may unload later). Check struct_size before reading the ABI
     * 1.2 members of a codec built against 1.0/1.1. */
    size_t (*codec_list)(const tandem_codec **out, size_t cap);

    /* --- added in ABI 1.3: shared audio streams, music on hold (moh) --- */

    /* Any thread: open a named stream of mono PCM16 at `rate` (8000, 16000
     * or 48000) that any number of legs hear at the same position (the
     * radio model: one feeder for all listeners). NULL when the name is
     * taken or the rate unsupported (the log says which). The stream's
     * clock starts now and moves one 20 ms period every 20 ms. */
    tandem_stream *(*stream_open)(tandem_module *self, const char *name, uint32_t rate);
    /* One feeder thread at a time, never a worker: append `samples` of PCM
     * at the stream's rate. Takes only what fits up to 200 ms ahead of the
     * stream's clock and returns how many samples it took; fewer than
     * given means "write the rest about 20 ms later". A feeder that falls
     * behind the clock starts again at its current period (the listeners
     * heard silence meanwhile). Never blocks. */
    size_t (*stream_write)(tandem_stream *stream, const int16_t *pcm, size_t samples);
    /* Any thread: close the stream and free `stream`; its listeners stop
     * hearing it. Close every stream before unload() returns (the engine
     * closes those left open after it). */
    void (*stream_close)(tandem_stream *stream);
    /* Worker-only: from the next 20 ms on, `leg` hears the stream `name`
     * (NULL: stops hearing one) until it is stopped, the stream closes,
     * the leg hangs up or enters a bridge. A prompt or tone played to the
     * leg is heard instead while it plays. While the leg hears a stream,
     * audio its bridge peer sends it is dropped. TANDEM_OK, TANDEM_ENOENT
     * (no open stream of that name), TANDEM_EGONE. */
    int (*leg_hear_stream)(tandem_leg *leg, const char *name);
    /* Worker-only, for channel drivers: `leg`'s far end holds (true) or
     * resumes (false) the call. The party it is bridged with hears the
     * stream named by its variable `moh_class` (else `leg`'s, else
     * "default"; an empty value: nothing) until the resume or the end of
     * the bridge. TANDEM_OK, also when nobody is bridged or no such stream
     * is open (the peer then hears silence); TANDEM_EGONE. */
    int (*leg_set_held)(tandem_leg *leg, bool held);
    /* --- added in ABI 1.3: audio taps (record) --- */

    /* Worker-only: attach `tap` (copied) to `leg`. The tap follows the call:
     * when the leg leaves it through a transfer (leg_transfer: to the party
     * that stays) or is replaced (leg_new_replacing: to the new leg), the
     * tap moves with it, so `rx`/`tx` are then that leg's. Returns a tap id
     * (> 0), or 0 for a bad tap, a hung-up leg or an unloading module. */
    uint64_t (*leg_tap_add)(tandem_module *self, tandem_leg *leg, const tandem_tap *tap);
    /* Worker-only, on the worker of the tap's leg: detach it; closed()
     * (TANDEM_TAP_REMOVED) runs before this returns. TANDEM_ENOENT when it
     * is not attached (any more). */
    int (*leg_tap_remove)(tandem_module *self, uint64_t tap_id);
    /* Any thread: run fn(channel, arg) on the worker of the call `call_id`
     * with the call's channel leg (borrowed for the call), or fn(NULL, arg)
     * when there is no such call; fn runs exactly once unless this returns
     * TANDEM_EBUSY (the engine is stopping: arg is yours). E.g. a console
     * command acting on a call by its id. */
    int (*call_post)(tandem_module *self, const char *call_id, void (*fn)(tandem_leg *channel, void *arg),
                     void *arg);

    /* --- added in ABI 1.3: the far end's codec parameters (codecs) --- */

    /* Worker-only: the far end's parameters for the leg's current format
     * (an RTP channel passes the negotiated codec's a=fmtp, "" when there was
     * none; NULL: unknown). Translators made for the leg from then on hand
     * them to the codec's state_new_params. Setting another format with
     * leg_set_format forgets them. TANDEM_OK, or TANDEM_EGONE. */
    int (*leg_set_format_params)(tandem_leg *leg, const char *params);

    /* --- added in ABI 1.4: native relay (media path) --- */

    /* Worker-only, for channel drivers with a jitter buffer: true while a
     * frame pushed on `leg` goes to its bridge peer at once and nothing in
     * the engine needs it on the media tick (no tap, mixer or in-band DTMF
     * detection). The far end has its own jitter buffer then: a driver may
     * push frames as they arrive instead of buffering them, marking gaps
     * with TANDEM_FRAME_LOST frames and silences with empty frames (len 0,
     * samples > 0), so the peer's driver keeps the timing. Ask per packet:
     * it changes when a recording, spy or conference starts or ends. */
    bool (*leg_relays_directly)(const tandem_leg *leg);

    /* --- added in ABI 1.5: call control from a dialplan function (queue) ---
     * All worker-only, on the invocation's worker, and only while it is
     * suspended (after invoke() returned TANDEM_SUSPENDED, before
     * inv_complete() or cancel()). The legs an invocation dials belong to its
     * call. When it completes, its bridge ends and those still up are hung
     * up (cause 16), so a module cannot leave a leg behind; when it is
     * cancelled, those still ringing are hung up and answered ones are left
     * to the call (the script's end hangs them up; after a transfer the
     * party that goes on keeps its leg). */

    /* Follow the call: `watch` (copied) replaces any earlier one. TANDEM_OK,
     * TANDEM_EINVAL (not suspended, or a NULL leg_state). */
    int (*inv_watch)(tandem_invocation *inv, const tandem_inv_watch *watch);
    /* Dial `target` ("DRIVER/DEST", as the script's dial()) as a new leg of
     * the invocation's call. The leg inherits the channel's caller identity
     * and variables (so `sip_h_X-...` variables become SIP headers), then
     * `vars` are set on it. Progress reaches watch->leg_state with `tag`.
     * Returns the leg, referenced (leg_unref it), or NULL when `target` is
     * malformed or names no loaded driver (the log says which). */
    tandem_leg *(*inv_dial)(tandem_invocation *inv, const char *target, const tandem_field *vars, size_t count,
                            uint64_t tag);
    /* Hang up a leg this invocation dialled. TANDEM_OK (also when it is
     * already gone), TANDEM_ENOENT (not one of its legs). */
    int (*inv_hangup)(tandem_invocation *inv, tandem_leg *leg, int cause);
    /* Bridge the call's channel with `leg`, a leg this invocation dialled
     * that is UP; the channel stops hearing any stream. The end reaches
     * watch->bridge_end. TANDEM_OK, TANDEM_ENOENT (not one of its legs),
     * TANDEM_EGONE (either side hung up), TANDEM_EBUSY (either side is
     * bridged, or the leg is not UP). */
    int (*inv_bridge)(tandem_invocation *inv, tandem_leg *leg);
    /* Play `items` to the channel or to a leg this invocation dialled, over
     * whatever it hears (a stream resumes after). An item is a prompt name
     * as for the script's play() ("en/please-hold"), a tone ("tone:..."),
     * or a value spoken in the leg's `language` (default "en"):
     * "number:N", "duration:SECONDS", "digits:D". Items that cannot be
     * played are logged and left out. done(arg) runs later on the worker
     * when the items have played to the end; it does not run when the play
     * is stopped (inv_play_stop, a later inv_play on that leg, the leg's
     * hang-up, the end of the invocation). TANDEM_OK, TANDEM_ENOENT (not
     * its leg), TANDEM_EGONE, TANDEM_EINVAL (a spoken value out of range). */
    int (*inv_play)(tandem_invocation *inv, tandem_leg *leg, const char *const *items, size_t count,
                    void (*done)(void *arg), void *arg);
    /* Stop what inv_play plays to `leg`. TANDEM_OK, TANDEM_ENOENT. */
    int (*inv_play_stop)(tandem_invocation *inv, tandem_leg *leg);

    /* --- added in ABI 1.5: calls a module places (queue callbacks) --- */

    /* Any thread: call `dest` ("DRIVER/DEST") as a new call; once it
     * answers it runs the dialplan at exten@context (context NULL:
     * "default") with `vars` set on its channel and originated=true, as
     * `tandem ctl originate`. The new call's id goes to call_id (up to cap
     * bytes with its NUL; TANDEM_CALL_ID_SIZE always hold it) when not NULL.
     * There is no ringing timeout: hang it up with call_hangup. TANDEM_OK,
     * TANDEM_EINVAL (malformed dest, or cap below TANDEM_CALL_ID_SIZE: no
     * call is placed), TANDEM_ENOENT (no such driver), TANDEM_EBUSY
     * (stopping, limits.max_calls, or the record spool refuses calls); the
     * log says which. */
    int (*originate)(tandem_module *self, const char *dest, const char *exten, const char *context,
                     const tandem_field *vars, size_t count, char *call_id, size_t cap);
    /* Any thread: hang up every leg of the call `call_id` with `cause`, as
     * `tandem ctl hangup`, soon on its worker; nothing when there is no
     * such call (any more). TANDEM_OK, TANDEM_EINVAL, TANDEM_EBUSY
     * (stopping). */
    int (*call_hangup)(tandem_module *self, const char *call_id, int cause);
};

/* ---------------------------------------------------------------------- */
/* The module descriptor and its entry point.                               */

typedef struct tandem_module_desc {
    size_t struct_size;
    uint16_t abi_major; /* TANDEM_ABI_MAJOR the module was built against */
    uint16_t abi_minor;
    const char *name;    /* unique; what tandem.lua's `modules` list names */
    const char *version; /* the module's own version, free text */
    const char *description;
    const char *const *depends; /* NULL-terminated module names, or NULL */

    /* Called once, on the main thread, after the dependencies loaded.
     * Register what the module provides. `host` stays valid until unload.
     * Return TANDEM_OK, or an error: the engine then removes anything it
     * registered and unloads it. */
    int (*load)(tandem_module *self, const tandem_host *host);
    /* Called on the main or console thread when no call uses the module.
     * May be NULL. */
    void (*unload)(tandem_module *self);
    /* `module reload NAME`: the engine first removes everything the module
     * registered, then calls reload(), which registers again (as load() did)
     * with its configuration re-read. May be NULL: reload then means unload
     * and load again from the same file. */
    int (*reload)(tandem_module *self);
} tandem_module_desc;

#define TANDEM_MODULE_ENTRY_SYMBOL "tandem_module_entry"
typedef const tandem_module_desc *(*tandem_module_entry_fn)(void);

/* Declare a module's entry point:
 *   TANDEM_MODULE(my_desc)
 * expands to the one exported function the engine looks for. */
#define TANDEM_MODULE(desc)                                                  \
    TANDEM_EXPORT const tandem_module_desc *tandem_module_entry(void);      \
    TANDEM_EXPORT const tandem_module_desc *tandem_module_entry(void) {     \
        return &(desc);                                                      \
    }

/* Convenience initialiser for the descriptor's version fields. */
#define TANDEM_MODULE_DESC_INIT                                              \
    sizeof(tandem_module_desc), TANDEM_ABI_MAJOR, TANDEM_ABI_MINOR

#ifdef __cplusplus
}
#endif

#endif /* TANDEM_MODULE_H */
