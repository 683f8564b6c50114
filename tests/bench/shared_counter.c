// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload: a parent and a forked child each increment one shared
 * counter N times under a process-shared mutex. The counter lives in the
 * POSIX shm object /dev/shm/NAME at offset COUNTER_OFFSET, so a run under
 * `ipcrace --watch /dev/shm/NAME+0x40:8` can name it. Prints
 * "ns_per_increment=<float>" (wall time from fork to the child reaped,
 * divided by the 2N increments), "cpu_ns_per_increment=<float>" (the CPU
 * time of both processes over the same span, divided alike) and
 * "counter=<value>".
 * Usage: shared_counter [increments] [shm-name] [gate]  (default 100000, a
 * name with the pid; an empty name is the default). With GATE, a FIFO's
 * path, it first waits for a line written to it, so that a tracer can be
 * attached before the increments start (run_lock_bench.sh's sampled row).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define COUNTER_OFFSET 0x40	/* keep in sync with run_race_bench.sh */

struct shared {
	pthread_mutex_t lock;
	char pad[COUNTER_OFFSET - sizeof(pthread_mutex_t)];
	long counter;		/* guarded by lock */
};

_Static_assert(offsetof(struct shared, counter) == COUNTER_OFFSET, "counter offset");

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this process and of its reaped children, in seconds. */
static double cpu_time(void)
{
	struct rusage self, children;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	return self.ru_utime.tv_sec + self.ru_stime.tv_sec + children.ru_utime.tv_sec +
	       children.ru_stime.tv_sec + (self.ru_utime.tv_usec + self.ru_stime.tv_usec +
	       children.ru_utime.tv_usec + children.ru_stime.tv_usec) / 1e6;
}

/* Waits until someone writes to (or closes) the FIFO PATH; 0 or -1 (reported). */
static int wait_gate(const char *path)
{
	char c;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		perror("shared_counter: gate");
		return -1;
	}
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	close(fd);
	return n < 0 ? -1 : 0;
}

static void increment(struct shared *s, long n)
{
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&s->lock);
		s->counter++;
		pthread_mutex_unlock(&s->lock);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	pthread_mutexattr_t attr;
	char name[128];
	struct shared *s;
	double start, elapsed, cpu_start, cpu;
	int fd, status, ret = 1;
	pid_t child;

	if (n <= 0) {
		fprintf(stderr, "shared_counter: increments must be positive\n");
		return 2;
	}
	if (argc > 2 && argv[2][0])
		snprintf(name, sizeof(name), "/%s", argv[2]);
	else
		snprintf(name, sizeof(name), "/ipcrace-bench-counter-%d", (int)getpid());
	shm_unlink(name);
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(*s))) {
		perror("shared_counter: shm");
		goto out_unlink;
	}
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		perror("shared_counter: mmap");
		goto out_fd;
	}
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->lock, &attr);
	pthread_mutexattr_destroy(&attr);

	if (argc > 3 && wait_gate(argv[3]))
		goto out_unmap;
	start = now();
	cpu_start = cpu_time();
	child = fork();
	if (child < 0) {
		perror("shared_counter: fork");
		goto out_unmap;
	}
	if (child == 0) {
		increment(s, n);
		_exit(0);
	}
	increment(s, n);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "shared_counter: child failed\n");
		goto out_unmap;
	}
	elapsed = now() - start;
	cpu = cpu_time() - cpu_start;
	printf("ns_per_increment=%.1f\n", elapsed * 1e9 / (2.0 * n));
	printf("cpu_ns_per_increment=%.1f\n", cpu * 1e9 / (2.0 * n));
	printf("counter=%ld\n", s->counter);
	ret = s->counter == 2 * n ? 0 : 1;
out_unmap:
	pthread_mutex_destroy(&s->lock);
	munmap(s, sizeof(*s));
out_fd:
	if (fd >= 0)
		close(fd);
out_unlink:
	shm_unlink(name);
	return ret;
}
