/*
 * testimg.h — test images and a local registry, from Debian parts only.
 *
 * Images are built from /bin/busybox (Debian's busybox-static) with libarchive, jansson and
 * libcrypto into an OCI image layout directory; they are served by Debian's docker-registry
 * started on 127.0.0.1 on a free port.  Nothing here resolves or contacts any other host.
 */
#ifndef LITECRI_TESTS_TESTIMG_H
#define LITECRI_TESTS_TESTIMG_H

#include <limits.h>
#include <sys/types.h>

/* The images the fixture knows how to build (see testimg.c for their exact contents). */
enum testimg_kind {
	/* One gzip layer: /bin/busybox, /bin/sh and /bin/ls symlinks, /bin/cat a hard link to
	 * /bin/busybox, /etc/passwd (root 0, app 1000, nobody 65534), /etc/group, /tmp 1777,
	 * /home/app/secret owned 1000:1000 mode 0640, /etc/xattr-file with xattr user.litecri=test.
	 * OCI media types.  Config: Cmd ["/bin/sh"], Env PATH. */
	TESTIMG_BASE,
	/* The BASE layer (gzip) + a layer (uncompressed) adding /data/a, /data/b, /data/keep/x,
	 * /opt/old/y, /opt/old/z + a layer (zstd) with /data/.wh.a (whiteout) and
	 * /opt/old/.wh..wh..opq (opaque) plus /opt/old/new.  OCI.  Config: User "1000",
	 * Entrypoint ["/bin/sh","-c"], Cmd ["echo hi"], Env [PATH, "LITECRI_TEST=multi"],
	 * WorkingDir "/data", StopSignal "SIGUSR1", ExposedPorts {"8080/tcp":{}},
	 * Labels {"org.litecri.test":"multi"}. */
	TESTIMG_MULTI,
	/* The BASE layer (the same blob, so the same chain ID), Docker schema 2 media types
	 * (manifest, config, gzip layer).  Config as BASE plus Labels {"org.litecri.test":"docker"},
	 * so its image ID differs from BASE's. */
	TESTIMG_DOCKER,
	/* An OCI image index with two images: linux/<host arch> and linux/<another arch>, each the
	 * BASE layer + a layer writing /arch containing the arch name; config Labels
	 * {"org.litecri.test.arch": "<arch>"}.  <another arch> is arm64 on amd64 hosts, else amd64. */
	TESTIMG_INDEX,
	/* The BASE layer + one uncompressed layer of 64 MiB of incompressible bytes at /big: slow
	 * enough to kill a pull half-way. */
	TESTIMG_BIG,
	/* The BASE layer; config as BASE plus User "app" (a user name, not a number). */
	TESTIMG_USERNAME,
	/* Made by testimg_build_pause only: one gzip layer holding a static program as /pause
	 * (mode 0755); config Entrypoint ["/pause"], no Cmd, Env PATH.  OCI. */
	TESTIMG_PAUSE,
};

/*
 * Every tar entry has mtime TESTIMG_MTIME, numeric owners only (no user/group names); configs
 * have "created" 2024-01-01T00:00:00Z; JSON is compact with sorted keys; gzip headers carry no
 * timestamp.  So a kind's digests depend only on the host's /bin/busybox and architecture.
 */
#define TESTIMG_MTIME 1704067200 /* 2024-01-01T00:00:00Z */
#define TESTIMG_MAX_LAYERS 4

struct testimg {
	enum testimg_kind kind;
	char digest[72];        /* what a tag resolves to: the manifest, or the index for INDEX */
	char config_digest[72]; /* the image ID (for INDEX: of the host-arch image) */
	char manifest_digest[72]; /* the (host-arch) image manifest */
	char other_config_digest[72]; /* INDEX only: the other arch's image ID */
	char media_type[96];    /* of what the tag resolves to (image manifest or index) */
	long long size;         /* its size in bytes */
	char arch[16];          /* GOARCH name of the (host-arch) image: "amd64", "arm64", ... */
	char other_arch[16];    /* INDEX only: the other image's arch */
	int n_layers;
	char layer_digests[TESTIMG_MAX_LAYERS][72]; /* blobs of the (host-arch) image, bottom first */
	char diff_ids[TESTIMG_MAX_LAYERS][72];      /* sha256 of each uncompressed layer tar */
	char chain_ids[TESTIMG_MAX_LAYERS][72];     /* OCI chain IDs: c0 = d0, ci = sha256(c(i-1) + " " + di) */
};

/* The GOARCH name of this machine ("amd64", "arm64", ...). */
const char *testimg_host_arch(void);

/*
 * Build image `kind` into the OCI layout directory `layout` (created if missing; several images
 * may share one layout), recording it in index.json under the annotation
 * org.opencontainers.image.ref.name = ref_name.  Deterministic: same kind, same digests.
 */
int testimg_build(const char *layout, enum testimg_kind kind, const char *ref_name, struct testimg *out);

/*
 * Build a TESTIMG_PAUSE image from `program` (a static executable, e.g. the build's
 * litecri-pause) into the layout `layout`, as testimg_build does: a pod's infra ("pause") image
 * for a runtime that runs one per pod (containerd's sandbox_image).  Deterministic: the same
 * program, the same digests.
 */
int testimg_build_pause(const char *layout, const char *program, const char *ref_name, struct testimg *out);

/* Pack a layout directory into a tar file (an "OCI archive"): blobs/ first, then index.json and
 * oci-layout (name order, as a directory walk would give), so importers cannot rely on order. */
int testimg_layout_tar(const char *layout, const char *tar_path);

/*
 * Write a `docker save`-format tarball of one built image (for INDEX: the host-arch image) with
 * RepoTags [repo_tag]: <config hex>.json, <diff_id hex>/layer.tar (uncompressed, as docker
 * stores it) for each layer, then manifest.json [{Config, RepoTags, Layers}].
 */
int testimg_docker_save(const char *layout, const struct testimg *img, const char *repo_tag,
			const char *tar_path);

enum testreg_auth { TESTREG_OPEN, TESTREG_BASIC /* htpasswd */, TESTREG_TOKEN /* bearer tokens */ };

struct testreg {
	pid_t pid;
	int port;
	char host[64];          /* "127.0.0.1:<port>" */
	char dir[PATH_MAX];     /* its config, storage, log */
	enum testreg_auth auth;
	char user[32], pass[32]; /* the credentials the registry accepts (BASIC/TOKEN) */
	/* TOKEN: the token server (a thread of this process on 127.0.0.1) */
	int token_port;
	void *token_server;
	/* how the registry is reached: "http", or "https" (testreg_start_tls) */
	char scheme[8];
	/* TLS only ("" otherwise): the CA that signed the registry's certificate, and a second CA
	 * that signed nothing the registry presents (for "wrong CA" cases), both PEM. */
	char ca_file[PATH_MAX + 16];       /* <dir>/ca.pem */
	char other_ca_file[PATH_MAX + 16]; /* <dir>/other-ca.pem */
};

/* Start docker-registry on 127.0.0.1:<free port> with storage in a new temp dir; wait until it
 * answers /v2/.  Returns 0 or -1 (message on stderr; nothing left running or on disk).
 * BASIC: an htpasswd file (bcrypt).  TOKEN: a token server thread on 127.0.0.1 (GET
 * /token?service=&scope= with basic auth → RS256 JWT with an x5c self-signed certificate the
 * registry trusts); a request without valid credentials gets 401 and no token.
 * The registry is killed if this process dies (PR_SET_PDEATHSIG). */
int testreg_start(struct testreg *r, enum testreg_auth auth);

/*
 * testreg_start, serving HTTPS only (docker-registry's http.tls).  Made with libcrypto on each
 * start (EC P-256 keys, valid from an hour ago for a day): a self-signed CA (<dir>/ca.pem), the
 * server key (<dir>/server.key) and certificate (<dir>/server.pem) signed by that CA, for
 * DNS:localhost and IP:127.0.0.1 with extendedKeyUsage serverAuth, and an unrelated second CA
 * (<dir>/other-ca.pem).  r->scheme is "https"; the fixture's own requests (readiness, pushes)
 * verify the registry against r->ca_file.  TOKEN: the token server itself stays plain http.
 */
int testreg_start_tls(struct testreg *r, enum testreg_auth auth);

/* Push image img from layout to repository `repo` (e.g. "x/busybox") with tag `tag` (index
 * children and blobs first).  Authenticates as r->user when the registry wants it. */
int testreg_push(const struct testreg *r, const char *layout, const struct testimg *img, const char *repo,
		 const char *tag);

/* Overwrite the stored bytes of blob `digest` in the registry's storage (same length, different
 * content: the byte in the middle is inverted), so the registry serves data that does not match
 * the digest.  In an uncompressed layer with a big file (BIG's second layer) the tar stays
 * well-formed: only the digest tells.  0, or -1 if the blob is not stored. */
int testreg_corrupt_blob(const struct testreg *r, const char *digest);

/*
 * Count the requests the registry has logged (its access log, <dir>/registry.log) whose method is
 * `method` ("GET", "HEAD", ...) and whose request line contains `path_part` (e.g. a digest).
 * Lines are logged when a request completes.  Returns the count, or -1 if the log is unreadable.
 */
int testreg_count_requests(const struct testreg *r, const char *method, const char *path_part);

/* How many tokens the TOKEN registry's token server has issued (0 for other registries). */
int testreg_tokens_issued(const struct testreg *r);

/* Stop the registry (by its PID) and the token server, and remove its directory.  Safe to call
 * again, and on a zeroed or half-started struct. */
void testreg_stop(struct testreg *r);

/*
 * A throttling TCP relay on 127.0.0.1 in front of a registry, so that a test can act while a pull
 * is half-way (kill the daemon, start a second pull).  Each connection is relayed by its own
 * thread; bytes from the registry to the client are paced to `bytes_per_sec` per connection
 * (0: unpaced).  The registry sees the requests as usual (its access log still counts them).
 */
struct testproxy {
	int port;   /* where clients connect: 127.0.0.1:<port> */
	void *impl;
};

/* Start relaying 127.0.0.1:<port> → 127.0.0.1:target_port.  0 or -1 (message on stderr). */
int testproxy_start(struct testproxy *p, int target_port, long bytes_per_sec);

/* Change the pace for data relayed from now on (0: unpaced). */
void testproxy_set_rate(struct testproxy *p, long bytes_per_sec);

/*
 * How many times `needle` (case-insensitive, e.g. "authorization:") occurs in what clients sent
 * through the relay so far (the first MiB of each connection), so a test can check what a
 * registry reached through it was told.
 */
int testproxy_count(struct testproxy *p, const char *needle);

/* Stop: close every connection and join every thread.  Safe on a zeroed struct and twice. */
void testproxy_stop(struct testproxy *p);

#endif
