// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A Unix-socket server shaped like PostgreSQL, for the untraced-peer test
 * (run_untraced_peer.sh):
 *
 *   unix_peer serve PATH    listens on PATH, prints "ready", accepts one
 *                           connection and forks a handler for it (as the
 *                           postmaster forks a backend). For each message
 *                           from the client the handler asks the server
 *                           over a socketpair the server made (a traced
 *                           peer: recorded) and echoes the answer to the
 *                           client (an untraced peer once the server is
 *                           attached: counted, not recorded). Exits when
 *                           the client hangs up.
 *   unix_peer client PATH N connects, sends N messages, reads each echo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int addr_of(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

/* The handler: client messages answered with the server's word. */
static int handle(int client, int server)
{
	char buf[64], word[64];
	ssize_t n, m;

	while ((n = recv(client, buf, sizeof(buf), 0)) > 0) {
		if (send(server, buf, n, 0) != n)
			return 1;
		m = recv(server, word, sizeof(word), 0);
		if (m <= 0 || send(client, word, m, 0) != m)
			return 1;
	}
	return n < 0;
}

static int serve(const char *path)
{
	struct sockaddr_un sa;
	int lfd, cfd, pair[2], status = 0;
	char buf[64];
	ssize_t n;
	pid_t h;

	if (addr_of(path, &sa) || socketpair(AF_UNIX, SOCK_STREAM, 0, pair))
		return 1;
	unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return 1;
	printf("ready\n");
	fflush(stdout);
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0)
		return 1;
	h = fork();
	if (h < 0)
		return 1;
	if (h == 0) {
		close(pair[0]);
		close(lfd);
		_exit(handle(cfd, pair[1]));
	}
	close(cfd);
	close(pair[1]);
	while ((n = recv(pair[0], buf, sizeof(buf), 0)) > 0) {
		buf[0] ^= 0x20;
		if (send(pair[0], buf, n, 0) != n)
			return 1;
	}
	unlink(path);
	if (waitpid(h, &status, 0) != h || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}

static int client(const char *path, int rounds)
{
	struct sockaddr_un sa;
	char buf[64];
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || addr_of(path, &sa) || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 1;
	for (int i = 0; i < rounds; i++) {
		if (send(fd, "hello", 5, 0) != 5 || recv(fd, buf, sizeof(buf), 0) != 5)
			return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: %s serve PATH | client PATH N\n", argv[0]);
	return 2;
}
