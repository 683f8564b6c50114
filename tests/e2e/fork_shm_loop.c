// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A target that makes ipcrace stop it often (tests/e2e/run_kill_sweep.sh):
 * for SECONDS it forks children that bump a counter in shared memory it
 * mapped (a stop at each fork while a slot watches the word), map shared
 * memory of their own (a stop at each shared mmap) and, one in four, exec
 * this program again to do so (a stop after exec). It writes its pid to
 * PIDFILE when it starts and "done N" to DONEFILE when it finishes: a
 * process left stopped would keep its parent waiting, and DONEFILE would
 * never be written.
 * Usage: fork_shm_loop SECONDS PIDFILE DONEFILE | fork_shm_loop --child
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void touch_own_mapping(void)
{
	volatile long *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				-1, 0);

	if (p == MAP_FAILED)
		_exit(3);
	p[0]++;
	p[1] = p[0];
	munmap((void *)p, 4096);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

int main(int argc, char **argv)
{
	volatile long *counter;
	double end;
	long rounds = 0;
	char buf[64];
	int status;

	if (argc == 2 && !strcmp(argv[1], "--child")) {
		touch_own_mapping();
		return 0;
	}
	if (argc != 4)
		return 2;
	snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (write_file(argv[2], buf))
		return 1;
	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counter == MAP_FAILED)
		return 1;
	end = now() + atof(argv[1]);
	while (now() < end) {
		pid_t child = fork();

		if (child < 0)
			return 1;
		if (child == 0) {
			counter[0]++;
			touch_own_mapping();
			if (rounds % 4 == 0) {
				execl("/proc/self/exe", argv[0], "--child", (char *)NULL);
				_exit(4);
			}
			_exit(0);
		}
		while (waitpid(child, &status, 0) < 0)
			if (errno != EINTR)
				return 1;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			return 1;
		rounds++;
		usleep(2000);
	}
	snprintf(buf, sizeof(buf), "done %ld\n", rounds);
	return write_file(argv[3], buf) ? 1 : 0;
}
