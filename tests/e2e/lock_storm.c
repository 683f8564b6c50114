// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A lock-heavy "service" for lock sampling (tests/e2e/run_lock_sampling.sh):
 * 3 threads take one mutex around a shared counter as fast as they can
 * (a clean pattern: no finding), for the seconds given as argument 1
 * (default 4); "ready" on stdout once started. With "abba" as argument 2,
 * one more thread takes two other mutexes in one order, then in the
 * other, every 5 ms (a lock-order inversion in every window, which one
 * thread cannot deadlock on). Prints the lock pairs done.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t accounts = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;
static long counter, balance;
static atomic_bool stop;

static __attribute__((noinline)) void bump(void)
{
	pthread_mutex_lock(&counter_lock);
	counter++;
	pthread_mutex_unlock(&counter_lock);
}

static void *storm(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		bump();
	return NULL;
}

static __attribute__((noinline)) void post_transfer(void)
{
	pthread_mutex_lock(&accounts);
	pthread_mutex_lock(&journal);
	balance++;
	pthread_mutex_unlock(&journal);
	pthread_mutex_unlock(&accounts);
}

static __attribute__((noinline)) void audit_journal(void)
{
	pthread_mutex_lock(&journal);
	pthread_mutex_lock(&accounts);
	balance--;
	pthread_mutex_unlock(&accounts);
	pthread_mutex_unlock(&journal);
}

/* Both orders in one thread: the inversion is there, the deadlock cannot happen. */
static void *abba(void *arg)
{
	struct timespec tick = { 0, 5 * 1000 * 1000 };

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		post_transfer();
		audit_journal();
		nanosleep(&tick, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 4;
	bool inversion = argc > 2 && !strcmp(argv[2], "abba");
	struct timespec run = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
	pthread_t threads[4];
	int n = 0;

	for (; n < 3; n++)
		if (pthread_create(&threads[n], NULL, storm, NULL))
			return 1;
	if (inversion) {
		if (pthread_create(&threads[n++], NULL, abba, NULL))
			return 1;
	}
	printf("ready\n");
	fflush(stdout);
	nanosleep(&run, NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	printf("%ld lock pairs\n", counter);
	return 0;
}
