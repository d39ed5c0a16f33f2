/*
 * test_log.c — the log line formats: text as before, and json (--log-format json), each line
 * parsed back with jansson: one object per line with time, level and msg, every message byte
 * escaped so that the line is valid JSON (control characters, quotes, bytes that are not UTF-8).
 *
 * stderr is pointed at a memfd around each call, and restored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/log.h"

static int capture_fd = -1, saved_stderr = -1;

static void capture_begin(void)
{
	capture_fd = memfd_create("log", MFD_CLOEXEC);
	assert_true(capture_fd >= 0);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(capture_fd, STDERR_FILENO), STDERR_FILENO);
}

/* What was written to stderr since capture_begin (malloc'ed, NUL-terminated). */
static char *capture_end(void)
{
	assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(saved_stderr);
	off_t size = lseek(capture_fd, 0, SEEK_END);
	assert_true(size >= 0);
	char *buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(capture_fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	close(capture_fd);
	return buf;
}

#define CAPTURE(out, stmt)                  \
	do {                                \
		capture_begin();            \
		stmt;                       \
		(out) = capture_end();      \
	} while (0)

/* line must be exactly one line (one '\n', at its end) holding a JSON object with exactly the
 * keys time (RFC 3339, UTC, microseconds), level and msg; returns that object. */
static json_t *parse_line(const char *line)
{
	size_t n = strlen(line);
	assert_true(n > 0);
	assert_int_equal(line[n - 1], '\n');
	assert_ptr_equal(strchr(line, '\n'), line + n - 1);
	json_error_t jerr;
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		print_error("not JSON (%s at %d): %s", jerr.text, jerr.position, line);
	assert_non_null(o);
	assert_true(json_is_object(o));
	assert_int_equal(json_object_size(o), 3);
	const char *time = json_string_value(json_object_get(o, "time"));
	assert_non_null(time);
	regex_t re;
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
				 REG_EXTENDED | REG_NOSUB), 0);
	int rc = regexec(&re, time, 0, NULL, 0);
	regfree(&re);
	assert_int_equal(rc, 0);
	assert_true(json_is_string(json_object_get(o, "level")));
	assert_true(json_is_string(json_object_get(o, "msg")));
	return o;
}

static int group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_DEBUG);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	log_set_format(LOG_TEXT);
	return 0;
}

static void test_json_fields(void **state)
{
	(void)state;
	log_set_format(LOG_JSON);
	static const struct {
		enum log_level level;
		const char *name;
	} levels[] = { { LOG_ERROR, "error" }, { LOG_WARN, "warn" }, { LOG_INFO, "info" }, { LOG_DEBUG, "debug" } };
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		char *out;
		CAPTURE(out, log_msg(levels[i].level, "container %s exited %d", "abc", 137));
		json_t *o = parse_line(out);
		assert_string_equal(json_string_value(json_object_get(o, "level")), levels[i].name);
		assert_string_equal(json_string_value(json_object_get(o, "msg")), "container abc exited 137");
		json_decref(o);
		free(out);
	}
	/* a level below the one set writes nothing */
	log_set_level(LOG_INFO);
	char *out;
	CAPTURE(out, log_debug("not shown"));
	log_set_level(LOG_DEBUG);
	assert_string_equal(out, "");
	free(out);
}

/* The message as logged (msg) and as decoded from the JSON line (want). */
static void expect_msg(const char *msg, const char *want)
{
	char *out;
	CAPTURE(out, log_info("%s", msg));
	json_t *o = parse_line(out);
	const char *got = json_string_value(json_object_get(o, "msg"));
	if (strcmp(got, want))
		print_error("logged %s\n", out);
	assert_string_equal(got, want);
	json_decref(o);
	free(out);
}

#define FFFD "\xef\xbf\xbd"

static void test_json_escaping(void **state)
{
	(void)state;
	log_set_format(LOG_JSON);
	expect_msg("", "");
	expect_msg("say \"hi\" \\ back\\slash /", "say \"hi\" \\ back\\slash /");
	expect_msg("two\nlines\r\n\tand\ba\ftab", "two\nlines\r\n\tand\ba\ftab");
	expect_msg("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* every ASCII byte but NUL round-trips (control characters escaped as \uXXXX) */
	char ascii[128];
	for (int i = 1; i < 128; i++)
		ascii[i - 1] = (char)i;
	ascii[127] = '\0';
	expect_msg(ascii, ascii);
	/* every byte that cannot start a sequence, alone */
	for (int b = 0x80; b < 0x100; b++) {
		char one[4] = { 'x', (char)b, 'y', 0 };
		expect_msg(one, "x" FFFD "y");
	}
	expect_msg("\xc0\xaf", FFFD FFFD);                   /* overlong '/' */
	expect_msg("\xed\xa0\x80!", FFFD FFFD FFFD "!");     /* a surrogate */
	expect_msg("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* above U+10FFFF */
	expect_msg("end \xe2\x82", "end " FFFD FFFD);        /* cut short */
	expect_msg("\xe2\x82\xac\xe2(", "\xe2\x82\xac" FFFD "(");
}

/* A message too long for a line is cut, and the line is still one valid JSON object. */
static void test_json_long(void **state)
{
	(void)state;
	log_set_format(LOG_JSON);
	static const char *const units[] = { "\"", "\x01", "a", "\xe2\x82\xac", "\xff" };
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		size_t ul = strlen(units[u]), reps = 20000 / ul;
		char *msg = malloc(reps * ul + 1);
		assert_non_null(msg);
		for (size_t i = 0; i < reps; i++)
			memcpy(msg + i * ul, units[u], ul);
		msg[reps * ul] = '\0';
		char *out;
		CAPTURE(out, log_info("%s", msg));
		json_t *o = parse_line(out);
		const char *got = json_string_value(json_object_get(o, "msg"));
		size_t gl = strlen(got);
		assert_true(gl >= 1000); /* cut, but not to nothing */
		assert_true(gl < 20000);
		if (units[u][0] != '\xff' && ul == 1)
			assert_memory_equal(got, msg, gl); /* a prefix of the message */
		json_decref(o);
		free(out);
		free(msg);
	}
}

/* The text format is as it was: "<time> LEVEL <message>", newlines made spaces. */
static void test_text(void **state)
{
	(void)state;
	log_set_format(LOG_TEXT);
	char *out;
	CAPTURE(out, log_warn("one\ntwo \"%s\"", "q"));
	regex_t re;
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z WARN  one two \"q\"\n$",
				 REG_EXTENDED | REG_NOSUB), 0);
	int rc = regexec(&re, out, 0, NULL, 0);
	regfree(&re);
	if (rc)
		print_error("logged %s", out);
	assert_int_equal(rc, 0);
	free(out);
}

static void test_format_names(void **state)
{
	(void)state;
	assert_int_equal(log_format_parse("text"), LOG_TEXT);
	assert_int_equal(log_format_parse("json"), LOG_JSON);
	assert_int_equal(log_format_parse("Json"), -1);
	assert_int_equal(log_format_parse(""), -1);
	assert_string_equal(log_format_name(LOG_JSON), "json");
	assert_string_equal(log_format_name(LOG_TEXT), "text");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_json_long),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_format_names),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
