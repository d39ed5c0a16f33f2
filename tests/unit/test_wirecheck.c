/*
 * test_wirecheck.c — the decode-boundary check of string fields (src/server/wirecheck.c): NUL
 * bytes and invalid UTF-8 in every kind of string field a CRI request holds, named by path; the
 * UTF-8 rules and the shape of object IDs themselves.
 *
 * protobuf-c packs C strings, so a request is packed with a placeholder byte (0x7f, DEL) where the
 * bad byte goes and the packed bytes are patched afterwards (each test checks exactly one byte
 * was patched, so no length or tag byte was mistaken for the placeholder).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api.pb-c.h"
#include "server/wirecheck.h"
#include "util/id.h"
#include "util/utf8.h"

#define MARK '\x7f'

struct packed {
	uint8_t *buf;
	size_t len;
};

/* Pack m and replace its one placeholder byte with `with` (a run of n bytes replaces it). */
static struct packed pack_patched(const ProtobufCMessage *m, const char *with, size_t n)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *tmp = malloc(len);
	assert_non_null(tmp);
	assert_int_equal(protobuf_c_message_pack(m, tmp), len);
	int marks = 0;
	size_t at = 0;
	for (size_t i = 0; i < len; i++)
		if (tmp[i] == (uint8_t)MARK) {
			marks++;
			at = i;
		}
	assert_int_equal(marks, 1);
	assert_true(n == 1); /* the length prefix stays right only for one byte replacing one */
	tmp[at] = (uint8_t)with[0];
	return (struct packed){ tmp, len };
}

static void expect_bad(const ProtobufCMessageDescriptor *d, struct packed p, const char *path, const char *why)
{
	char got[256];
	const char *w = NULL;
	int rc = wirecheck_strings(d, p.buf, p.len, got, sizeof got, &w);
	if (rc == 0)
		fail_msg("accepted; wanted %s %s", path, why);
	assert_string_equal(got, path);
	assert_non_null(w);
	assert_string_equal(w, why);
	/* and protobuf-c alone would have taken it: the check is needed */
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, p.len, p.buf);
	assert_non_null(m);
	protobuf_c_message_free_unpacked(m, NULL);
	free(p.buf);
}

static void expect_ok(const ProtobufCMessageDescriptor *d, struct packed p)
{
	char got[256];
	const char *w = NULL;
	if (wirecheck_strings(d, p.buf, p.len, got, sizeof got, &w) != 0)
		fail_msg("refused: %s %s", got, w ? w : "");
	free(p.buf);
}

static const char *const ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\x7f";

/* A top-level ID: "<id>\0junk" would remove the object <id>. */
static void test_id_with_nul(void **state)
{
	(void)state;
	Runtime__V1__RemoveContainerRequest r = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	char id[80];
	snprintf(id, sizeof id, "%.63sf%cjunk", ID, MARK);
	r.container_id = id;
	expect_bad(&runtime__v1__remove_container_request__descriptor, pack_patched(&r.base, "\0", 1),
		   "container_id", "holds a NUL byte");
	r.container_id = (char *)ID;
	expect_bad(&runtime__v1__remove_container_request__descriptor, pack_patched(&r.base, "\xff", 1),
		   "container_id", "is not valid UTF-8");
}

/* Deep in a message, in a repeated field: capability "SYS_ADMIN\0junk" must not grant SYS_ADMIN. */
static void test_capability_with_nul(void **state)
{
	(void)state;
	Runtime__V1__Capability caps = RUNTIME__V1__CAPABILITY__INIT;
	char *add[] = { "NET_RAW", "SYS_ADMIN\x7fjunk" };
	caps.add_capabilities = add;
	caps.n_add_capabilities = 2;
	Runtime__V1__LinuxContainerSecurityContext sc;
	/* clang takes the _INIT macro for a use of the deprecated fields */
	runtime__v1__linux_container_security_context__init(&sc);
	sc.capabilities = &caps;
	Runtime__V1__LinuxContainerConfig lin = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
	lin.security_context = &sc;
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	md.name = "c";
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	cfg.metadata = &md;
	cfg.linux = &lin;
	Runtime__V1__CreateContainerRequest r = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	r.pod_sandbox_id = "p";
	r.config = &cfg;
	expect_bad(&runtime__v1__create_container_request__descriptor, pack_patched(&r.base, "\0", 1),
		   "config.linux.security_context.capabilities.add_capabilities[1]", "holds a NUL byte");
}

/* Map entries: a label value that is not UTF-8 (strict clients could not decode it in a list). */
static void test_label_value_not_utf8(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig__LabelsEntry e0 = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	Runtime__V1__PodSandboxConfig__LabelsEntry e1 = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	e0.key = "app";
	e0.value = "web";
	e1.key = "tier";
	e1.value = "front\x7f";
	Runtime__V1__PodSandboxConfig__LabelsEntry *labels[] = { &e0, &e1 };
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	cfg.labels = labels;
	cfg.n_labels = 2;
	Runtime__V1__RunPodSandboxRequest r = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	r.config = &cfg;
	expect_bad(&runtime__v1__run_pod_sandbox_request__descriptor, pack_patched(&r.base, "\xc3", 1),
		   "config.labels[1].value", "is not valid UTF-8");
	e1.value = "front";
	e0.key = "a\x7fp";
	expect_bad(&runtime__v1__run_pod_sandbox_request__descriptor, pack_patched(&r.base, "\0", 1),
		   "config.labels[0].key", "holds a NUL byte");
}

/* Exec commands, image references, mounts: each kind of string the handlers pass on. */
static void test_other_fields(void **state)
{
	(void)state;
	Runtime__V1__ExecSyncRequest x = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	char *cmd[] = { "/bin/sh", "-c", "echo ok", "rm\x7f" };
	x.container_id = "c";
	x.cmd = cmd;
	x.n_cmd = 4;
	expect_bad(&runtime__v1__exec_sync_request__descriptor, pack_patched(&x.base, "\0", 1), "cmd[3]",
		   "holds a NUL byte");

	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = "busybox\x7fjunk";
	Runtime__V1__RemoveImageRequest ri = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	ri.image = &spec;
	expect_bad(&runtime__v1__remove_image_request__descriptor, pack_patched(&ri.base, "\0", 1), "image.image",
		   "holds a NUL byte");

	Runtime__V1__Mount m0 = RUNTIME__V1__MOUNT__INIT, m1 = RUNTIME__V1__MOUNT__INIT;
	m0.container_path = "/data";
	m0.host_path = "/srv";
	m1.container_path = "/etc/x\x7f";
	m1.host_path = "/srv";
	Runtime__V1__Mount *mounts[] = { &m0, &m1 };
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	cfg.mounts = mounts;
	cfg.n_mounts = 2;
	Runtime__V1__CreateContainerRequest cr = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	cr.config = &cfg;
	expect_bad(&runtime__v1__create_container_request__descriptor, pack_patched(&cr.base, "\xed", 1),
		   "config.mounts[1].container_path", "is not valid UTF-8");
}

/* Well-formed UTF-8 of every length passes; bytes fields and unknown fields are not strings. */
static void test_accepted(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig__AnnotationsEntry e = RUNTIME__V1__POD_SANDBOX_CONFIG__ANNOTATIONS_ENTRY__INIT;
	e.key = "note";
	e.value = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80 \x7f"; /* é € 🚀 DEL */
	Runtime__V1__PodSandboxConfig__AnnotationsEntry *ann[] = { &e };
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	cfg.annotations = ann;
	cfg.n_annotations = 1;
	Runtime__V1__RunPodSandboxRequest r = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	r.config = &cfg;
	expect_ok(&runtime__v1__run_pod_sandbox_request__descriptor, pack_patched(&r.base, "\x7f", 1));

	/* field 99 (unknown to RemoveContainerRequest), length-delimited, holding a NUL: skipped */
	const uint8_t unknown[] = { 0x0a, 0x01, 'c', ((99 << 3 | 2) & 0x7f) | 0x80, (99 << 3 | 2) >> 7, 0x02, 'a', 0x00 };
	char path[64];
	const char *why;
	assert_int_equal(wirecheck_strings(&runtime__v1__remove_container_request__descriptor, unknown, sizeof unknown,
					   path, sizeof path, &why),
			 0);
	/* a length running past the end is refused as malformed, not read past */
	const uint8_t cut[] = { 0x0a, 0x05, 'a', 'b' };
	assert_int_equal(wirecheck_strings(&runtime__v1__remove_container_request__descriptor, cut, sizeof cut, path,
					   sizeof path, &why),
			 -1);
	assert_string_equal(why, "is not a well-formed message");
}

/*
 * Field numbers protobuf does not allow: 0 and above 2^29-1.  protobuf-c 1.4 decodes a field 0
 * written with an overlong tag (0x80 0x00) and a field 2^29 as unknown fields, but packs them
 * again as bytes it refuses to decode (a single 0x00 tag; a tag shifted out of 32 bits): a
 * RunPodSandbox or CreateContainer config holding one was recorded and then never decoded again
 * (PodSandboxStatus answered DATA_LOSS, ListPodSandbox left the pod out).  Found by fuzz_request.
 */
static void test_bad_field_numbers(void **state)
{
	(void)state;
	/* RunPodSandboxRequest{config: {metadata: {name: "a"}, <field 0: varint 0>}} */
	const uint8_t field0[] = { 0x0a, 0x08, 0x0a, 0x03, 0x0a, 0x01, 'a', 0x80, 0x00, 0x00 };
	/* RemoveContainerRequest{container_id: "c", <field 2^29: varint 0>} */
	const uint8_t big[] = { 0x0a, 0x01, 'c', 0x80, 0x80, 0x80, 0x80, 0x10, 0x00 };
	struct {
		const ProtobufCMessageDescriptor *d;
		const uint8_t *buf;
		size_t len;
		const char *path;
	} cases[] = {
		{ &runtime__v1__run_pod_sandbox_request__descriptor, field0, sizeof field0, "config" },
		{ &runtime__v1__remove_container_request__descriptor, big, sizeof big, "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ProtobufCMessage *m = protobuf_c_message_unpack(cases[i].d, NULL, cases[i].len, cases[i].buf);
		assert_non_null(m); /* protobuf-c alone takes it */
		protobuf_c_message_free_unpacked(m, NULL);
		char path[64];
		const char *why = NULL;
		assert_int_equal(wirecheck_strings(cases[i].d, cases[i].buf, cases[i].len, path, sizeof path, &why), -1);
		assert_string_equal(path, cases[i].path);
		assert_string_equal(why, "is not a well-formed message");
	}
}

/* The UTF-8 rules themselves (RFC 3629). */
static void test_utf8_rules(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	/* no bytes at all: an empty `bytes` field (an env value "") decodes as data NULL, length 0; UBSan
	 * aborted on NULL + 0 before (found by fuzz_request through spec_container's env check) */
	assert_true(utf8_valid(NULL, 0));
	assert_true(utf8_valid("\xc2\x80", 2));         /* U+0080 */
	assert_true(utf8_valid("\xef\xbf\xbf", 3));     /* U+FFFF */
	assert_true(utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
	assert_false(utf8_valid("\xc0\x80", 2));         /* overlong NUL */
	assert_false(utf8_valid("\xe0\x80\xaf", 3));     /* overlong '/' */
	assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate U+D800 */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	assert_false(utf8_valid("\xe2\x82", 2));         /* cut short */
	assert_false(utf8_valid("\x80", 1));             /* lone continuation */
	assert_false(utf8_valid("\xf8\x88\x80\x80\x80", 5));
}

/* The shape of an object ID or ID prefix (util/id.h): lowercase hex digits, min to max of them. */
static void test_id_shape(void **state)
{
	(void)state;
	const char *full = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	assert_true(id_is_hex(full, 64, 64));
	assert_true(id_is_hex(full, 1, 64));
	assert_true(id_is_hex("f", 1, 64));
	assert_true(id_is_hex("", 0, 64));
	assert_false(id_is_hex("", 1, 64));
	assert_false(id_is_hex(NULL, 0, 64));
	assert_false(id_is_hex("0123abc", 64, 64));                 /* too short */
	assert_false(id_is_hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", 1, 64));
	assert_false(id_is_hex("0123456789ABCDEF", 1, 64));         /* uppercase */
	assert_false(id_is_hex("0123g", 1, 64));
	assert_false(id_is_hex("-123", 1, 64));
	assert_false(id_is_hex("0x12", 1, 64));
	assert_false(id_is_hex("12 ", 1, 64));
	assert_false(id_is_hex("1234", 1, 3)); /* reads no further than max + 1 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_with_nul),
		cmocka_unit_test(test_capability_with_nul),
		cmocka_unit_test(test_label_value_not_utf8),
		cmocka_unit_test(test_other_fields),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_bad_field_numbers),
		cmocka_unit_test(test_utf8_rules),
		cmocka_unit_test(test_id_shape),
	};
	return cmocka_run_group_tests_name("wirecheck", tests, NULL, NULL);
}
