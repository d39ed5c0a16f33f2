/* cni.c — see cni.h. */
#include "net/cni.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/proc.h"

extern char **environ;

int cni_find(const char *bin_dirs, const char *type, char *out, size_t len)
{
	for (const char *p = bin_dirs; *p;) {
		size_t dl = strcspn(p, ":");
		if (dl > 0) {
			int k = snprintf(out, len, "%.*s/%s", (int)dl, p, type);
			struct stat st;
			if (k > 0 && (size_t)k < len && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(out, X_OK) == 0)
				return 1;
		}
		p += dl;
		if (*p == ':')
			p++;
	}
	return 0;
}

/* The plugin's environment: the daemon's (PATH: a plugin runs iptables, ip...) without any CNI_*
 * variable, then the six of the protocol.  Freed with env_free. */
static char **cni_env(const struct cni_call *c)
{
	const struct net_pod *p = c->pod;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 7, sizeof *env);
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CNI_", 4) != 0 && !(env[k++] = strdup(environ[i])))
			goto fail;
	if (asprintf(&env[k++], "CNI_COMMAND=%s", c->command) < 0 ||
	    asprintf(&env[k++], "CNI_CONTAINERID=%s", p->id) < 0 ||
	    asprintf(&env[k++], "CNI_NETNS=%s", p->netns ? p->netns : "") < 0 ||
	    asprintf(&env[k++], "CNI_IFNAME=%s", p->ifname) < 0 ||
	    asprintf(&env[k++],
		     "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
		     "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s",
		     p->namespace_ ? p->namespace_ : "", p->name ? p->name : "", p->id, p->uid ? p->uid : "") < 0 ||
	    asprintf(&env[k++], "CNI_PATH=%s", c->bin_dirs) < 0) {
		env[k - 1] = NULL; /* asprintf leaves it undefined on failure */
		goto fail;
	}
	return env;
fail:
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* The first len bytes of s that fit a message: one line, blanks trimmed. */
static void one_line(char *s)
{
	for (char *q = s; *q; q++)
		if (*q == '\n' || *q == '\r' || *q == '\t')
			*q = ' ';
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
}

/* A failed plugin (exit status != 0): its CNI error on stdout, else what it wrote. */
static int plugin_failed(const struct cni_call *c, const char *type, struct proc_result *r, struct lc_err *err)
{
	json_auto_t *e = json_loads(r->out, 0, NULL);
	const char *msg = json_string_value(json_object_get(e, "msg"));
	if (msg) {
		const char *details = json_string_value(json_object_get(e, "details"));
		json_t *code = json_object_get(e, "code");
		return lc_failc(err, EIO, "network %s: plugin %s: %s%s%s (CNI code %lld)", c->network, type, msg,
				details && *details ? ": " : "", details ? details : "",
				(long long)json_integer_value(code));
	}
	char *text = r->errout_len ? r->errout : r->out;
	one_line(text);
	return lc_failc(err, EIO, "network %s: plugin %s failed (exit status %d)%s%.512s", c->network, type,
			r->status, *text ? ": " : "", text);
}

int cni_exec(const struct cni_call *c, const char *type, json_t *conf, json_t **result, struct lc_err *err)
{
	assert(c->timeout_ms > 0 && c->pod && c->pod->id && c->pod->ifname);
	int add = strcmp(c->command, "ADD") == 0;
	if (result)
		*result = NULL;
	char path[4096];
	if (!cni_find(c->bin_dirs, type, path, sizeof path))
		return lc_failc(err, ENOENT, "network %s: plugin %s not found in %s", c->network, type, c->bin_dirs);

	cleanup_free char *in = json_dumps(conf, JSON_COMPACT);
	if (!in)
		return lc_failc(err, ENOMEM, "network %s: plugin %s: encode its config", c->network, type);
	cleanup_close int fd = memfd_create("cni-config", MFD_CLOEXEC);
	if (fd < 0)
		return lc_fail(err, errno, "network %s: plugin %s: memfd for its config", c->network, type);
	size_t len = strlen(in);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, in + off, len - off);
		if (w < 0 && errno != EINTR)
			return lc_fail(err, errno, "network %s: plugin %s: write its config", c->network, type);
		off += w > 0 ? (size_t)w : 0;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return lc_fail(err, errno, "network %s: plugin %s: rewind its config", c->network, type);

	char **env = cni_env(c);
	if (!env)
		return lc_failc(err, ENOMEM, "network %s: plugin %s: environment", c->network, type);
	const char *argv[] = { path, NULL };
	struct proc_opts po = {
		.env = (const char *const *)env,
		.timeout_ms = c->timeout_ms,
		.stdin_fd = fd,
		.own_group = 1,
		.out_max = 1 << 20,
	};
	struct proc_result r;
	int rc = proc_run(argv, &po, &r, err);
	env_free(env);
	if (rc < 0)
		return lc_wrap(err, "network %s: plugin %s %s", c->network, type, c->command);
	if (r.status != 0) {
		plugin_failed(c, type, &r, err);
		proc_result_free(&r);
		return -1;
	}
	if (!add) {
		proc_result_free(&r);
		return 0;
	}
	json_error_t je;
	json_t *j = json_loadb(r.out, r.out_len, 0, &je);
	proc_result_free(&r);
	if (!json_is_object(j)) {
		json_decref(j);
		return lc_failc(err, EPROTO, "network %s: plugin %s: its ADD output is not a CNI result%s%s", c->network,
				type, j ? "" : ": ", j ? "" : je.text);
	}
	*result = j;
	return 0;
}
