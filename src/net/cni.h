/*
 * cni.h — one CNI plugin run (internal to src/net): find the plugin, exec it with the CNI_*
 * variables and its config on stdin, read its result or error.
 */
#ifndef LITECRI_NET_CNI_H
#define LITECRI_NET_CNI_H

#include <stddef.h>

#include <jansson.h>

#include "net/net.h"
#include "util/err.h"

struct cni_call {
	const char *command;  /* "ADD" or "DEL" */
	const char *network;  /* the config list's name, for messages */
	const char *bin_dirs; /* ':'-separated, CNI_PATH */
	int timeout_ms;       /* > 0 */
	const struct net_pod *pod;
};

/* 1 with the path of plugin `type` in out: the first of bin_dirs holding an executable regular
 * file of that name; 0 when none does (or the path does not fit in len). */
int cni_find(const char *bin_dirs, const char *type, char *out, size_t len);

/*
 * Run plugin `type` with `conf` (its whole network config: name, cniVersion, prevResult...) on
 * stdin.  ADD: *result is the plugin's result, a JSON object (a new reference).  DEL: the output
 * is not read, *result is NULL (result may be NULL then).  Errors as net.h says, the message
 * naming c->network and the plugin: ENOENT not found, ETIMEDOUT killed at c->timeout_ms (with
 * its process group), EIO it failed (its CNI error's msg, details and code), EPROTO an ADD's
 * output that is no JSON object.
 */
int cni_exec(const struct cni_call *c, const char *type, json_t *conf, json_t **result, struct lc_err *err);

#endif
