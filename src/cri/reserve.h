/*
 * reserve.h — how RunPodSandbox and CreateContainer take their object's name.  The name is reserved
 * by inserting the object's row (creating = 1) under a fresh ID; the row keeps the request as
 * received and its digest, so that kubelet retrying the same request after its own deadline is
 * recognised: while the first create is in flight the retry waits for it, then gets its object.  A
 * different request for a reserved name is ALREADY_EXISTS.  Internal to src/cri/.
 */
#ifndef LITECRI_CRI_RESERVE_H
#define LITECRI_CRI_RESERVE_H

#include <stddef.h>
#include <stdint.h>

#include "cri/cri.h"
#include "store/pods.h"

/* What differs between pods and containers. */
struct reserve_kind {
	const char *rpc;  /* "RunPodSandbox", for messages */
	const char *noun; /* "sandbox" */
	int container;    /* which table holds the rows: 1 containers, 0 sandboxes */
	int64_t wait_ns;  /* how long a retry waits for the identical create in flight */
	/*
	 * Insert n's row (creating = 1) under n->id: 0.  The name is taken: 1, with *holder filled.
	 * Any other failure: -1 with *code set by cri_fail.
	 */
	int (*insert)(struct cri_env *env, struct cri_call *call, const struct obj_new *n, struct obj_holder *holder,
		      grpc_status_code *code);
};

/*
 * The request's `config` as received, packed in call's arena (n->config, n->config_len), and the
 * digest an identical retry is recognised by: SHA-256 of those bytes followed by the extra_len bytes
 * at extra (what else the request depends on), hex in call's arena (n->config_digest).
 * GRPC_STATUS_OK, or RESOURCE_EXHAUSTED set with cri_fail.
 */
grpc_status_code reserve_request(struct cri_call *call, const struct reserve_kind *k, const ProtobufCMessage *config,
				 const void *extra, size_t extra_len, struct obj_new *n);

/*
 * Reserve n->name (n filled by the caller and reserve_request): returns
 *    1  reserved: n->id is the new row's; creating the object is this call's work, and on failure
 *       so is deleting the row (which releases the name);
 *    0  the name is held by the object an identical earlier request created: its ID is in n->id, the
 *       answer to this call.  A retry that finds that create still in flight logs (debug)
 *       "<rpc> <name>: waits for the identical create in flight (<noun> <id>)" and waits for it;
 *   -1  *code set with cri_fail: ALREADY_EXISTS (a different request holds the name),
 *       DEADLINE_EXCEEDED (the identical create did not finish within k->wait_ns or before the call's
 *       deadline), ABORTED (four
 *       holders in a row failed and released the name), or the failure of k->insert.
 */
int reserve_name(struct cri_env *env, struct cri_call *call, const struct reserve_kind *k, struct obj_new *n,
		 grpc_status_code *code);

#endif
