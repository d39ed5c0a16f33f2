/*
 * pods.h — pod sandbox and container records (tables sandboxes, containers, their labels and
 * annotations, container_layers, their list entries; migrations 0001, 0003, 0004, 0005, 0007 and
 * 0008).  All lifecycle SQL lives here.
 *
 * Every state change is one short transaction: a single statement, or several inside BEGIN
 * IMMEDIATE.  The in-flight flags (stopping, starting, removing, updating) are taken by
 * store_flag_set: one conditional UPDATE whose changed-row count says whether the transition was
 * allowed; when it was not, the caller is told why (enum refusal) from a read of the row in the
 * same BEGIN IMMEDIATE transaction, so the reason is the one that refused this UPDATE.  Nothing here
 * touches the runtime or the filesystem.
 *
 * Rows as read (asserted): state is one of the table's states below; a sandbox has at most one of
 * creating, stopping, removing set; a container being created has no other flag, and starting and
 * removing are never set together (updating may run alongside a start or a removal).
 *
 * Strings of returned rows are allocated in the arena the caller passes (one per gRPC call).
 */
#ifndef LITECRI_STORE_PODS_H
#define LITECRI_STORE_PODS_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

struct store;

/* A full ID: lowercase hex digits (the schema checks them). */
#define OBJ_ID_LEN 64
#define OBJ_ID_BUF (OBJ_ID_LEN + 1)

/* CRI enum values, as stored; macros so that the SQL text of pods.c names them (SQL_INT). */
#define SANDBOX_READY 0
#define SANDBOX_NOTREADY 1
/* sandboxes.network: the pod's CNI attachment (migrations/0005_network.sql) */
#define NET_NONE 0     /* none: a host-network pod, or torn down */
#define NET_ADDING 1   /* an ADD is in flight (recovery DELs it) */
#define NET_ATTACHED 2 /* recorded with READY */
#define NET_DELETING 3 /* a DEL is in flight or failed (retried by Stop, Remove and recovery) */
#define CTR_CREATED 0
#define CTR_RUNNING 1
#define CTR_EXITED 2
#define CTR_UNKNOWN 3

/* Why a conditional transition changed nothing (REFUSED_NONE: it did not refuse). */
enum refusal {
	REFUSED_NONE = 0,
	REFUSED_MISSING,   /* no such row */
	REFUSED_CREATING,  /* its create is still in flight */
	REFUSED_STARTING,  /* a StartContainer is in flight */
	REFUSED_STOPPING,  /* a StopPodSandbox is in flight */
	REFUSED_REMOVING,  /* a Remove is in flight */
	REFUSED_RUNNING,   /* state RUNNING (container) */
	REFUSED_UNKNOWN,   /* state UNKNOWN (container) */
	REFUSED_STATE,     /* another state that does not allow it (e.g. Start of an EXITED container) */
	REFUSED_NOT_READY, /* the sandbox is not READY (CreateContainer) */
	REFUSED_UPDATING,  /* an UpdateContainerResources is in flight */
	REFUSED_NETWORK,   /* the sandbox's network is not torn down (network <> NET_NONE) */
};

/*
 * The in-flight flags: what each needs to be set, and the refusals reported when it is not, the
 * first that holds in this order (REFUSED_MISSING before all of them).  "Nothing in flight": the
 * flags its refusals name are clear (a flag not named there does not hold it back).
 */
enum store_flag {
	/* sandboxes.stopping: nothing in flight — CREATING, REMOVING, STOPPING */
	FLAG_SANDBOX_STOPPING,
	/* sandboxes.removing: NOTREADY, network NONE, nothing in flight — CREATING, REMOVING, STOPPING,
	 * NETWORK, STATE (READY) */
	FLAG_SANDBOX_REMOVING,
	/* containers.starting: CREATED, nothing in flight — CREATING, REMOVING, STARTING, RUNNING,
	 * UNKNOWN, STATE (EXITED) */
	FLAG_CTR_STARTING,
	/* containers.removing: neither RUNNING nor UNKNOWN, nothing in flight (the reference's
	 * setContainerRemoving) — CREATING, REMOVING, STARTING, RUNNING, UNKNOWN */
	FLAG_CTR_REMOVING,
	/* containers.updating: CREATED or RUNNING, nothing in flight — CREATING, REMOVING, UPDATING,
	 * STATE (EXITED, UNKNOWN) */
	FLAG_CTR_UPDATING,
};

struct kv {
	const char *key, *value;
};

/* A new sandbox or container row: written with creating = 1 by *_insert. */
struct obj_new {
	char id[OBJ_ID_BUF];
	const char *sandbox_id;      /* containers only */
	const char *name;            /* the reserved name */
	const char *meta_name, *meta_namespace, *meta_uid; /* namespace/uid: sandboxes only */
	uint32_t meta_attempt;
	const void *config; size_t config_len; /* the CRI config, protobuf-encoded as received */
	/* its list entry (container_entries / sandbox_entries, migration 0008): the CRI Container /
	 * PodSandbox message without id, state and created_at, protobuf-encoded; NULL: none (a list
	 * builds it from config) */
	const void *list_entry; size_t list_entry_len;
	const char *config_digest;   /* sha256 hex of config (with the sandbox id for containers) */
	const struct kv *labels; size_t n_labels;
	const struct kv *annotations; size_t n_annotations;
	/* sandboxes */
	const char *runtime_handler, *log_directory;
	int no_infra;                /* 1: no infra container (the pinned namespaces are the pod) */
	/* containers */
	const char *image, *image_ref, *log_path;
	int stop_signal;
	const char *const *layers; size_t n_layers; /* chain IDs, bottom first (container_layers) */
};

/* What holds a name that *_insert found taken. */
struct obj_holder {
	char id[OBJ_ID_BUF];
	int same;     /* its config_digest equals the new request's */
	int creating; /* its create is still in flight */
};

struct sandbox_row {
	char id[OBJ_ID_BUF];
	const char *name, *meta_name, *meta_namespace, *meta_uid;
	uint32_t meta_attempt;
	int state, creating, stopping, removing;
	int64_t created_at, finished_at;
	const char *runtime_handler, *netns_path, *ip, *log_directory, *reason, *message;
	int64_t pid;
	const void *config; size_t config_len;
	int network;                   /* NET_* */
	const char *net_config, *net_result; /* "" when not recorded */
	const char *additional_ips;    /* space-separated, "" when none */
	int infra;                     /* 1: an infra container; 0: the pinned namespaces are the pod */
};

/* A pod's CNI attachment as RunPodSandbox records it with READY. */
struct sandbox_net {
	const char *config, *result; /* JSON text (net_attachment) */
	char *const *ips;            /* the first becomes ip, the others additional_ips */
	size_t n_ips;
};

struct container_row {
	char id[OBJ_ID_BUF];
	char sandbox_id[OBJ_ID_BUF];
	const char *name, *meta_name;
	uint32_t meta_attempt;
	int state, creating, starting, removing;
	int64_t created_at, started_at, finished_at;
	int exit_code;
	const char *reason, *message, *image, *image_ref, *log_path;
	int64_t pid;
	int stop_signal;
	const void *config; size_t config_len;
	const void *resources; size_t resources_len; /* NULL: never updated (the config's apply) */
	int updating;
};

/* ListPodSandbox / ListContainers filters: NULL / negative = not filtered. */
struct obj_filter {
	const char *id_prefix;         /* exact ID or a prefix of it (lowercase hex) */
	int state;                     /* rows in this state (as the client sent it: none if not a state) */
	const char *sandbox_id_prefix; /* containers only */
	const struct kv *labels; size_t n_labels; /* all must match */
};

/* --- sandboxes ------------------------------------------------------------------------------- */

/*
 * Insert the sandbox (creating = 1, NOTREADY) with its labels and annotations.  Name taken: -1 with
 * errnum EEXIST and *holder describing the row holding it.
 */
int store_sandbox_insert(struct store *s, const struct obj_new *n, struct obj_holder *holder, struct lc_err *err);

/*
 * RunPodSandbox finished: READY, creating = 0, with its infra pid, netns and created_at; with `net`
 * (NULL: a pod without a CNI attachment) network = ATTACHED, its config, result and IPs, in the same
 * statement.  No create in flight (a missing row, or one created already): -1 with errnum ENOENT.
 */
int store_sandbox_created(struct store *s, const char *id, int64_t pid, const char *netns_path,
			  const struct sandbox_net *net, int64_t created_at, struct lc_err *err);

/*
 * Before RunPodSandbox's CNI ADD: network = ADDING with the config lists it will run, on a row
 * being created without a network.  Else -1 with errnum ENOENT.
 */
int store_sandbox_net_adding(struct store *s, const char *id, const char *config, struct lc_err *err);

/*
 * Before a DEL of an attachment: network ADDING or ATTACHED → DELETING (DELETING stays).  *pending
 * = 1 if the network is DELETING now (a DEL is due), 0 if it is NONE (nothing to tear down) or the
 * row is missing.
 */
int store_sandbox_net_deleting(struct store *s, const char *id, int *pending, struct lc_err *err);

/* The DEL succeeded: network NONE, its config, result and IPs cleared.  A missing row is no error. */
int store_sandbox_net_deleted(struct store *s, const char *id, struct lc_err *err);

/*
 * The sandbox `ref` names: its full ID or a unique prefix (1..64 lowercase hex digits).
 * None: -1 with errnum ENOENT; ambiguous: EINVAL.
 */
int store_sandbox_resolve(struct store *s, const char *ref, char id[OBJ_ID_BUF], struct lc_err *err);

/* Read one sandbox.  Missing: -1 with errnum ENOENT. */
int store_sandbox_get(struct store *s, const char *id, struct arena *a, struct sandbox_row *out, struct lc_err *err);

/* Sandboxes matching f (creating ones excluded), in creation order. */
int store_sandbox_list(struct store *s, const struct obj_filter *f, struct arena *a, struct sandbox_row **out,
		       size_t *n, struct lc_err *err);

/*
 * What a list needs of each object, no more: its ID, its encoded list entry (NULL for objects
 * inserted before migration 0007), state and created_at, read from the entries table and the
 * object's list index (never its row).  The filters and order of store_*_list.  Each row is
 * passed to fn as it is read, nothing copied: id and entry point into SQLite's row and are valid
 * only during that call.  fn returns 0 to go on or -1 (its error set in err) to stop the list,
 * which then returns -1.
 */
struct list_item {
	const char *id;
	size_t id_len;
	const void *entry;
	size_t entry_len;
	int state;
	int64_t created_at;
};
typedef int (*list_item_fn)(void *ctx, const struct list_item *it, struct lc_err *err);
int store_sandbox_list_items(struct store *s, const struct obj_filter *f, list_item_fn fn, void *ctx,
			     struct lc_err *err);

/* StopPodSandbox finished: NOTREADY (finished_at set once), pid = 0, stopping = 0. */
int store_sandbox_stopped(struct store *s, const char *id, int64_t finished_at, struct lc_err *err);

/*
 * The infra process exited: NOTREADY, pid = 0, finished_at set once — only if READY and not being
 * created (*changed = 1 if this call recorded it).
 */
int store_sandbox_infra_exited(struct store *s, const char *id, int64_t finished_at, int *changed, struct lc_err *err);

/* Delete the row (releasing its name).  Its containers must be gone: else -1 with errnum EBUSY. */
int store_sandbox_delete(struct store *s, const char *id, struct lc_err *err);

/* IDs of the sandbox's containers (any state, creating ones too). */
int store_sandbox_containers(struct store *s, const char *sandbox_id, struct arena *a, char (**ids)[OBJ_ID_BUF],
			     size_t *n, struct lc_err *err);

/* --- containers ------------------------------------------------------------------------------ */

/*
 * Insert the container (creating = 1, CREATED) with labels, annotations and its layer list, if its
 * sandbox is READY and nothing is in flight on it.  Else -1: errnum ENOENT for a missing sandbox;
 * EAGAIN with *why the first of REFUSED_CREATING, REMOVING, STOPPING, NOT_READY that holds, read
 * in the insert's transaction.  Name taken: -1 with errnum EEXIST and *holder.
 */
int store_container_insert(struct store *s, const struct obj_new *n, struct obj_holder *holder,
			   enum refusal *why, struct lc_err *err);

/* CreateContainer finished: creating = 0, pid, created_at.  No create in flight: -1 with errnum ENOENT. */
int store_container_created(struct store *s, const char *id, int64_t pid, int64_t created_at, struct lc_err *err);

/* As store_sandbox_resolve, for containers. */
int store_container_resolve(struct store *s, const char *ref, char id[OBJ_ID_BUF], struct lc_err *err);

/* Read one container.  Missing: -1 with errnum ENOENT. */
int store_container_get(struct store *s, const char *id, struct arena *a, struct container_row *out,
			struct lc_err *err);

/* Containers matching f (creating ones excluded), in creation order. */
int store_container_list(struct store *s, const struct obj_filter *f, struct arena *a, struct container_row **out,
			 size_t *n, struct lc_err *err);

/* As store_sandbox_list_items, for containers. */
int store_container_list_items(struct store *s, const struct obj_filter *f, list_item_fn fn, void *ctx,
			       struct lc_err *err);

/*
 * StartContainer succeeded (only while starting is set; else nothing changes): starting = 0;
 * RUNNING with started_at (never after a finished_at the exit watcher may already have recorded: a
 * process that exits at once is EXITED, not RUNNING).
 */
int store_container_started(struct store *s, const char *id, int64_t started_at, struct lc_err *err);

/* StartContainer failed: starting = 0, EXITED with exit_code, reason ("StartError") and message. */
int store_container_start_failed(struct store *s, const char *id, int64_t finished_at, int exit_code,
				 const char *reason, const char *message, struct lc_err *err);

/*
 * The container's process exited: EXITED with exit_code, finished_at, reason, pid = 0 — only if it
 * was not EXITED already (idempotent: the exit watcher and recovery may both report it).
 * *changed = 1 if this call recorded it.
 */
int store_container_exited(struct store *s, const char *id, int exit_code, int64_t finished_at, const char *reason,
			   int *changed, struct lc_err *err);

/*
 * UpdateContainerResources succeeded: resources (protobuf-encoded LinuxContainerResources) recorded,
 * updating = 0 — only while updating is set.  A row deleted meanwhile is no error.
 */
int store_container_updated(struct store *s, const char *id, const void *resources, size_t len, struct lc_err *err);

/* Delete the row: its labels, annotations and layer list go with it; the name is released. */
int store_container_delete(struct store *s, const char *id, struct lc_err *err);

/* --- in-flight flags ------------------------------------------------------------------------ */

/*
 * Set `flag` on the row with full ID `id` if enum store_flag's condition holds: 0 with *why =
 * REFUSED_NONE.  Else nothing changes: 0 with *why = the first of the flag's refusals that holds,
 * read in the same transaction (never REFUSED_NONE).  -1 only when the database fails.
 */
int store_flag_set(struct store *s, enum store_flag flag, const char *id, enum refusal *why, struct lc_err *err);

/*
 * Clear `flag` (and nothing else) on the row: after a failed operation so that it can be retried,
 * or at recovery when no call owns it any more.  A missing row is no error.
 */
int store_flag_reset(struct store *s, enum store_flag flag, const char *id, struct lc_err *err);

/* --- counts (metrics) ------------------------------------------------------------------------ */

/* What a metrics scrape reads from the database in one read transaction. */
struct store_counts {
	int64_t containers[4]; /* by state: CTR_CREATED .. CTR_UNKNOWN */
	int64_t sandboxes[2];  /* SANDBOX_READY, SANDBOX_NOTREADY */
	/* in-flight flags set */
	int64_t ctr_creating, ctr_starting, ctr_removing, ctr_updating;
	int64_t sb_creating, sb_stopping, sb_removing, sb_network; /* network: ADDING or DELETING */
	int64_t db_bytes;      /* page_count * page_size (the WAL not included) */
};
int store_counts(struct store *s, struct store_counts *out, struct lc_err *err);

/* --- host ------------------------------------------------------------------------------------ */

/* Value of key in table host ("" when absent) / set it. */
int store_host_get(struct store *s, const char *key, char *out, size_t n, struct lc_err *err);
int store_host_set(struct store *s, const char *key, const char *value, struct lc_err *err);

/* Every sandbox / container ID (for recovery at startup). */
int store_sandbox_ids(struct store *s, struct arena *a, char (**ids)[OBJ_ID_BUF], size_t *n, struct lc_err *err);
int store_container_ids(struct store *s, struct arena *a, char (**ids)[OBJ_ID_BUF], size_t *n, struct lc_err *err);

#endif
