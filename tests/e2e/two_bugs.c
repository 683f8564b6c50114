// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Two lock bugs in one run, for the suppressions test
 * (tests/e2e/run_reports.sh): a double lock in relock_config() and an
 * unlock of a mutex nobody holds in release_unowned(). Both mutexes are
 * error-checking, so neither call hangs or corrupts anything; exit 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t config_lock, queue_lock;

static int errorcheck_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;
	int err;

	err = pthread_mutexattr_init(&attr);
	if (!err)
		err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	if (!err)
		err = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return err;
}

static __attribute__((noinline)) int relock_config(void)
{
	int err;

	pthread_mutex_lock(&config_lock);
	err = pthread_mutex_lock(&config_lock);
	pthread_mutex_unlock(&config_lock);
	return err == EDEADLK ? 0 : -1;
}

static __attribute__((noinline)) int release_unowned(void)
{
	return pthread_mutex_unlock(&queue_lock) == EPERM ? 0 : -1;
}

int main(void)
{
	if (errorcheck_init(&config_lock) || errorcheck_init(&queue_lock)) {
		fprintf(stderr, "two_bugs: mutex init failed\n");
		return 1;
	}
	if (relock_config() || release_unowned()) {
		fprintf(stderr, "two_bugs: the error-checking mutexes did not refuse\n");
		return 1;
	}
	return 0;
}
