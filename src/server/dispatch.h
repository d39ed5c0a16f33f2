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

struct dispatch_method {
	const char *service;  /* "RuntimeService" or "ImageService" */
	const char *name;     /* "Version" */
	cri_handler fn;
	/* 1: may take long (network, runtime, large disk work): run by the worker pool.  0: short
	 * (database reads, small answers): run on the polling thread as soon as it arrives. */
	int slow;
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
