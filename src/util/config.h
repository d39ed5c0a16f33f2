/*
 * config.h — daemon configuration: built-in defaults, then the INI config file and its drop-ins,
 * then command-line flags (each later source overrides the earlier one).
 *
 * File format (libinih), all keys optional:
 *   [daemon]
 *   listen = unix:///run/litecri/litecri.sock
 *   db = /var/lib/litecri/litecri.db
 *   root = /var/lib/litecri
 *   state = /run/litecri
 *   log_level = info
 *   runtime = runc
 *   workers = 4
 *   shutdown_timeout = 10
 * Drop-ins: every "*.conf" in "<config file>.d/", in byte order of their names, after the file.
 */
#ifndef LITECRI_UTIL_CONFIG_H
#define LITECRI_UTIL_CONFIG_H

#include <limits.h>

#include "util/err.h"

#define LITECRI_DEFAULT_CONFIG "/etc/litecri/litecri.conf"

struct lc_config {
	char listen[PATH_MAX + 16]; /* as given: unix:///path, unix:/path or /path */
	char socket_path[PATH_MAX]; /* derived from listen */
	char db[PATH_MAX];
	char root[PATH_MAX];
	char state[PATH_MAX];
	char runtime[PATH_MAX];
	int log_level;        /* enum log_level */
	int workers;          /* worker threads started at once (the pool grows when all are busy) */
	int shutdown_timeout; /* seconds in-flight calls get to finish after SIGTERM */
};

void config_defaults(struct lc_config *c);

/*
 * Set one key (as named in the file; flags use the same names with '-' for '_').
 * Validates the value; on error names the key and value.
 */
int config_set(struct lc_config *c, const char *key, const char *value, struct lc_err *err);

/*
 * Load `path` and then every "*.conf" file in "<path>.d".  A missing file is fine when !required (the default
 * file), an error when required (given with --config).  Parse errors name file and line.
 */
int config_load(struct lc_config *c, const char *path, int required, struct lc_err *err);

#endif
