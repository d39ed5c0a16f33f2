/*
 * test_manifest.c — parsing of manifests, indexes (OCI and Docker manifest lists) and image
 * configs (src/image/manifest.c): what is accepted, what is refused with which message, and
 * platform selection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image/manifest.h"

#define D0 "sha256:0000000000000000000000000000000000000000000000000000000000000000"
#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static int parse(const char *json, const char *ct, struct manifest *m, struct lc_err *err)
{
	return manifest_parse(json, strlen(json), ct, m, err);
}

/* Parsing must fail with errnum EINVAL and a message containing needle. */
static void refused(const char *json, const char *ct, const char *needle)
{
	struct manifest m;
	struct lc_err err = { 0 };
	if (parse(json, ct, &m, &err) != -1)
		fail_msg("accepted: %s", json);
	assert_int_equal(err.errnum, EINVAL);
	if (!strstr(err.msg, needle))
		fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_image_manifests(void **state)
{
	(void)state;
	struct manifest m;
	struct lc_err err = { 0 };
	const char *oci = "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
			  "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"" D0 "\",\"size\":10},"
			  "\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER_GZIP "\",\"digest\":\"" D1 "\",\"size\":20},"
			  "{\"mediaType\":\"" MT_OCI_LAYER_ZSTD "\",\"digest\":\"" D2 "\",\"size\":30},"
			  "{\"mediaType\":\"" MT_OCI_LAYER "\",\"digest\":\"" D3 "\",\"size\":0}]}";
	assert_int_equal(parse(oci, NULL, &m, &err), 0);
	assert_false(m.is_index);
	assert_string_equal(m.media_type, MT_OCI_MANIFEST);
	assert_string_equal(m.config.digest, D0);
	assert_int_equal(m.config.size, 10);
	assert_int_equal(m.n_layers, 3);
	assert_string_equal(m.layers[1].digest, D2);
	assert_string_equal(m.layers[1].media_type, MT_OCI_LAYER_ZSTD);
	manifest_free(&m);

	/* Docker schema 2, and an OCI manifest without mediaType: the transport's type, else its shape. */
	const char *docker = "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
			     "\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"digest\":\"" D0 "\",\"size\":1},"
			     "\"layers\":[{\"mediaType\":\"" MT_DOCKER_LAYER_GZIP "\",\"digest\":\"" D1 "\",\"size\":2}]}";
	assert_int_equal(parse(docker, NULL, &m, &err), 0);
	assert_string_equal(m.media_type, MT_DOCKER_MANIFEST);
	manifest_free(&m);
	const char *bare = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D0 "\",\"size\":1},\"layers\":[]}";
	assert_int_equal(parse(bare, "", &m, &err), 0);
	assert_string_equal(m.media_type, MT_OCI_MANIFEST);
	assert_int_equal(m.n_layers, 0);
	manifest_free(&m);
	assert_int_equal(parse(bare, MT_DOCKER_MANIFEST, &m, &err), 0);
	assert_string_equal(m.media_type, MT_DOCKER_MANIFEST);
	manifest_free(&m);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("not json", NULL, "not valid JSON");
	refused("[1]", NULL, "not a JSON object");
	refused("{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, "schema 1");
	refused("{\"schemaVersion\":2,\"schemaVersion\":2}", NULL, "not valid JSON"); /* duplicate key */
	refused("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.artifact.manifest.v1+json\"}", NULL,
		"unsupported manifest media type");
	refused("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\","
		"\"digest\":\"" D0 "\",\"size\":1},\"layers\":[]}",
		NULL, "not a container image");
	refused("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D0 "\",\"size\":1},"
		"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+encrypted\",\"digest\":\"" D1
		"\",\"size\":1}]}",
		NULL, "unsupported media type");
	refused("{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:abc\",\"size\":1},\"layers\":[]}", NULL,
		"not a sha256 digest");
	refused("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D0 "\",\"size\":-1},\"layers\":[]}", NULL,
		"no valid size");
	refused("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D0 "\",\"size\":1}}", NULL, "no layers list");
	refused("{\"schemaVersion\":2,\"manifests\":{}}", NULL, "no manifests list");
}

static void test_index_platforms(void **state)
{
	(void)state;
	const char *idx = "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":["
			  "{\"digest\":\"" D0 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
			  "{\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
			  "{\"digest\":\"" D2 "\",\"size\":1,\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}},"
			  "{\"digest\":\"" D3 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	struct manifest m;
	struct lc_err err = { 0 };
	assert_int_equal(parse(idx, NULL, &m, &err), 0);
	assert_true(m.is_index);
	assert_int_equal(m.n_manifests, 4);
	const struct descriptor *d = NULL;
	assert_int_equal(manifest_select(&m, "amd64", "", &d, &err), 0);
	assert_string_equal(d->digest, D3); /* linux, not windows */
	assert_int_equal(manifest_select(&m, "arm", "v7", &d, &err), 0);
	assert_string_equal(d->digest, D1);
	assert_int_equal(manifest_select(&m, "arm", "", &d, &err), 0); /* no variant asked: the first arm */
	assert_string_equal(d->digest, D0);
	assert_int_equal(manifest_select(&m, "arm64", "", &d, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "linux/arm64"));
	assert_non_null(strstr(err.msg, "linux/arm/v7"));
	assert_non_null(strstr(err.msg, "windows/amd64"));
	manifest_free(&m);

	/* An OCI index told apart by its shape, and the host's platform has a name. */
	const char *oci = "{\"schemaVersion\":2,\"manifests\":[]}";
	assert_int_equal(parse(oci, NULL, &m, &err), 0);
	assert_true(m.is_index);
	assert_string_equal(m.media_type, MT_OCI_INDEX);
	manifest_free(&m);
	const char *arch, *variant;
	platform_host(&arch, &variant);
	assert_true(strlen(arch) > 0);
}

static void test_image_config(void **state)
{
	(void)state;
	struct image_config c;
	struct lc_err err = { 0 };
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\","
			  "\"config\":{\"User\":\"app:staff\",\"StopSignal\":\"SIGQUIT\",\"Env\":[\"A=1\"]},"
			  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}";
	assert_int_equal(image_config_parse(cfg, strlen(cfg), &c, &err), 0);
	assert_int_equal(c.n_diff_ids, 2);
	assert_string_equal(c.diff_ids[1], D2);
	assert_string_equal(c.user, "app:staff");
	assert_string_equal(c.stop_signal, "SIGQUIT");
	assert_string_equal(c.arch, "amd64");
	image_config_free(&c);

	const char *no_config = "{\"rootfs\":{\"diff_ids\":[]}}";
	assert_int_equal(image_config_parse(no_config, strlen(no_config), &c, &err), 0);
	assert_string_equal(c.user, "");
	image_config_free(&c);

	const char *bad[] = {
		"{}",                                                         /* no rootfs */
		"{\"rootfs\":{\"type\":\"other\",\"diff_ids\":[]}}",          /* not layers */
		"{\"rootfs\":{\"diff_ids\":[\"sha256:xyz\"]}}",               /* bad diff ID */
		"{\"rootfs\":{\"diff_ids\":[42]}}",
		"nope",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (image_config_parse(bad[i], strlen(bad[i]), &c, &err) != -1)
			fail_msg("accepted config: %s", bad[i]);
		assert_int_equal(err.errnum, EINVAL);
	}
}

static void test_user_split(void **state)
{
	(void)state;
	static const struct {
		const char *user;
		int64_t uid;
		const char *name;
	} cases[] = {
		{ "", -1, "" },           { "0", 0, "" },          { "1000", 1000, "" },
		{ "1000:1000", 1000, "" }, { "app", -1, "app" },    { "app:staff", -1, "app" },
		{ "-1", -1, "-1" },        { "12ab", -1, "12ab" },  { "4294967295", 4294967295LL, "" },
		{ "4294967296", -1, "4294967296" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t uid;
		char name[64];
		image_user_split(cases[i].user, &uid, name, sizeof name);
		if (uid != cases[i].uid || strcmp(name, cases[i].name) != 0)
			fail_msg("'%s': uid %lld name '%s'", cases[i].user, (long long)uid, name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_manifests),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_index_platforms),
		cmocka_unit_test(test_image_config),
		cmocka_unit_test(test_user_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
