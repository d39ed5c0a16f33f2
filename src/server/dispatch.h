/*
 * dispatch.h — the one table that maps CRI method paths to handlers.
 *
 * Every implemented method is served under both "/runtime.v1.<Service>/<Method>" and
 * "/runtime.v1alpha2.<Service>/<Method>" (their messages are wire-compatible, so the v1 message
 * types decode both).  Methods of the CRI that are not in the table answer UNIMPLEMENTED.
 */
#ifndef LITECRI_SERVER_DISPATCH_H
#define LITECRI_SERVER_DISPATCH_H

#include <stddef.h>

#include "cri/cri.h"

enum dispatch_kind {
	/* short (database reads, small answers): run on the polling thread as soon as it arrives */
	DISPATCH_FAST = 0,
	/* may take long (network, runtime, large disk work): run by the worker pool */
	DISPATCH_SLOW = 1,
	/* server-streaming (GetContainerEvents): the handler accepts the request on the polling thread,
	 * then the server sends the event feed to the call (server.h).  Served under runtime.v1 only:
	 * runtime.v1alpha2 was dropped before the CRI had any streaming method. */
	DISPATCH_STREAM = 2,
};

struct dispatch_method {
	const char *service;  /* "RuntimeService" or "ImageService" */
	const char *name;     /* "Version" */
	cri_handler fn;
	enum dispatch_kind kind;
	/* Filled by dispatch_init from the generated service descriptors: */
	const ProtobufCMessageDescriptor *input, *output;
};

/* Resolve message descriptors; 0 on success, -1 if a table entry is not a CRI method. */
int dispatch_init(void);

/* The table and its length. */
const struct dispatch_method *dispatch_methods(size_t *n);

/* The methods' names ("Version", ...) in the table's order, for metrics (lives as long as the process). */
const char *const *dispatch_names(void);

/* The package prefix of an API version: "runtime.v1" or "runtime.v1alpha2". */
const char *dispatch_package(enum cri_api api);

#endif
