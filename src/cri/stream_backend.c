/*
 * stream_backend.c — struct stream_backend (src/stream/backend.h) on the runtime layer: the
 * container is looked up in the store (it must be RUNNING), its bundle named by lifecycle.h, and
 * the runtime does the work (rt_exec_start, rt_attach, rt_session_*); a pod's pinned network
 * namespace is podns_connect's.  The session handle is the runtime's struct rt_session.
 */
#include "cri/stream_backend.h"

#include <errno.h>
#include <limits.h>

#include "cri/lifecycle.h"
#include "runtime/podns.h"
#include "store/pods.h"
#include "util/arena.h"

/*
 * The RUNNING container id, its bundle into bundle (PATH_MAX) and its CreateContainer config into
 * *cfg (allocated in a; NULL unless cfg is asked for).  ENOENT: no such container (or its create is
 * in flight); ESRCH: not running, or no runtime.
 */
static int running_ctr(struct cri_env *env, struct arena *a, const char *what, const char *id, char *bundle,
		       const Runtime__V1__ContainerConfig **cfg, struct lc_err *err)
{
	struct container_row c = { 0 };
	if (!env->lc)
		return lc_failc(err, ESRCH, "%s %s: no OCI runtime or conmon was found at startup", what, id);
	if (store_container_get(env->store, id, a, &c, err) < 0 || c.creating) {
		if (err->errnum == ENOENT || c.creating)
			return lc_failc(err, ENOENT, "%s: container %s not found", what, id);
		return lc_wrap(err, "%s %s", what, id);
	}
	if (c.state != CTR_RUNNING)
		return lc_failc(err, ESRCH, "%s: container %s is not running (state %s)", what, id,
				life_ctr_state_name(c.state));
	if (life_dir(env, DIR_CTR_STATE, c.id, NULL, bundle, PATH_MAX, err) < 0)
		return -1;
	if (cfg && !(*cfg = runtime__v1__container_config__unpack(&a->pb, c.config_len, c.config)))
		return lc_failc(err, EIO, "%s %s: its recorded config does not decode", what, id);
	return 0;
}

static void io_from(struct stream_io *io, const int fds[3], int tty, struct rt_session *s)
{
	*io = (struct stream_io){ .in_fd = fds[0], .out_fd = fds[1], .err_fd = fds[2], .tty = tty, .handle = s };
}

static int backend_exec_start(void *arg, const struct stream_target *t, struct stream_io *io, struct lc_err *err)
{
	struct cri_env *env = arg;
	struct arena a;
	arena_init(&a);
	char bundle[PATH_MAX];
	int rc = running_ctr(env, &a, "Exec", t->container_id, bundle, NULL, err);
	if (rc == 0) {
		struct rt_exec x = { .id = t->container_id, .bundle = bundle, .args = t->cmd, .n_args = t->n_cmd };
		struct rt_stdio want = { .tty = t->tty, .in = t->in, .out = t->out, .err = t->err && !t->tty };
		struct rt_session *s;
		int fds[3];
		rc = rt_exec_start(env->lc->rt, &x, &want, &s, fds, err);
		if (rc == 0)
			io_from(io, fds, t->tty, s);
	}
	arena_release(&a);
	return rc;
}

/* The container's own tty and stdin decide: stdin only if it was created with stdin, a terminal if
 * it has one (whatever the request said). */
static int backend_attach_start(void *arg, const struct stream_target *t, struct stream_io *io, struct lc_err *err)
{
	struct cri_env *env = arg;
	struct arena a;
	arena_init(&a);
	char bundle[PATH_MAX];
	const Runtime__V1__ContainerConfig *cfg;
	int rc = running_ctr(env, &a, "Attach", t->container_id, bundle, &cfg, err);
	if (rc == 0) {
		struct rt_stdio want = { .tty = cfg->tty, .in = t->in && cfg->stdin, .out = t->out,
					 .err = t->err && !cfg->tty };
		struct rt_session *s;
		int fds[3];
		rc = rt_attach(env->lc->rt, t->container_id, bundle, &want, &s, fds, err);
		if (rc == 0)
			io_from(io, fds, cfg->tty, s);
	}
	arena_release(&a);
	return rc;
}

static int backend_resize(void *arg, void *handle, unsigned width, unsigned height, struct lc_err *err)
{
	struct cri_env *env = arg;
	return rt_session_resize(env->lc->rt, handle, width, height, err);
}

static int backend_wait(void *arg, void *handle, int *exit_code, struct lc_err *err)
{
	struct cri_env *env = arg;
	return rt_session_wait(env->lc->rt, handle, exit_code, err);
}

static void backend_kill(void *arg, void *handle)
{
	struct cri_env *env = arg;
	rt_session_kill(env->lc->rt, handle);
}

static void backend_close(void *arg, void *handle)
{
	struct cri_env *env = arg;
	rt_session_close(env->lc->rt, handle);
}

/* The pod's pinned network namespace (none recorded: a host-network pod, the host's). */
static int backend_port_connect(void *arg, const char *pod_id, int port, int *fd, struct lc_err *err)
{
	struct cri_env *env = arg;
	struct arena a;
	arena_init(&a);
	struct sandbox_row sb = { 0 };
	int rc = 0;
	*fd = -1;
	if (store_sandbox_get(env->store, pod_id, &a, &sb, err) < 0 || sb.creating)
		rc = err->errnum == ENOENT || sb.creating ? lc_failc(err, ENOENT, "PortForward: pod %s not found", pod_id)
							  : lc_wrap(err, "PortForward %s", pod_id);
	else if (sb.state != SANDBOX_READY)
		rc = lc_failc(err, ESRCH, "PortForward: pod %s is not ready", pod_id);
	else if (podns_connect(sb.netns_path, port, fd, err) < 0)
		rc = lc_wrap(err, "PortForward to pod %s", pod_id);
	arena_release(&a);
	return rc;
}

void cri_stream_backend(struct cri_env *env, struct stream_backend *out)
{
	*out = (struct stream_backend){
		.arg = env,
		.exec_start = backend_exec_start,
		.attach_start = backend_attach_start,
		.resize = backend_resize,
		.wait = backend_wait,
		.kill = backend_kill,
		.close = backend_close,
		.port_connect = backend_port_connect,
	};
}
