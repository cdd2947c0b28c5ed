/*
 * Music on hold: classes of audio files, each decoded by one feeder thread
 * into one shared stream of the engine (ABI 1.3 stream_open/stream_write),
 * which every worker plays to all the legs that hear that class (the radio
 * model). Nothing here decodes on a worker.
 */
#ifndef TANDEM_MOH_H
#define TANDEM_MOH_H

#include <tandem/module.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <threads.h>

extern const tandem_host *moh_host;
extern tandem_module *moh_self;

#define MOH_NAME_MAX 64

struct moh_class {
    char name[MOH_NAME_MAX];
    unsigned rate;      /* the stream's rate: 8000, 16000 or 48000 */
    char **files;       /* playable files, in playing order */
    size_t file_count;
    tandem_stream *stream;
    thrd_t feeder;
    bool feeding;       /* the feeder thread runs */
    atomic_bool stop;
    mtx_t lock;         /* guards the stop wake-up */
    cnd_t wake;
    struct moh_class *next;
};

/* moh_config.c: the classes tandem.lua declares (module_config.moh.classes),
 * each with its playable files; a class without one is logged and left out.
 * NULL when there is none. */
struct moh_class *moh_config_load(void);
void moh_class_free(struct moh_class *c);

/* moh_feeder.c: start the class's feeder thread on its open stream; stop
 * and join it (the stream stays open). */
int moh_feeder_start(struct moh_class *c);
void moh_feeder_stop(struct moh_class *c);

/* moh_functions.c: call:moh_start([class]) and call:moh_stop(), and the
 * console command `tandem ctl moh`. */
int moh_functions_register(void);
/* The classes the console command lists (set by moh_module.c). */
extern struct moh_class *moh_classes;

#endif
