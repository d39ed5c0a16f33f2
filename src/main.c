/*
 * main.c — the litecri command: the CRI daemon, `litecri migrate`, `litecri check` and `litecri image import`.
 *
 * Startup order matters for crash safety and for never stealing another daemon's files:
 *   config → directories → locks (state dir, database) → socket claim → migrate → store →
 *   gRPC server → READY=1 to $NOTIFY_SOCKET → wait for SIGTERM/SIGINT → STOPPING=1 → stop server →
 *   close store → release locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <grpc/grpc.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri/cri.h"
#include "cri/lifecycle.h"
#include "cri/stream_backend.h"
#include "image/images.h"
#include "image/registry.h"
#include "net/net.h"
#include "runtime/runtime.h"
#include "server/metrics.h"
#include "server/server.h"
#include "store/events.h"
#include "store/migrate.h"
#include "store/store.h"
#include "stream/stream.h"
#include "util/config.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/notify.h"

static const char usage[] =
	"Usage: litecri [OPTIONS]            run the CRI daemon\n"
	"       litecri migrate [OPTIONS]    apply database migrations and exit\n"
	"       litecri check [--json] [OPTIONS]\n"
	"                                    compare the database with the runtime, directories\n"
	"                                    and mounts (read-only, beside a running daemon too);\n"
	"                                    exit 0 when consistent, 1 with one line per finding\n"
	"       litecri image import [OPTIONS] PATH\n"
	"                                    import the images of an OCI image layout (directory\n"
	"                                    or tar) or a `docker save` tarball; works beside a\n"
	"                                    running daemon (same --db and --root)\n"
	"\n"
	"Options (each overrides the same setting of the config file):\n"
	"  --config PATH            config file (default " LITECRI_DEFAULT_CONFIG "),\n"
	"                           then every PATH.d/*.conf drop-in in name order\n"
	"  --listen ADDR            gRPC socket (default unix:///run/litecri/litecri.sock)\n"
	"  --db PATH                SQLite database (default /var/lib/litecri/litecri.db)\n"
	"  --root DIR               persistent data (default /var/lib/litecri)\n"
	"  --state DIR              volatile state, lock file (default /run/litecri)\n"
	"  --runtime NAME|PATH      OCI runtime: runc (default) or crun\n"
	"  --conmon NAME|PATH       container monitor (default conmon)\n"
	"  --pause PATH             the pods' infra program (default: litecri-pause beside\n"
	"                           litecri if there, else " LITECRI_PAUSE_PATH ")\n"
	"  --log-level LEVEL        error, warn, info or debug (default info)\n"
	"  --log-format FORMAT      text (default) or json: one JSON object per line\n"
	"  --workers N              threads for slow calls (pulls, removals, pod and container\n"
	"                           changes) kept at all times; the pool grows when all are busy\n"
	"                           and shrinks back after a minute idle (default 4)\n"
	"  --shutdown-timeout SECS  time in-flight calls get after SIGTERM (default 10)\n"
	"  --max-concurrent-downloads N\n"
	"                           layers one pull fetches and unpacks at once, 1..16 (default 3)\n"
	"  --registry-mirror HOST=URL[,insecure]\n"
	"                           fetch images of registry HOST (\"*\": any registry without\n"
	"                           settings of its own) from URL first; repeatable, in order\n"
	"  --insecure-registry HOST allow plain HTTP / unverified TLS for registry HOST\n"
	"  --cni-conf-dir DIR       pod network configs (default /etc/cni/net.d), watched\n"
	"  --cni-bin-dirs DIRS      ':'-separated CNI plugin directories\n"
	"                           (default /opt/cni/bin:/usr/lib/cni)\n"
	"  --metrics-address HOST:PORT\n"
	"                           serve Prometheus metrics at http://HOST:PORT/metrics\n"
	"                           (e.g. 127.0.0.1:1338; default: off)\n"
	"  --stream-address ADDR    Exec/Attach/PortForward server address (default 127.0.0.1:\n"
	"                           unauthenticated but for its tokens: keep it on the node)\n"
	"  --stream-port PORT       its port (default 0: any free port, logged and in Status)\n"
	"  -h, --help               this text\n"
	"  -V, --version            print the version\n";

enum { OPT_CONFIG = 256, OPT_SETTING };

static const struct option options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "listen", required_argument, NULL, OPT_SETTING },
	{ "db", required_argument, NULL, OPT_SETTING },
	{ "root", required_argument, NULL, OPT_SETTING },
	{ "state", required_argument, NULL, OPT_SETTING },
	{ "runtime", required_argument, NULL, OPT_SETTING },
	{ "conmon", required_argument, NULL, OPT_SETTING },
	{ "pause", required_argument, NULL, OPT_SETTING },
	{ "log-level", required_argument, NULL, OPT_SETTING },
	{ "log-format", required_argument, NULL, OPT_SETTING },
	{ "workers", required_argument, NULL, OPT_SETTING },
	{ "shutdown-timeout", required_argument, NULL, OPT_SETTING },
	{ "max-concurrent-downloads", required_argument, NULL, OPT_SETTING },
	{ "registry-mirror", required_argument, NULL, OPT_SETTING },
	{ "insecure-registry", required_argument, NULL, OPT_SETTING },
	{ "cni-conf-dir", required_argument, NULL, OPT_SETTING },
	{ "cni-bin-dirs", required_argument, NULL, OPT_SETTING },
	{ "metrics-address", required_argument, NULL, OPT_SETTING },
	{ "stream-address", required_argument, NULL, OPT_SETTING },
	{ "stream-port", required_argument, NULL, OPT_SETTING },
	{ "boot-id-path", required_argument, NULL, OPT_SETTING }, /* hidden, for tests: see config.h */
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Defaults, then the config file(s), then the flags.  Returns 0, 1 (done: help/version) or -1. */
static int load_config(int argc, char **argv, int nargs, struct lc_config *cfg, struct lc_err *err)
{
	const char *config_path = NULL;
	int c, idx;
	config_defaults(cfg);
	/* Pass 1: which config file, or nothing to do. */
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "hV", options, &idx)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'V':
			printf("litecri %s\n", LITECRI_VERSION);
			return 1;
		case OPT_CONFIG:
			config_path = optarg;
			break;
		case OPT_SETTING:
			break;
		default:
			return lc_fail(err, 0, "bad command line (see litecri --help)");
		}
	}
	if (argc - optind > nargs)
		return lc_fail(err, 0, "unexpected argument '%s' (see litecri --help)", argv[optind + nargs]);
	if (argc - optind < nargs)
		return lc_fail(err, 0, "missing argument (see litecri --help)");
	if (config_load(cfg, config_path ? config_path : LITECRI_DEFAULT_CONFIG, config_path != NULL, err) < 0)
		return -1;
	/* Pass 2: flags override the file. */
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", options, &idx)) != -1) {
		if (c != OPT_SETTING)
			continue;
		char key[64];
		snprintf(key, sizeof key, "%s", options[idx].name);
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		if (config_set(cfg, key, optarg, err) < 0)
			return lc_wrap(err, "--%s", options[idx].name);
	}
	return 0;
}

static int run_migrations(const struct lc_config *cfg, struct lc_err *err)
{
	struct migrate_result res;
	if (migrate_db(cfg->db, litecri_migrations, litecri_migrations_count, &res, err) < 0)
		return -1;
	if (res.from == res.to)
		log_info("database %s is at schema version %d", cfg->db, res.to);
	else
		log_info("database %s migrated from schema version %d to %d%s%s", cfg->db, res.from, res.to,
			 res.backup[0] ? "; backup " : "", res.backup);
	return 0;
}

/* Lock "<db>.lock": one litecri process (daemon or migrate) per database.  fd stays open. */
static int lock_db(const struct lc_config *cfg, int *fd, struct lc_err *err)
{
	char path[PATH_MAX + 8], what[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s.lock", cfg->db);
	snprintf(what, sizeof what, "database %s", cfg->db);
	return lock_file(path, what, fd, err);
}

/* Lock "<state>/litecri.lock": one daemon per state directory.  fd stays open. */
static int lock_state(const struct lc_config *cfg, int *fd, struct lc_err *err)
{
	char path[PATH_MAX + 16], what[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/litecri.lock", cfg->state);
	snprintf(what, sizeof what, "state directory %s", cfg->state);
	return lock_file(path, what, fd, err);
}

/*
 * The OCI runtime (runc or crun, each container supervised by conmon) and the lifecycle state
 * built on it: exit watcher, startup recovery.  Everything the runtime keeps is under <state>.
 * Without a runtime or conmon the daemon still serves (env->lc stays NULL): images and status work,
 * calls that run pods and containers fail with FAILED_PRECONDITION.
 */
static int open_lifecycle(struct cri_env *env, int check, struct lc_err *err)
{
	const struct lc_config *cfg = env->cfg;
	char runtime_path[PATH_MAX], conmon_path[PATH_MAX], root[PATH_MAX + 8], exit_dir[PATH_MAX + 8],
		socket_dir[PATH_MAX + 8];
	if (find_executable(cfg->runtime, runtime_path, sizeof runtime_path, err) < 0 ||
	    find_executable(cfg->conmon, conmon_path, sizeof conmon_path, err) < 0) {
		if (check)
			return -1;
		/* Serve anyway: Status reports RuntimeReady=false and kubelet marks the node NotReady. */
		log_warn("%s: pods and containers cannot be run (Status reports RuntimeReady=false)", err->msg);
		return 0;
	}
	const char *base = strrchr(runtime_path, '/') + 1;
	snprintf(root, sizeof root, "%s/%s", cfg->state, base);
	snprintf(exit_dir, sizeof exit_dir, "%s/exits", cfg->state);
	snprintf(socket_dir, sizeof socket_dir, "%s/attach", cfg->state);
	struct rt_oci_config rc = { .runtime_path = runtime_path, .conmon_path = conmon_path, .root = root,
				    .exit_dir = exit_dir, .socket_dir = socket_dir, .debug = cfg->log_level >= LOG_DEBUG };
	struct runtime *rt = NULL;
	if (runtime_oci_new(&rc, &rt, err) < 0)
		return -1;
	if (check)
		return lifecycle_open_check(env, rt, err);
	log_info("OCI runtime %s (state %s), conmon %s", runtime_path, root, conmon_path);
	return lifecycle_open(env, rt, err);
}

/*
 * The streaming server (Exec, Attach, PortForward sessions) with its container side
 * (src/cri/stream_backend.c), before the gRPC server so that every URL a CRI call answers is
 * served.
 */
static int open_stream(struct cri_env *env, struct lc_err *err)
{
	static struct stream_backend backend; /* its arg is env, which outlives the server */
	cri_stream_backend(env, &backend);
	const struct lc_config *cfg = env->cfg;
	const struct stream_config sc = { .address = cfg->stream_address, .port = cfg->stream_port,
					  .tls_cert = cfg->stream_tls_cert, .tls_key = cfg->stream_tls_key,
					  .idle_timeout_s = cfg->stream_idle_timeout,
					  .max_sessions = cfg->stream_max_sessions };
	if (stream_server_start(&sc, &backend, &env->stream, err) < 0)
		return -1;
	log_info("streaming server (Exec, Attach, PortForward) on %s", stream_server_url(env->stream));
	return 0;
}

/* Tell the service manager (systemd, Type=notify) `state`; a failure is logged, not fatal. */
static void notify_manager(const char *state)
{
	struct lc_err err = { 0 };
	if (notify_send(state, &err) < 0)
		log_warn("service manager not told %s: %s", state, err.msg);
}

static int daemon_main(const struct lc_config *cfg)
{
	struct lc_err err = { 0 };
	int state_fd = -1, db_fd = -1, rc = 1;
	struct store *store = NULL;
	struct images *images = NULL;
	struct server *srv = NULL;
	struct metrics_http *metrics = NULL;
	struct cri_env env = { .cfg = cfg, .schema_version = (int)litecri_migrations_count };

	/*
	 * Keep freed heap memory for the next call instead of handing it back to the kernel (and
	 * serve multi-megabyte responses from the heap, not fresh mmaps): a large List otherwise
	 * faults in and zeroes new pages every time.  ListContainers of 10k containers: p50 40 → 27 ms.
	 */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 16 << 20);

	if (mkdir_p(cfg->root, 0700, &err) < 0 || mkdir_p(cfg->state, 0700, &err) < 0 ||
	    mkdir_parent(cfg->db, 0700, &err) < 0)
		goto fail;
	if (lock_state(cfg, &state_fd, &err) < 0 || lock_db(cfg, &db_fd, &err) < 0)
		goto fail;
	if (unix_socket_claim(cfg->socket_path, &err) < 0)
		goto fail;
	if (run_migrations(cfg, &err) < 0)
		goto fail;
	if (store_open(cfg->db, (int)litecri_migrations_count, &store, &err) < 0 ||
	    store_events_retain(store, cfg->events_retain, &err) < 0) /* before recovery, which records exits */
		goto fail;

	if (registry_global_init(&err) < 0 || images_open(cfg, store, &images, &err) < 0)
		goto fail;
	env.store = store;
	env.images = images;
	const struct net_config nc = { .conf_dir = cfg->cni_conf_dir, .bin_dirs = cfg->cni_bin_dirs,
				       .max_conf_num = cfg->cni_max_conf_num, .timeout_s = cfg->cni_plugin_timeout };
	if (net_open(&nc, &env.net, &err) < 0) /* before recovery, which may DEL pods' networks */
		goto fail;
	if (open_lifecycle(&env, 0, &err) < 0 || open_stream(&env, &err) < 0)
		goto fail;
	grpc_init();
	if (server_start(&env, &srv, &err) < 0) {
		grpc_shutdown();
		goto fail;
	}
	if (metrics_http_start(&env, &metrics, &err) < 0) {
		server_stop(srv, 0, registry_cancel_all);
		grpc_shutdown();
		goto fail;
	}
	log_info("litecri %s ready (pid %d, db %s, root %s, state %s)", LITECRI_VERSION, (int)getpid(),
		 cfg->db, cfg->root, cfg->state);
	notify_manager("READY=1"); /* server_start returned: the socket accepts */

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	log_info("received %s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	notify_manager("STOPPING=1");
	metrics_http_stop(metrics);
	server_stop(srv, cfg->shutdown_timeout, registry_cancel_all); /* pulls give up after it */
	grpc_shutdown();
	rc = 0;
	goto out;
fail:
	log_error("litecri: %s", err.msg);
out:
	stream_server_stop(env.stream); /* no call mints tokens any more: sessions end (exec'd commands killed) */
	lifecycle_close(&env); /* containers keep running under conmon */
	net_close(env.net);
	images_close(images);
	registry_global_cleanup(); /* after every session is closed; a no-op if never initialised */
	store_close(store);
	if (db_fd >= 0)
		close(db_fd);
	if (state_fd >= 0)
		close(state_fd);
	if (rc == 0)
		log_info("litecri stopped");
	return rc;
}

static void print_imported(const char *id, const char *name, void *arg)
{
	(void)arg;
	printf("%s %s\n", id, name);
}

/*
 * `litecri image import PATH`: beside a running daemon (which holds the database lock and has
 * migrated it) or alone (then migrate first, holding the lock).
 */
static int import_main(const struct lc_config *cfg, const char *path)
{
	struct lc_err err = { 0 };
	int db_fd = -1, rc = 1;
	struct store *store = NULL;
	struct images *images = NULL;
	if (mkdir_p(cfg->root, 0700, &err) < 0 || mkdir_parent(cfg->db, 0700, &err) < 0)
		goto out;
	if (lock_db(cfg, &db_fd, &err) == 0) {
		if (run_migrations(cfg, &err) < 0)
			goto out;
	} else if (err.errnum != EWOULDBLOCK) {
		goto out;
	} else {
		log_info("database %s is in use by a running litecri: importing beside it", cfg->db);
	}
	if (store_open(cfg->db, (int)litecri_migrations_count, &store, &err) < 0 ||
	    registry_global_init(&err) < 0 || images_open(cfg, store, &images, &err) < 0)
		goto out;
	if (images_import(images, path, print_imported, NULL, &err) < 0)
		goto out;
	rc = 0;
out:
	if (rc)
		log_error("litecri image import: %s", err.msg);
	images_close(images);
	registry_global_cleanup(); /* after every session is closed; a no-op if never initialised */
	store_close(store);
	if (db_fd >= 0)
		close(db_fd);
	return rc;
}

static void print_finding(void *arg, const struct life_finding *f)
{
	json_t *all = arg;
	if (all) {
		json_array_append_new(all, json_pack("{s:s, s:s, s:s, s:s}", "kind", f->kind, "id", f->id, "problem",
						     f->problem, "remedy", f->remedy));
		return;
	}
	printf("%s %s: %s; %s\n", f->kind, f->id, f->problem, f->remedy);
}

/*
 * `litecri check [--json]`: life_check on the database and the runtime, without the locks (a daemon
 * may hold them) and without creating a database where there is none.  0 consistent, 1 findings
 * (one line each, or a JSON array), 2 when it could not check.
 */
static int check_main(const struct lc_config *cfg, int as_json)
{
	struct lc_err err = { 0 };
	struct cri_env env = { .cfg = cfg, .schema_version = (int)litecri_migrations_count };
	struct store *store = NULL;
	json_t *all = as_json ? json_array() : NULL;
	size_t n = 0;
	int rc = 2;
	struct stat st;
	if (stat(cfg->db, &st) < 0) {
		lc_fail(&err, errno, "database %s", cfg->db);
		goto out;
	}
	if (store_open(cfg->db, (int)litecri_migrations_count, &store, &err) < 0)
		goto out;
	env.store = store;
	if (open_lifecycle(&env, 1, &err) < 0 || life_check(&env, print_finding, all, &n, &err) < 0)
		goto out;
	rc = n ? 1 : 0;
	if (all)
		json_dumpf(all, stdout, JSON_INDENT(2));
	if (all)
		putchar('\n');
	else if (!n)
		printf("litecri check: consistent (database %s, state %s)\n", cfg->db, cfg->state);
out:
	if (rc == 2)
		log_error("litecri check: %s", err.msg);
	json_decref(all);
	lifecycle_close(&env);
	store_close(store);
	return rc;
}

/*
 * Descriptors 0-2 closed at exec (some supervisors do that) are taken by /dev/null: otherwise the
 * first file the daemon opens would sit at 0, 1 or 2, where a log line or a library's stdin
 * use would hit it (and a call's cancellation eventfd at 0 would read as "none").  It runs from
 * .preinit_array, before any library's initializer: gRPC's own open an eventfd before main.
 */
static void stdio_reserve(void)
{
	int fd;
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}
__attribute__((section(".preinit_array"), used)) static void (*const stdio_reserve_at_start)(void) = stdio_reserve;

int main(int argc, char **argv)
{
	/* Signals are taken by sigwait in the main thread: block them before any thread exists. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int migrate_only = argc > 1 && !strcmp(argv[1], "migrate");
	int import = argc > 2 && !strcmp(argv[1], "image") && !strcmp(argv[2], "import");
	int check = argc > 1 && !strcmp(argv[1], "check"), as_json = 0;
	if (check) /* its one option of its own */
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--json")) {
				as_json = 1;
				memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof *argv);
				argc--;
				break;
			}
	if (migrate_only || import || check) {
		int skip = import ? 2 : 1;
		argv[skip] = argv[0];
		argv += skip;
		argc -= skip;
	}
	struct lc_config cfg;
	struct lc_err err = { 0 };
	int r = load_config(argc, argv, import ? 1 : 0, &cfg, &err);
	if (r == 1) {
		config_free(&cfg);
		return 0;
	}
	if (r < 0) {
		log_error("litecri: %s", err.msg);
		config_free(&cfg);
		return 2;
	}
	log_set_level(cfg.log_level);
	log_set_format(cfg.log_format);
	if (check) {
		r = check_main(&cfg, as_json);
		config_free(&cfg);
		return r;
	}
	if (import) {
		r = import_main(&cfg, argv[optind]);
		config_free(&cfg);
		return r;
	}
	if (migrate_only) {
		int fd = -1;
		if (mkdir_parent(cfg.db, 0700, &err) < 0 || lock_db(&cfg, &fd, &err) < 0 ||
		    run_migrations(&cfg, &err) < 0) {
			log_error("litecri migrate: %s", err.msg);
			if (fd >= 0)
				close(fd);
			config_free(&cfg);
			return 1;
		}
		close(fd);
		config_free(&cfg);
		return 0;
	}
	r = daemon_main(&cfg);
	config_free(&cfg);
	return r;
}
