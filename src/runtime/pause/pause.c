/*
 * pause.c — litecri-pause, the infra ("pause") container's process: it holds a pod's namespaces
 * and, as PID 1 of a shared PID namespace, reaps the orphans reparented to it.
 *
 * SIGINT/SIGTERM: exit 0.  SIGCHLD: reap every exited child.  Otherwise it sleeps forever.
 * Linked statically: it runs in a root filesystem that holds nothing else.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_child(int sig)
{
	(void)sig;
	int saved = errno;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("litecri-pause %s\n", LITECRI_VERSION);
		return 0;
	}
	/* PID 1 of a namespace only gets the signals it handles. */
	struct sigaction stop = { .sa_handler = on_stop };
	struct sigaction child = { .sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART };
	sigemptyset(&stop.sa_mask);
	sigemptyset(&child.sa_mask);
	if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 ||
	    sigaction(SIGCHLD, &child, NULL) < 0) {
		perror("litecri-pause: sigaction");
		return 1;
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	on_child(SIGCHLD); /* orphans that exited before the handler was in place */
	for (;;)
		pause();
}
