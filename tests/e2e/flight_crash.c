// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * For the flight recorder's end-to-end test: a long story whose end is a
 * lock-order inversion and a crash. The main thread takes G first and
 * holds it through NOISE lock/unlock pairs of another mutex (far more
 * than a small flight ring keeps), then two threads take A and B in
 * opposite orders (one after the other: no deadlock), then G is released
 * (its acquisition is long overwritten: not an unlock-not-held) and the
 * process dies of SIGSEGV.
 * Usage: flight_crash [NOISE]   (default 20000)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t noise = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void *a_then_b(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&a);
	pthread_mutex_lock(&b);
	pthread_mutex_unlock(&b);
	pthread_mutex_unlock(&a);
	return NULL;
}

__attribute__((noinline)) static void *b_then_a(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&b);
	pthread_mutex_lock(&a);
	pthread_mutex_unlock(&a);
	pthread_mutex_unlock(&b);
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	pthread_t t;

	pthread_mutex_lock(&g);
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&noise);
		pthread_mutex_unlock(&noise);
	}
	pthread_create(&t, NULL, a_then_b, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, b_then_a, NULL);
	pthread_join(t, NULL);
	pthread_mutex_unlock(&g);
	fflush(stdout);
	raise(SIGSEGV);
	return 0;
}
