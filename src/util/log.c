/* log.c — see log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/utf8.h"

static atomic_int current_level = LOG_INFO;
static atomic_int current_format = LOG_TEXT;

static const char *const names[] = { "ERROR", "WARN", "INFO", "DEBUG" };
static const char *const json_names[] = { "error", "warn", "info", "debug" };

int log_level_parse(const char *s)
{
	if (!strcasecmp(s, "error"))
		return LOG_ERROR;
	if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
		return LOG_WARN;
	if (!strcasecmp(s, "info"))
		return LOG_INFO;
	if (!strcasecmp(s, "debug") || !strcasecmp(s, "trace"))
		return LOG_DEBUG;
	return -1;
}

const char *log_level_name(enum log_level l)
{
	return (l >= LOG_ERROR && l <= LOG_DEBUG) ? names[l] : "?";
}

int log_format_parse(const char *s)
{
	if (!strcmp(s, "text"))
		return LOG_TEXT;
	if (!strcmp(s, "json"))
		return LOG_JSON;
	return -1;
}

const char *log_format_name(enum log_format f) { return f == LOG_JSON ? "json" : "text"; }

void log_set_level(enum log_level l) { atomic_store(&current_level, l); }

int log_enabled(enum log_level l) { return (int)l <= atomic_load(&current_level); }

void log_set_format(enum log_format f) { atomic_store(&current_format, f); }

/* The length of the well-formed UTF-8 sequence at s (n bytes left, n > 0), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2 : (*s & 0xF0) == 0xE0 ? 3 : (*s & 0xF8) == 0xF0 ? 4 : 0;
	return len && len <= n && utf8_valid((const char *)s, len) ? len : 0;
}

/*
 * msg (n bytes) as the contents of a JSON string into out[0..cap), its length returned: '"', '\\'
 * and control characters escaped, a byte that starts no well-formed UTF-8 sequence replaced by
 * \ufffd.  Stops before a character that would not fit (the message is cut, the JSON stays valid).
 */
static size_t json_escape(char *out, size_t cap, const char *msg, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)msg, *end = p + n;
	size_t o = 0;
	while (p < end) {
		char esc[8];
		const char *src = esc;
		size_t len, in;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\', esc[1] = (char)*p, len = 2, in = 1;
		} else if (*p < 0x20) {
			static const char short_esc[] = { ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r' };
			if (*p < sizeof short_esc && short_esc[*p])
				esc[0] = '\\', esc[1] = short_esc[*p], len = 2;
			else
				memcpy(esc, "\\u00", 4), esc[4] = hex[*p >> 4], esc[5] = hex[*p & 15], len = 6;
			in = 1;
		} else if ((in = utf8_seq(p, (size_t)(end - p))) > 0) {
			src = (const char *)p, len = in;
		} else {
			src = "\\ufffd", len = 6, in = 1;
		}
		if (len > cap - o)
			break;
		memcpy(out + o, src, len);
		o += len;
		p += in;
	}
	return o;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	if (!log_enabled(l))
		return;
	char msg[4096], line[8192], stamp[64];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t s = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + s, sizeof stamp - s, ".%06ldZ", ts.tv_nsec / 1000);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	size_t mlen = m < 0 ? 0 : (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1; /* cut if longer */
	size_t n;
	if (atomic_load(&current_format) == LOG_JSON) {
		const char *lvl = (l >= LOG_ERROR && l <= LOG_DEBUG) ? json_names[l] : "?";
		n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", stamp, lvl);
		n += json_escape(line + n, sizeof line - n - 3, msg, mlen);
		memcpy(line + n, "\"}\n", 3);
		n += 3;
	} else {
		n = (size_t)snprintf(line, sizeof line, "%s %-5s ", stamp, log_level_name(l));
		memcpy(line + n, msg, mlen);
		/* One event, one line: never let a message's own newlines split it. */
		for (size_t i = n; i < n + mlen; i++)
			if (line[i] == '\n')
				line[i] = ' ';
		n += mlen;
		line[n++] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}
