/*
 * exits.h — learn of container exits without polling: watch the directory where conmon writes
 * one exit file per container ("<dir>/<id>", holding the exit code as decimal text; 128+N when
 * signal N killed it).  oci.c's: the CRI layer learns of exits through the runtime (watch_exits).
 *
 * One thread per watcher (inotify).  The callback runs on that thread, once per complete exit
 * file that appears, and once per file already present when the watcher starts (so exits that
 * happened while the daemon was down are reported too); it must be idempotent and quick.  It is
 * told which container exited; exit_file_read says how.
 */
#ifndef LITECRI_RUNTIME_EXITS_H
#define LITECRI_RUNTIME_EXITS_H

#include <stdint.h>

#include "util/err.h"

struct exits;

typedef void (*exits_cb)(const char *id, void *arg);

/* Create dir if missing, report the files present, then watch for new ones. */
int exits_start(const char *dir, exits_cb cb, void *arg, struct exits **out, struct lc_err *err);

/* Stop the thread and free x (NULL is fine).  No callback runs after it returns. */
void exits_stop(struct exits *x);

/* Read "<dir>/<id>" (id: 64 hex digits); finished_at: the file's modification time in ns since the
 * epoch.  Absent: -1 with errnum ENOENT. */
int exit_file_read(const char *dir, const char *id, int *exit_code, int64_t *finished_at, struct lc_err *err);

/* The same of an exit file at path (conmon's copy in its --persist-dir: "<bundle>/exit"). */
int exit_path_read(const char *path, int *exit_code, int64_t *finished_at, struct lc_err *err);

/* Remove "<dir>/<id>"; absent is fine. */
int exit_file_remove(const char *dir, const char *id, struct lc_err *err);

#endif
