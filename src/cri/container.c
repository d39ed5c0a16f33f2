/*
 * container.c — CreateContainer, StartContainer, StopContainer, RemoveContainer, ContainerStatus,
 * ListContainers, ReopenContainerLog, UpdateContainerResources.
 *
 * Transitions are decided by the database (store/pods.h); the runtime work between them runs
 * outside any transaction.  Stop and Remove live in lifecycle.c because pods use them too.
 */
#include "cri/container.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri/lifecycle.h"
#include "cri/list.h"
#include "cri/reserve.h"
#include "cri/sandbox.h"
#include "cri/spec/spec.h"
#include "image/content.h"
#include "image/digest.h"
#include "image/images.h"
#include "runtime/rootfs.h"
#include "store/images.h"
#include "store/pods.h"
#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/id.h"
#include "util/log.h"

#define RETRY_WAIT_NS (120LL * 1000000000) /* kubelet's CreateContainer deadline */
#define START_ERROR_EXIT_CODE 128         /* as containerd records a failed start */

static int relative_clean(const char *p)
{
	if (!*p || p[0] == '/')
		return 0;
	for (const char *s = p; s; s = strchr(s, '/')) {
		if (*s == '/')
			s++;
		if (!strncmp(s, "..", 2) && (s[2] == '/' || s[2] == '\0'))
			return 0;
	}
	return 1;
}

/* reserve_kind.insert of containers: the store's refusals as CreateContainer answers them. */
static int container_insert(struct cri_env *env, struct cri_call *call, const struct obj_new *n,
			    struct obj_holder *h, grpc_status_code *code)
{
	struct lc_err err = { 0 };
	enum refusal why;
	if (store_container_insert(env->store, n, h, &why, &err) == 0)
		return 0;
	switch (err.errnum) {
	case EEXIST:
		return 1;
	case ENOENT:
		*code = cri_fail(call, GRPC_STATUS_NOT_FOUND, "CreateContainer %s: %s", LC_Q(n->name), err.msg);
		break;
	case EAGAIN:
		*code = cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "CreateContainer %s: sandbox %s is %s",
				 LC_Q(n->name), n->sandbox_id,
				 why == REFUSED_CREATING   ? "still being created"
				 : why == REFUSED_STOPPING ? "being stopped"
				 : why == REFUSED_REMOVING ? "being removed"
							   : "not ready");
		break;
	case EINVAL: /* a layer collected since the image was read */
		*code = cri_fail(call, GRPC_STATUS_NOT_FOUND, "CreateContainer %s: image %s was removed meanwhile: %s",
				 LC_Q(n->name), LC_Q(n->image), err.msg);
		break;
	default:
		*code = cri_fail(call, cri_work_code(err.errnum), "CreateContainer %s: %s", LC_Q(n->name), err.msg);
	}
	return -1;
}

static const struct reserve_kind container_kind = {
	.rpc = "CreateContainer", .noun = "container", .container = 1, .wait_ns = RETRY_WAIT_NS,
	.insert = container_insert,
};

/*
 * PID namespace mode TARGET (kubectl debug --target): the init process of the target container,
 * which must be a RUNNING container of the same pod (EINVAL naming it otherwise).  0 for other modes.
 */
static int target_pid(struct cri_env *env, struct cri_call *call, const struct sandbox_row *sb,
		      const Runtime__V1__ContainerConfig *cfg, pid_t *pid, struct lc_err *err)
{
	*pid = 0;
	const Runtime__V1__NamespaceOption *nso =
		cfg->linux && cfg->linux->security_context ? cfg->linux->security_context->namespace_options : NULL;
	if (!nso || nso->pid != RUNTIME__V1__NAMESPACE_MODE__TARGET)
		return 0;
	const char *ref = nso->target_id ? nso->target_id : "";
	char tid[OBJ_ID_BUF];
	struct container_row t;
	if (!id_is_hex(ref, 1, OBJ_ID_LEN) || store_container_resolve(env->store, ref, tid, err) < 0 ||
	    store_container_get(env->store, tid, call->arena, &t, err) < 0) {
		if (err->errnum && err->errnum != ENOENT && err->errnum != EINVAL)
			return -1;
		return lc_fail(err, EINVAL, "namespace_options.target_id \"%s\": no such container", LC_Q(ref));
	}
	if (strcmp(t.sandbox_id, sb->id) != 0)
		return lc_fail(err, EINVAL, "namespace_options.target_id %s: a container of another pod", tid);
	if (t.state != CTR_RUNNING || t.pid <= 0)
		return lc_fail(err, EINVAL, "namespace_options.target_id %s: the container is not running", tid);
	*pid = (pid_t)t.pid;
	return 0;
}

/* The slow part of CreateContainer: rootfs, bundle, conmon + runtime create.  Undone by teardown. */
static int container_setup(struct cri_env *env, struct cri_call *call, const char *id, const struct sandbox_row *sb,
			   const Runtime__V1__ContainerConfig *cfg, const struct image_info *img, const char *log_path,
			   pid_t *pid, struct lc_err *err)
{
	char bundle[PATH_MAX], rootfs[PATH_MAX], rw[PATH_MAX];
	if (life_dir(env, DIR_CTR_STATE, id, NULL, bundle, sizeof bundle, err) < 0 ||
	    life_dir(env, DIR_CTR_STATE, id, "rootfs", rootfs, sizeof rootfs, err) < 0 ||
	    life_dir(env, DIR_CTR_ROOT, id, NULL, rw, sizeof rw, err) < 0)
		return -1;
	if (mkdir_p(bundle, 0700, err) < 0 || mkdir_p(rw, 0700, err) < 0)
		return -1;
	const char **lower = arena_alloc(call->arena, (img->n_layers + 1) * sizeof *lower);
	for (size_t i = 0; i < img->n_layers; i++) {
		char p[PATH_MAX];
		if (content_layer_path(images_content(env->images), img->layers[i].chain_id, p, sizeof p, err) < 0)
			return -1;
		lower[i] = arena_strdup(call->arena, p);
	}
	if (rootfs_mount(lower, img->n_layers, rw, rootfs, err) < 0)
		return -1;
	const Runtime__V1__PodSandboxConfig *sbcfg =
		runtime__v1__pod_sandbox_config__unpack(&call->arena->pb, sb->config_len, sb->config);
	if (!sbcfg)
		return lc_fail(err, EIO, "sandbox %s: the recorded config does not decode", sb->id);
	struct spec_pod pod;
	if (sandbox_spec_pod(env, call, sb, sbcfg, &pod, err) < 0)
		return -1;
	struct spec_container c = { .id = id, .config = cfg, .image_config = img->config,
				    .image_name = cfg->image->image, .rootfs = rootfs };
	if (target_pid(env, call, sb, cfg, &c.target_pid, err) < 0)
		return -1;
	json_auto_t *spec = NULL;
	if (spec_container(&pod, &c, &spec, err) < 0)
		return -1;
	if (*log_path && mkdir_parent(log_path, 0755, err) < 0)
		return -1;
	struct rt_create rc_ = { .id = id, .bundle = bundle, .spec = spec, .log_path = log_path, .tty = cfg->tty,
				 .stdin = cfg->stdin, .stdin_once = cfg->stdin_once };
	return rt_create(env->lc->rt, &rc_, pid, err);
}

grpc_status_code cri_create_container(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp)
{
	const Runtime__V1__CreateContainerRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "CreateContainer");
	const Runtime__V1__ContainerConfig *cfg = r->config;
	if (!cfg || !cfg->metadata || !cfg->metadata->name || !*cfg->metadata->name ||
	    strpbrk(cfg->metadata->name, "/\n"))
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
				"CreateContainer: config.metadata.name is required (non-empty, without '/')");
	const char *cname = cfg->metadata->name;
	if (!cfg->image || !cfg->image->image || !*cfg->image->image)
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
				"CreateContainer %s: config.image.image is required", LC_Q(cname));
	if (cfg->log_path && *cfg->log_path && !relative_clean(cfg->log_path))
		return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
				"CreateContainer %s: log_path \"%s\" must be relative to the sandbox's log_directory, "
				"without \"..\"", LC_Q(cname), LC_Q(cfg->log_path));
	struct lc_err err = { 0 };
	char sbid[OBJ_ID_BUF];
	if (!r->pod_sandbox_id || store_sandbox_resolve(env->store, r->pod_sandbox_id, sbid, &err) < 0)
		return cri_fail(call, !r->pod_sandbox_id ? GRPC_STATUS_INVALID_ARGUMENT : cri_code(err.errnum),
				"CreateContainer %s: sandbox %s not found", LC_Q(cname), LC_Q(r->pod_sandbox_id));
	struct sandbox_row sb;
	if (store_sandbox_get(env->store, sbid, call->arena, &sb, &err) < 0)
		return cri_fail(call, cri_code(err.errnum), "CreateContainer %s: %s", LC_Q(cname), err.msg);

	/* The image: its ID is what PullImage returned, recorded as image_ref. */
	char image_id[DIGEST_BUF];
	struct image_info img = { 0 };
	if (images_resolve(env->images, cfg->image->image, image_id, &err) < 0 ||
	    store_image_get(env->store, image_id, &img, &err) < 0) {
		image_info_free(&img);
		return cri_fail(call, cri_code(err.errnum),
				"CreateContainer %s: image %s: %s", LC_Q(cname), LC_Q(cfg->image->image), err.msg);
	}
	const char *name = arena_printf(call->arena, "k8s_%s_%s_%s_%s_%u", cname, sb.meta_name, sb.meta_namespace,
					sb.meta_uid, cfg->metadata->attempt);
	const char *log_path = "";
	if (sb.log_directory[0] && cfg->log_path && *cfg->log_path)
		log_path = arena_printf(call->arena, "%s/%s", sb.log_directory, cfg->log_path);

	struct kv *labels = life_kvs(call, (void *const *)cfg->labels, cfg->n_labels);
	struct kv *ann = life_kvs(call, (void *const *)cfg->annotations, cfg->n_annotations);
	const char **layers = arena_alloc(call->arena, (img.n_layers + 1) * sizeof *layers);
	for (size_t i = 0; i < img.n_layers; i++)
		layers[i] = arena_strdup(call->arena, img.layers[i].chain_id);
	struct obj_new n = {
		.sandbox_id = sbid, .name = name, .meta_name = cname, .meta_attempt = cfg->metadata->attempt,
		.labels = labels, .n_labels = cfg->n_labels, .annotations = ann, .n_annotations = cfg->n_annotations,
		.image = cfg->image->image, .image_ref = arena_strdup(call->arena, image_id), .log_path = log_path,
		.stop_signal = spec_stop_signal(img.config), .layers = layers, .n_layers = img.n_layers,
	};
	n.list_entry = list_container_entry(call->arena, sbid, n.image_ref, cfg, &n.list_entry_len);
	Runtime__V1__CreateContainerResponse *out = cri_new(call, &runtime__v1__create_container_response__descriptor);
	*resp = &out->base;
	/* The request as received, and its digest with the sandbox's ID: an identical retry is
	 * recognised by it. */
	grpc_status_code code = reserve_request(call, &container_kind, &cfg->base, sbid, strlen(sbid), &n);
	if (code != GRPC_STATUS_OK)
		goto out;
	int reserved = reserve_name(env, call, &container_kind, &n, &code);
	if (reserved < 0)
		goto out;
	if (!reserved) { /* the container of an identical earlier request */
		out->container_id = arena_strdup(call->arena, n.id);
		goto out;
	}
	log_info("container %s: creating %s in sandbox %s from image %s", n.id, name, sbid, image_id);
	pid_t pid = 0;
	int log_existed = *log_path && access(log_path, F_OK) == 0; /* conmon makes it before the runtime runs */
	if (container_setup(env, call, n.id, &sb, cfg, &img, log_path, &pid, &err) < 0 ||
	    store_container_created(env->store, n.id, pid, cri_now(), &err) < 0) {
		code = cri_fail(call, cri_work_code(err.errnum),
				"CreateContainer %s (container %s): %s", LC_Q(name),
				n.id, err.msg);
		struct lc_err e2 = { 0 };
		if (life_container_teardown(env, n.id, &e2) < 0 || store_container_delete(env->store, n.id, &e2) < 0)
			log_error("container %s: cleanup after failed create: %s (recovery retries at startup)", n.id, e2.msg);
		life_wake(env); /* an identical retry waiting in reserve_name */
		if (*log_path && !log_existed && unlink(log_path) < 0 && errno != ENOENT)
			log_warn("container %s: log file %s of the failed create not removed: %s", n.id, log_path,
				 strerror(errno));
		goto out;
	}
	log_info("container %s created (%s, pid %d)", n.id, name, (int)pid);
	life_wake(env); /* an identical retry waiting in reserve_name */
	out->container_id = arena_strdup(call->arena, n.id);
out:
	image_info_free(&img);
	if (code != GRPC_STATUS_OK)
		*resp = NULL;
	return code;
}

grpc_status_code cri_start_container(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				     ProtobufCMessage **resp)
{
	const Runtime__V1__StartContainerRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "StartContainer");
	char id[OBJ_ID_BUF];
	grpc_status_code code;
	int found = life_resolve(env, call, "StartContainer", 1, r->container_id, id, &code);
	if (found < 0)
		return code;
	if (!found)
		return cri_fail(call, GRPC_STATUS_NOT_FOUND,
				"StartContainer: container %s not found", LC_Q(r->container_id));
	struct lc_err err = { 0 };
	enum refusal why;
	if (store_flag_set(env->store, FLAG_CTR_STARTING, id, &why, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "StartContainer %s: %s", id, err.msg);
	if (why != REFUSED_NONE) {
		struct container_row row;
		int state = store_container_get(env->store, id, call->arena, &row, &err) == 0 ? row.state : -1;
		switch (why) {
		case REFUSED_MISSING:
			return cri_fail(call, GRPC_STATUS_NOT_FOUND, "StartContainer: container %s not found", id);
		case REFUSED_CREATING:
			return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "container %s is still being created", id);
		case REFUSED_REMOVING:
			return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "container %s is in removing state", id);
		case REFUSED_STARTING:
			return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "container %s is already in starting state", id);
		default:
			return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
					"container %s is in state %s: only a CREATED container can be started", id,
					life_ctr_state_name(state));
		}
	}
	int64_t started_at = cri_now(); /* before the process can exit, so started_at <= finished_at */
	if (rt_start(env->lc->rt, id, &err) < 0) {
		struct lc_err e2 = { 0 };
		if (store_container_start_failed(env->store, id, cri_now(), START_ERROR_EXIT_CODE, "StartError", err.msg,
						 &e2) < 0)
			log_error("container %s: start failure not recorded: %s", id, e2.msg);
		log_warn("container %s: start failed: %s", id, err.msg);
		return cri_fail(call, cri_work_code(err.errnum), "StartContainer %s: %s", id, err.msg);
	}
	if (store_container_started(env->store, id, started_at, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "StartContainer %s: started, but not recorded: %s", id, err.msg);
	log_info("container %s started", id);
	*resp = cri_new(call, &runtime__v1__start_container_response__descriptor);
	return GRPC_STATUS_OK;
}

grpc_status_code cri_stop_container(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				    ProtobufCMessage **resp)
{
	const Runtime__V1__StopContainerRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "StopContainer");
	char id[OBJ_ID_BUF];
	grpc_status_code code;
	int found = life_resolve(env, call, "StopContainer", 1, r->container_id, id, &code);
	if (found < 0)
		return code;
	struct lc_err err = { 0 };
	if (found && life_container_stop(env, id, r->timeout, call->deadline, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "StopContainer %s: %s", id, err.msg);
	*resp = cri_new(call, &runtime__v1__stop_container_response__descriptor);
	return GRPC_STATUS_OK;
}

grpc_status_code cri_remove_container(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp)
{
	const Runtime__V1__RemoveContainerRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "RemoveContainer");
	char id[OBJ_ID_BUF];
	grpc_status_code code;
	int found = life_resolve(env, call, "RemoveContainer", 1, r->container_id, id, &code);
	if (found < 0)
		return code;
	if (found && (code = life_container_remove(env, call, id)) != GRPC_STATUS_OK)
		return code;
	*resp = cri_new(call, &runtime__v1__remove_container_response__descriptor);
	return GRPC_STATUS_OK;
}

static Runtime__V1__ContainerState cri_state(int state)
{
	switch (state) {
	case CTR_CREATED:
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
	case CTR_RUNNING:
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	case CTR_EXITED:
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
	default:
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN;
	}
}

/* The CRI Signal enum value of a signal number (its names are "SIGNAL_SIG<ABBREV>"). */
static Runtime__V1__Signal cri_signal(int sig)
{
	const char *abbrev = sigabbrev_np(sig);
	char name[32];
	if (!abbrev || snprintf(name, sizeof name, "SIGNAL_SIG%s", abbrev) >= (int)sizeof name)
		return RUNTIME__V1__SIGNAL__SIGNAL_RUNTIME_DEFAULT;
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(&runtime__v1__signal__descriptor, name);
	return v ? (Runtime__V1__Signal)v->value : RUNTIME__V1__SIGNAL__SIGNAL_RUNTIME_DEFAULT;
}

Runtime__V1__ContainerStatus *container_status_of(struct cri_call *call, const struct container_row *c)
{
	const Runtime__V1__ContainerConfig *cfg = life_container_config(call->arena, c);
	if (!cfg)
		return NULL;
	Runtime__V1__ContainerStatus *st = cri_new(call, &runtime__v1__container_status__descriptor);
	st->id = arena_strdup(call->arena, c->id); /* c may be on the caller's stack; the status is packed later */
	st->metadata = cfg->metadata;
	st->state = cri_state(c->state);
	st->created_at = c->created_at;
	st->started_at = c->started_at;
	st->finished_at = c->finished_at;
	st->exit_code = c->exit_code;
	st->image = cfg->image;
	st->image_ref = (char *)c->image_ref;
	st->image_id = (char *)c->image_ref;
	st->reason = (char *)c->reason;
	st->message = (char *)c->message;
	st->n_labels = cfg->n_labels;
	st->labels = cri_map_copy(call, &runtime__v1__container_status__labels_entry__descriptor,
				  (void *const *)cfg->labels, cfg->n_labels);
	st->n_annotations = cfg->n_annotations;
	st->annotations = cri_map_copy(call, &runtime__v1__container_status__annotations_entry__descriptor,
				       (void *const *)cfg->annotations, cfg->n_annotations);
	st->n_mounts = cfg->n_mounts;
	st->mounts = cfg->mounts;
	st->log_path = (char *)c->log_path;
	st->stop_signal = cri_signal(c->stop_signal);
	const Runtime__V1__LinuxContainerResources *res = life_container_resources(call->arena, c, cfg);
	if (res) {
		st->resources = cri_new(call, &runtime__v1__container_resources__descriptor);
		st->resources->linux = (Runtime__V1__LinuxContainerResources *)res;
	}
	return st;
}

grpc_status_code cri_container_status(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
				      ProtobufCMessage **resp)
{
	const Runtime__V1__ContainerStatusRequest *r = (const void *)req;
	struct container_row c;
	grpc_status_code code = life_container_find(env, call, "ContainerStatus", r->container_id, &c);
	if (code != GRPC_STATUS_OK)
		return code;
	Runtime__V1__ContainerStatusResponse *out = cri_new(call, &runtime__v1__container_status_response__descriptor);
	out->status = container_status_of(call, &c);
	if (!out->status)
		return cri_fail(call, GRPC_STATUS_DATA_LOSS, "ContainerStatus %s: the recorded config does not decode", c.id);
	if (r->verbose) {
		json_t *info = json_pack("{s:s, s:s, s:I, s:b, s:b, s:i}", "name", c.name, "sandboxID", c.sandbox_id, "pid",
					 (json_int_t)c.pid, "starting", c.starting, "removing", c.removing, "stopSignal",
					 c.stop_signal);
		if (info && json_object_set_new(info, "updating", json_boolean(c.updating)) < 0) {
			json_decref(info);
			info = NULL;
		}
		out->info = life_verbose_info(env, call, DIR_CTR_STATE, c.id, info,
					    &runtime__v1__container_status_response__info_entry__descriptor, &out->n_info);
	}
	*resp = &out->base;
	return GRPC_STATUS_OK;
}

grpc_status_code cri_reopen_container_log(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
					  ProtobufCMessage **resp)
{
	const Runtime__V1__ReopenContainerLogRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "ReopenContainerLog");
	struct container_row c;
	grpc_status_code code = life_container_find(env, call, "ReopenContainerLog", r->container_id, &c);
	if (code != GRPC_STATUS_OK)
		return code;
	const char *id = c.id;
	struct lc_err err = { 0 };
	if (c.state != CTR_RUNNING)
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "ReopenContainerLog: container %s is %s, not running",
				id, life_ctr_state_name(c.state));
	char bundle[PATH_MAX];
	if (life_dir(env, DIR_CTR_STATE, id, NULL, bundle, sizeof bundle, &err) < 0 ||
	    rt_reopen_log(env->lc->rt, id, bundle, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "ReopenContainerLog %s: %s", id, err.msg);
	*resp = cri_new(call, &runtime__v1__reopen_container_log_response__descriptor);
	return GRPC_STATUS_OK;
}

/* cur with every field upd sets (non-zero; a non-empty list or map replaces the old one) replaced,
 * as runc update and containerd treat a partial update.  oom_score_adj stays: it is fixed at
 * creation. */
static Runtime__V1__LinuxContainerResources *resources_merge(struct cri_call *call,
							     const Runtime__V1__LinuxContainerResources *cur,
							     const Runtime__V1__LinuxContainerResources *upd)
{
	Runtime__V1__LinuxContainerResources *m = cri_new(call, &runtime__v1__linux_container_resources__descriptor);
	if (cur) {
		m->cpu_period = cur->cpu_period;
		m->cpu_quota = cur->cpu_quota;
		m->cpu_shares = cur->cpu_shares;
		m->memory_limit_in_bytes = cur->memory_limit_in_bytes;
		m->oom_score_adj = cur->oom_score_adj;
		m->cpuset_cpus = cur->cpuset_cpus;
		m->cpuset_mems = cur->cpuset_mems;
		m->n_hugepage_limits = cur->n_hugepage_limits;
		m->hugepage_limits = cur->hugepage_limits;
		m->n_unified = cur->n_unified;
		m->unified = cur->unified;
		m->memory_swap_limit_in_bytes = cur->memory_swap_limit_in_bytes;
	}
#define TAKE(f)              \
	do {                 \
		if (upd->f)  \
			m->f = upd->f; \
	} while (0)
	TAKE(cpu_period);
	TAKE(cpu_quota);
	TAKE(cpu_shares);
	TAKE(memory_limit_in_bytes);
	TAKE(memory_swap_limit_in_bytes);
#undef TAKE
	if (upd->cpuset_cpus && *upd->cpuset_cpus)
		m->cpuset_cpus = upd->cpuset_cpus;
	if (upd->cpuset_mems && *upd->cpuset_mems)
		m->cpuset_mems = upd->cpuset_mems;
	if (upd->n_hugepage_limits) {
		m->n_hugepage_limits = upd->n_hugepage_limits;
		m->hugepage_limits = upd->hugepage_limits;
	}
	if (upd->n_unified) {
		m->n_unified = upd->n_unified;
		m->unified = upd->unified;
	}
	return m;
}

/*
 * UpdateContainerResources: the request merged into the container's current resources, checked
 * (INVALID_ARGUMENT), `updating` set by one conditional UPDATE (CREATED or RUNNING, nothing else in
 * flight), applied to the live cgroup, then recorded with updating cleared; any failure clears it.
 */
grpc_status_code cri_update_container_resources(struct cri_env *env, struct cri_call *call, const ProtobufCMessage *req,
						ProtobufCMessage **resp)
{
	const Runtime__V1__UpdateContainerResourcesRequest *r = (const void *)req;
	LIFE_REQUIRE_RUNTIME(env, call, "UpdateContainerResources");
	struct container_row c;
	grpc_status_code code = life_container_find(env, call, "UpdateContainerResources", r->container_id, &c);
	if (code != GRPC_STATUS_OK)
		return code;
	const char *id = c.id;
	struct lc_err err = { 0 };
	if (!r->linux) {
		if (r->windows)
			return cri_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
					"UpdateContainerResources %s: Windows resources on a Linux node", id);
		*resp = cri_new(call, &runtime__v1__update_container_resources_response__descriptor);
		return GRPC_STATUS_OK; /* nothing to change */
	}
	Runtime__V1__LinuxContainerResources *m =
		resources_merge(call, life_container_resources(call->arena, &c, NULL), r->linux);
	json_auto_t *res = NULL; /* checked now, applied once `updating` is held */
	if (spec_resources(m, &res, &err) < 0)
		return cri_fail(call, cri_code(err.errnum), "UpdateContainerResources %s: %s", id, err.msg);
	size_t len = runtime__v1__linux_container_resources__get_packed_size(m);
	uint8_t *packed = arena_alloc(call->arena, len ? len : 1);
	runtime__v1__linux_container_resources__pack(m, packed);

	enum refusal why;
	if (store_flag_set(env->store, FLAG_CTR_UPDATING, id, &why, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "UpdateContainerResources %s: %s", id, err.msg);
	switch (why) {
	case REFUSED_NONE:
		break;
	case REFUSED_MISSING:
		return cri_fail(call, GRPC_STATUS_NOT_FOUND, "UpdateContainerResources: container %s not found", id);
	case REFUSED_REMOVING:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "container %s is in removing state", id);
	case REFUSED_UPDATING:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
				"container %s: another UpdateContainerResources is in flight", id);
	default:
		return cri_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
				"container %s is in state %s: only a CREATED or RUNNING container can be updated", id,
				life_ctr_state_name(c.state));
	}
	if (life_container_apply_resources(env, id, res, &err) < 0) {
		struct lc_err e2 = { 0 };
		if (store_flag_reset(env->store, FLAG_CTR_UPDATING, id, &e2) < 0)
			log_error("container %s: updating not reset: %s", id, e2.msg);
		log_warn("container %s: resources not updated: %s", id, err.msg);
		return cri_fail(call, cri_work_code(err.errnum), "UpdateContainerResources %s: %s", id, err.msg);
	}
	if (store_container_updated(env->store, id, packed, len, &err) < 0)
		return cri_fail(call, cri_work_code(err.errnum), "UpdateContainerResources %s: applied, but not recorded: %s", id,
				err.msg);
	log_info("container %s: resources updated (cpu shares %lld quota %lld period %lld cpuset \"%s\", memory %lld)", id,
		 (long long)m->cpu_shares, (long long)m->cpu_quota, (long long)m->cpu_period,
		 m->cpuset_cpus ? m->cpuset_cpus : "", (long long)m->memory_limit_in_bytes);
	*resp = cri_new(call, &runtime__v1__update_container_resources_response__descriptor);
	return GRPC_STATUS_OK;
}
