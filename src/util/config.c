/* config.c — see config.h. */
#include "util/config.h"

#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/log.h"

void config_defaults(struct lc_config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->listen, "unix:///run/litecri/litecri.sock");
	strcpy(c->socket_path, "/run/litecri/litecri.sock");
	strcpy(c->db, "/var/lib/litecri/litecri.db");
	strcpy(c->root, "/var/lib/litecri");
	strcpy(c->state, "/run/litecri");
	strcpy(c->runtime, "runc");
	c->log_level = LOG_INFO;
	c->workers = 4;
	c->shutdown_timeout = 10;
}

static int set_path(char *dst, size_t cap, const char *key, const char *v, struct lc_err *err)
{
	if (!*v)
		return lc_fail(err, 0, "%s: empty value", key);
	if (strlen(v) >= cap)
		return lc_fail(err, ENAMETOOLONG, "%s: %s", key, v);
	if (v[0] != '/')
		return lc_fail(err, 0, "%s: %s is not an absolute path", key, v);
	strcpy(dst, v);
	return 0;
}

static int set_int(int *dst, const char *key, const char *v, int lo, int hi, struct lc_err *err)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return lc_fail(err, 0, "%s: %s is not a number in %d..%d", key, v, lo, hi);
	*dst = (int)n;
	return 0;
}

static int set_listen(struct lc_config *c, const char *v, struct lc_err *err)
{
	const char *p;
	if (!strncmp(v, "unix://", 7))
		p = v + 7;
	else if (!strncmp(v, "unix:", 5))
		p = v + 5;
	else if (v[0] == '/')
		p = v;
	else
		return lc_fail(err, 0, "listen: %s is not a unix socket address (unix:///path)", v);
	if (p[0] != '/')
		return lc_fail(err, 0, "listen: %s: the socket path must be absolute", v);
	if (strlen(p) >= 108) /* sizeof sockaddr_un.sun_path */
		return lc_fail(err, ENAMETOOLONG, "listen: socket path %s", p);
	if (strlen(v) >= sizeof c->listen)
		return lc_fail(err, ENAMETOOLONG, "listen: %s", v);
	strcpy(c->socket_path, p);
	snprintf(c->listen, sizeof c->listen, "unix://%s", p);
	return 0;
}

int config_set(struct lc_config *c, const char *key, const char *v, struct lc_err *err)
{
	if (!strcmp(key, "listen"))
		return set_listen(c, v, err);
	if (!strcmp(key, "db"))
		return set_path(c->db, sizeof c->db, key, v, err);
	if (!strcmp(key, "root"))
		return set_path(c->root, sizeof c->root, key, v, err);
	if (!strcmp(key, "state"))
		return set_path(c->state, sizeof c->state, key, v, err);
	if (!strcmp(key, "runtime")) {
		if (!*v || strlen(v) >= sizeof c->runtime)
			return lc_fail(err, 0, "runtime: invalid value '%s'", v);
		strcpy(c->runtime, v);
		return 0;
	}
	if (!strcmp(key, "log_level")) {
		int l = log_level_parse(v);
		if (l < 0)
			return lc_fail(err, 0, "log_level: '%s' is not one of error, warn, info, debug", v);
		c->log_level = l;
		return 0;
	}
	if (!strcmp(key, "workers"))
		return set_int(&c->workers, key, v, 1, 256, err);
	if (!strcmp(key, "shutdown_timeout"))
		return set_int(&c->shutdown_timeout, key, v, 0, 3600, err);
	return lc_fail(err, 0, "unknown setting '%s'", key);
}

struct ini_ctx {
	struct lc_config *c;
	struct lc_err *err;
	FILE *f;
	int line;       /* lines read so far, counted as inih counts them */
	int failed;     /* line of the first entry refused here, 0 if none */
	int read_errno; /* errno of a read error (e.g. EISDIR), 0 if none */
	int too_long;   /* line number of a line longer than inih's buffer, 0 if none */
};

/* fgets, counting lines, so that an entry's error can be matched with inih's line number. */
static char *ini_read_line(char *buf, int size, void *user)
{
	struct ini_ctx *x = user;
	char *s = fgets(buf, size, x->f);
	if (s) {
		x->line++;
		/* inih would split a longer line and misread the rest: refuse it instead. */
		if (!strchr(s, '\n') && !feof(x->f)) {
			x->too_long = x->line;
			return NULL;
		}
	} else if (ferror(x->f)) {
		x->read_errno = errno ? errno : EIO;
	}
	return s;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	if (x->failed)
		return 0;
	if (strcmp(section, "daemon") != 0) {
		lc_fail(x->err, 0, "unknown section [%s]", section);
		x->failed = x->line;
		return 0;
	}
	if (config_set(x->c, name, value, x->err) < 0) {
		x->failed = x->line;
		return 0;
	}
	return 1;
}

static int load_one(struct lc_config *c, const char *path, int required, struct lc_err *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !required)
			return 0;
		return lc_fail(err, errno, "config file %s", path);
	}
	struct ini_ctx x = { .c = c, .err = err, .f = f };
	int rc = ini_parse_stream(ini_read_line, &x, on_ini_entry, &x);
	fclose(f);
	if (x.read_errno)
		return lc_fail(err, x.read_errno, "config file %s", path);
	if (x.too_long)
		return lc_fail(err, 0, "config file %s line %d: line too long (at most %d characters)", path,
			       x.too_long, INI_MAX_LINE - 2);
	if (rc != 0) {
		/* inih reports the first error's line: ours only if no syntax error came before it */
		if (x.failed != rc)
			lc_fail(err, 0, "syntax error");
		return lc_wrap(err, "config file %s line %d", path, rc);
	}
	log_debug("config: loaded %s", path);
	return 0;
}

static int conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".conf");
}

int config_load(struct lc_config *c, const char *path, int required, struct lc_err *err)
{
	if (load_one(c, path, required, err) < 0)
		return -1;
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s.d", path) >= (int)sizeof dir)
		return lc_fail(err, ENAMETOOLONG, "%s.d", path);
	struct dirent **list = NULL;
	int n = scandir(dir, &list, conf_filter, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : lc_fail(err, errno, "config drop-in directory %s", dir);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		char file[PATH_MAX];
		if (rc == 0) {
			if (snprintf(file, sizeof file, "%s/%s", dir, list[i]->d_name) >= (int)sizeof file)
				rc = lc_fail(err, ENAMETOOLONG, "%s/%s", dir, list[i]->d_name);
			else
				rc = load_one(c, file, 1, err);
		}
		free(list[i]);
	}
	free(list);
	return rc;
}
