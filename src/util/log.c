/* log.c — see log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int current_level = LOG_INFO;

static const char *const names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

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

void log_set_level(enum log_level l) { atomic_store(&current_level, l); }

int log_enabled(enum log_level l) { return (int)l <= atomic_load(&current_level); }

void log_msg(enum log_level l, const char *fmt, ...)
{
	if (!log_enabled(l))
		return;
	char line[4096];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof line - n, ".%06ldZ %-5s ", ts.tv_nsec / 1000, log_level_name(l));
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m;
	if (n > sizeof line - 2)
		n = sizeof line - 2; /* truncated: keep it one line */
	/* One event, one line: never let a message's own newlines split it. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}
