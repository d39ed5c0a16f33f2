/*
 * fuzz_config.c — the configuration file (config_load in src/util/config.c: libinih, then every
 * key's validation in config_set and config_registry_set).
 *
 * Each input is written as the config file (no drop-in directory) and loaded over the defaults.
 * Invariants: a load that fails names the file; one that succeeds leaves every path and URL
 * NUL-terminated inside its field and a registry lookup works; nothing leaks (config_free).
 */
#include "fuzz.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "util/config.h"
#include "util/log.h"

static char base[TMPDIR_DIR_SIZE], file[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	fuzz_tmpdir(base, sizeof base, "config");
	snprintf(file, sizeof file, "%s/litecri.conf", base);
	return 0;
}

#define TERMINATED(field) FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
	struct lc_config c;
	config_defaults(&c);
	struct lc_err err = { 0 };
	if (config_load(&c, file, 1, &err) < 0) {
		FUZZ_CHECK(strstr(err.msg, file) != NULL);
	} else {
		TERMINATED(c.listen);
		TERMINATED(c.socket_path);
		TERMINATED(c.db);
		TERMINATED(c.root);
		TERMINATED(c.state);
		TERMINATED(c.runtime);
		TERMINATED(c.conmon);
		TERMINATED(c.pause);
		for (size_t i = 0; i < c.n_registries; i++) {
			const struct lc_registry *r = &c.registries[i];
			TERMINATED(r->host);
			TERMINATED(r->ca);
			for (size_t k = 0; k < r->n_mirrors; k++) {
				TERMINATED(r->mirrors[k].url);
				TERMINATED(r->mirrors[k].ca);
			}
			FUZZ_CHECK(config_registry_for(&c, r->host) == r);
		}
		config_registry_for(&c, "docker.io");
	}
	config_free(&c);
	return 0;
}
