/*
 * log.h — leveled logging to stderr, one line per event.
 *
 * Line formats (log_set_format):
 *   text  2026-11-28T15:32:02.123456Z INFO  <message>
 *   json  {"time":"2026-11-28T15:32:02.123456Z","level":"info","msg":"<message>"}
 * A message's newlines never split its line (text: they become spaces; json: escaped).  In json
 * every byte that is not well-formed UTF-8 becomes U+FFFD, so each line is valid JSON.
 * Messages name the object they concern (container/sandbox IDs, paths, RPC names).
 * Thread-safe: each event is written with a single write(2).
 */
#ifndef LITECRI_UTIL_LOG_H
#define LITECRI_UTIL_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
enum log_format { LOG_TEXT = 0, LOG_JSON = 1 };

/* Parse "error|warn|info|debug" (also "warning", "trace"=debug); return -1 if unknown. */
int log_level_parse(const char *s);
const char *log_level_name(enum log_level l);

/* Parse "text|json"; return -1 if unknown. */
int log_format_parse(const char *s);
const char *log_format_name(enum log_format f);

void log_set_level(enum log_level l);
int log_enabled(enum log_level l);
void log_set_format(enum log_format f);

void log_msg(enum log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
