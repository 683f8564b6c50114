// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A pre-forking "service" for attach mode (tests/e2e/run_attach.sh): the
 * master maps anonymous shared memory, forks two workers, and only then
 * prints "ready WORKER1 WORKER2", so both workers exist before ipcrace can
 * attach to the master. Each worker counts its requests into one shared
 * counter every 200 us until the seconds given as argument 1 (default 4)
 * have passed. With "race" as argument 2 the workers update the counter with
 * no lock (lost updates: a data race between the two workers); with
 * "locked" they take a process-shared mutex in the same mapping around it
 * (clean). The master only waits for its workers, then prints "done" with
 * the count and exits 0.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 2
#define PAUSE_NS (200 * 1000)

struct shared_stats {
	pthread_mutex_t lock;
	char pad[64];
	long requests;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void count_request(struct shared_stats *stats, bool locked)
{
	if (locked)
		pthread_mutex_lock(&stats->lock);
	stats->requests++;
	if (locked)
		pthread_mutex_unlock(&stats->lock);
}

static __attribute__((noinline)) int worker_serve(struct shared_stats *stats, bool locked,
						  double seconds)
{
	struct timespec pause = { .tv_nsec = PAUSE_NS };
	double end = now() + seconds;

	while (now() < end) {
		count_request(stats, locked);
		nanosleep(&pause, NULL);
	}
	return 0;
}

static int stats__init(struct shared_stats *stats)
{
	pthread_mutexattr_t attr;
	int err;

	err = pthread_mutexattr_init(&attr);
	if (err)
		return -err;
	err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (!err)
		err = pthread_mutex_init(&stats->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return -err;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 4;
	bool locked = argc > 2 && !strcmp(argv[2], "locked");
	pid_t workers[WORKERS];
	struct shared_stats *stats;
	int i, n = 0, status, failed = 0;

	if (argc > 2 && !locked && strcmp(argv[2], "race")) {
		fprintf(stderr, "usage: %s [SECONDS] [race|locked]\n", argv[0]);
		return 2;
	}
	stats = mmap(NULL, sizeof(*stats), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stats == MAP_FAILED) {
		fprintf(stderr, "service_workers: mmap: %s\n", strerror(errno));
		return 1;
	}
	if (stats__init(stats)) {
		fprintf(stderr, "service_workers: pthread_mutex_init failed\n");
		return 1;
	}
	for (; n < WORKERS; n++) {
		workers[n] = fork();
		if (workers[n] < 0) {
			fprintf(stderr, "service_workers: fork: %s\n", strerror(errno));
			failed = 1;
			break;
		}
		if (workers[n] == 0)
			_exit(worker_serve(stats, locked, seconds));
	}
	if (!failed) {
		printf("ready %d %d\n", (int)workers[0], (int)workers[1]);
		fflush(stdout);
	}
	for (i = 0; i < n; i++) {
		if (failed)
			kill(workers[i], SIGTERM);
		if (waitpid(workers[i], &status, 0) != workers[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	}
	if (failed)
		return 1;
	printf("done %ld\n", stats->requests);
	return 0;
}
