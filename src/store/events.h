/*
 * events.h — the container event history (table events, migration 0006; docs/events.md).
 *
 * The rows are written by the schema's triggers in the statement that changes a container's row
 * (so in its transaction: a change that rolls back leaves none), never by this file; each write of
 * pods.c that may add one calls store_notify after it committed.  seq is the commit order and is
 * never reused; the host key 'events_retain' bounds how many rows are kept (each insert prunes).
 * Strings of returned rows are allocated in the arena the caller passes.
 */
#ifndef LITECRI_STORE_EVENTS_H
#define LITECRI_STORE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "store/pods.h"
#include "util/arena.h"
#include "util/err.h"

struct store;

/* events.kind: the CRI ContainerEventType values */
#define EVENT_CREATED 0
#define EVENT_STARTED 1
#define EVENT_STOPPED 2
#define EVENT_DELETED 3

struct event_row {
	int64_t seq, at;
	int kind;                  /* EVENT_* */
	char container_id[OBJ_ID_BUF];
	char sandbox_id[OBJ_ID_BUF];
	const char *container, *pod, *namespace; /* metadata names */
	uint32_t attempt;
	int has_exit;              /* STOPPED: exit_code and reason are set */
	int exit_code;
	const char *reason;
};

/*
 * Keep at most `retain` (>= 1) rows: recorded as host key 'events_retain', which the insert trigger
 * applies, and the rows beyond it pruned now — in one transaction.
 */
int store_events_retain(struct store *s, int64_t retain, struct lc_err *err);

/* The seq of the last event ever written (0: none), whether or not its row was pruned since. */
int store_events_last(struct store *s, int64_t *seq, struct lc_err *err);

/* Up to `max` rows with seq > after, in seq order. */
int store_events_after(struct store *s, int64_t after, size_t max, struct arena *a, struct event_row **out,
		       size_t *n, struct lc_err *err);

#endif
