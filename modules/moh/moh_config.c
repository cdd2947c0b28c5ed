/*
 * Reads the music-on-hold classes from tandem.lua:
 *
 *   module_config = { moh = { classes = {
 *     { name = "default", directory = "moh/default" },
 *     { name = "sales", files = { "moh/a.wav", "/srv/moh/b.ogg" }, rate = 16000 },
 *   } } }
 *
 * Relative paths are under the instance's sounds directory. Without a
 * `classes` list there is one class, "default", from moh/default. Every
 * file is opened once here (not on a worker: load() runs on the main
 * thread) so that a missing or unreadable file is reported at start-up
 * with libsndfile's reason, and a class with no playable file is left out
 * with an error; the engine and its calls go on either way.
 */
#include "moh.h"

#include <dirent.h>
#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG(level, ...) moh_host->log(moh_self, level, NULL, __VA_ARGS__)

static const char *class_field(int i, const char *field) {
    char key[96];
    snprintf(key, sizeof key, "classes.%d.%s", i, field);
    return moh_host->config_get(moh_self, key);
}

static char *resolve(const char *path) {
    if (path[0] == '/') return strdup(path);
    const char *sounds = moh_host->instance_path("sounds");
    char *out = NULL;
    if (asprintf(&out, "%s/%s", sounds ? sounds : ".", path) < 0) return NULL;
    return out;
}

/* Adds `path` (owned) when libsndfile can read it; else logs why. */
static void add_file(struct moh_class *c, char *path, size_t *cap) {
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        LOG(TANDEM_LOG_ERROR, "moh: class '%s': cannot play %s: %s", c->name, path, sf_strerror(NULL));
        free(path);
        return;
    }
    sf_close(sf);
    if (c->file_count == *cap) {
        size_t n = *cap ? *cap * 2 : 8;
        char **grown = realloc(c->files, n * sizeof *grown);
        if (!grown) { free(path); return; }
        c->files = grown;
        *cap = n;
    }
    c->files[c->file_count++] = path;
}

static int audio_name(const struct dirent *e) {
    const char *dot = strrchr(e->d_name, '.');
    if (e->d_name[0] == '.' || !dot) return 0;
    static const char *const exts[] = {".wav", ".ogg", ".opus", ".oga", ".flac"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; ++i)
        if (strcasecmp(dot, exts[i]) == 0) return 1;
    return 0;
}

/* The audio files of a directory, in name order. */
static void add_directory(struct moh_class *c, const char *dir, size_t *cap) {
    char *path = resolve(dir);
    if (!path) return;
    struct dirent **list = NULL;
    int n = scandir(path, &list, audio_name, alphasort);
    if (n < 0) {
        LOG(TANDEM_LOG_ERROR, "moh: class '%s': cannot read directory %s: %s", c->name, path, strerror(errno));
        free(path);
        return;
    }
    for (int i = 0; i < n; ++i) {
        char *file = NULL;
        if (asprintf(&file, "%s/%s", path, list[i]->d_name) >= 0) add_file(c, file, cap);
        free(list[i]);
    }
    free(list);
    free(path);
}

void moh_class_free(struct moh_class *c) {
    if (!c) return;
    for (size_t i = 0; i < c->file_count; ++i) free(c->files[i]);
    free(c->files);
    mtx_destroy(&c->lock);
    cnd_destroy(&c->wake);
    free(c);
}

static struct moh_class *class_new(const char *name, int i) {
    struct moh_class *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->rate = 8000;
    const char *rate = i ? class_field(i, "rate") : NULL;
    if (rate) c->rate = (unsigned)strtoul(rate, NULL, 10);
    mtx_init(&c->lock, mtx_plain);
    cnd_init(&c->wake);
    atomic_init(&c->stop, false);
    return c;
}

/* Class i of the list (1-based), or the built-in default (i = 0). */
static struct moh_class *load_class(int i) {
    const char *name = i ? class_field(i, "name") : "default";
    if (!name || !*name || strlen(name) >= MOH_NAME_MAX || strpbrk(name, " \t\"'/")) {
        LOG(TANDEM_LOG_ERROR, "moh: classes[%d] needs a name (letters, digits, -_., up to %d characters)", i,
            MOH_NAME_MAX - 1);
        return NULL;
    }
    struct moh_class *c = class_new(name, i);
    if (!c) return NULL;
    if (c->rate != 8000 && c->rate != 16000 && c->rate != 48000) {
        LOG(TANDEM_LOG_ERROR, "moh: class '%s': rate must be 8000, 16000 or 48000", name);
        moh_class_free(c);
        return NULL;
    }
    size_t cap = 0;
    const char *dir = i ? class_field(i, "directory") : "moh/default";
    if (dir) add_directory(c, dir, &cap);
    for (int f = 1; i; ++f) {
        char key[96];
        snprintf(key, sizeof key, "classes.%d.files.%d", i, f);
        const char *file = moh_host->config_get(moh_self, key);
        if (!file) break;
        char *path = resolve(file);
        if (path) add_file(c, path, &cap);
    }
    if (c->file_count == 0) {
        LOG(TANDEM_LOG_ERROR, "moh: class '%s' has no playable file; it is not offered", name);
        moh_class_free(c);
        return NULL;
    }
    LOG(TANDEM_LOG_INFO, "moh: class '%s': %zu file(s) at %u Hz", name, c->file_count, c->rate);
    return c;
}

struct moh_class *moh_config_load(void) {
    struct moh_class *head = NULL, **tail = &head;
    bool listed = class_field(1, "name") || class_field(1, "directory") || class_field(1, "files.1");
    for (int i = listed ? 1 : 0;; ++i) {
        if (i > 0 && !class_field(i, "name") && !class_field(i, "directory") && !class_field(i, "files.1")) break;
        struct moh_class *c = load_class(i);
        if (c) {
            for (struct moh_class *o = head; o; o = o->next)
                if (strcmp(o->name, c->name) == 0) {
                    LOG(TANDEM_LOG_ERROR, "moh: class '%s' is declared twice; the first one counts", c->name);
                    moh_class_free(c);
                    c = NULL;
                    break;
                }
        }
        if (c) {
            *tail = c;
            tail = &c->next;
        }
        if (i == 0) break;
    }
    return head;
}
