// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload: N uncontended pthread_mutex_lock/unlock pairs in one
 * thread, timed with CLOCK_MONOTONIC and CLOCK_PROCESS_CPUTIME_ID. Prints
 * "ns_per_pair=<float>" (wall) and "cpu_ns_per_pair=<float>" (the process's
 * CPU time, traps and BPF programs included: they run in its context).
 * Usage: lock_ops [pairs [kind]]   (default 200000 mutex)
 *   kind: mutex (pthread_mutex_lock/unlock), sem (sem_wait/sem_post),
 *   semtry (sem_trywait/sem_post), rwtry (pthread_rwlock_trywrlock/unlock)
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static sem_t sem;
static volatile unsigned long counter;

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 200000;
	const char *kind = argc > 2 ? argv[2] : "mutex";
	double start, cpu_start, elapsed, cpu;
	long i;

	if (sem_init(&sem, 0, 1)) {
		perror("sem_init");
		return 1;
	}
	start = now(CLOCK_MONOTONIC);
	cpu_start = now(CLOCK_PROCESS_CPUTIME_ID);
	if (!strcmp(kind, "mutex")) {
		for (i = 0; i < pairs; i++) {
			pthread_mutex_lock(&lock);
			counter++;
			pthread_mutex_unlock(&lock);
		}
	} else if (!strcmp(kind, "sem")) {
		for (i = 0; i < pairs; i++) {
			sem_wait(&sem);
			counter++;
			sem_post(&sem);
		}
	} else if (!strcmp(kind, "semtry")) {
		for (i = 0; i < pairs; i++) {
			if (sem_trywait(&sem) == 0) {
				counter++;
				sem_post(&sem);
			}
		}
	} else if (!strcmp(kind, "rwtry")) {
		for (i = 0; i < pairs; i++) {
			if (pthread_rwlock_trywrlock(&rwlock) == 0) {
				counter++;
				pthread_rwlock_unlock(&rwlock);
			}
		}
	} else {
		fprintf(stderr, "lock_ops: unknown kind %s (mutex, sem, semtry, rwtry)\n", kind);
		return 2;
	}
	elapsed = now(CLOCK_MONOTONIC) - start;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
	printf("ns_per_pair=%.1f\n", elapsed * 1e9 / pairs);
	printf("cpu_ns_per_pair=%.1f\n", cpu * 1e9 / pairs);
	return 0;
}
