// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Closing link descriptors in the background (tracer/link_closer.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "link_closer.h"

/* closes of one batch that wait at once (each waits for its grace periods) */
#define CLOSE_WORKERS 64

struct link_closer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int *queue;		/* under lock */
	size_t nr, cap;
	bool stopping;		/* under lock: close what is queued, then end */
	size_t closed;		/* under lock */
	double busy_ms;		/* under lock: time spent closing */
};

struct close_batch {
	const int *fds;
	size_t nr;
	size_t next;		/* under lock */
	pthread_mutex_t lock;
};

static void *close_worker(void *arg)
{
	struct close_batch *b = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		i = b->next++;
		pthread_mutex_unlock(&b->lock);
		if (i >= b->nr)
			return NULL;
		close(b->fds[i]);
	}
}

/* Closes fds[0..nr) on up to CLOSE_WORKERS threads at once. */
static void close_all(const int *fds, size_t nr)
{
	struct close_batch b = { .fds = fds, .nr = nr };
	pthread_t workers[CLOSE_WORKERS];
	size_t n = 0, i;

	pthread_mutex_init(&b.lock, NULL);
	for (i = 0; i < CLOSE_WORKERS && i < nr; i++)
		if (!pthread_create(&workers[n], NULL, close_worker, &b))
			n++;
	if (!n)
		close_worker(&b);
	for (i = 0; i < n; i++)
		pthread_join(workers[i], NULL);
	pthread_mutex_destroy(&b.lock);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *closer_main(void *arg)
{
	struct link_closer *c = arg;
	double t0;
	int *batch;
	size_t nr;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->nr && !c->stopping)
			pthread_cond_wait(&c->wake, &c->lock);
		if (!c->nr)
			break;
		batch = c->queue;
		nr = c->nr;
		c->queue = NULL;
		c->nr = c->cap = 0;
		pthread_mutex_unlock(&c->lock);
		t0 = now_ms();
		close_all(batch, nr);
		free(batch);
		pthread_mutex_lock(&c->lock);
		c->busy_ms += now_ms() - t0;
		c->closed += nr;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct link_closer *link_closer__new(void)
{
	struct link_closer *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	err = pthread_create(&c->thread, NULL, closer_main, c);
	if (err) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->lock);
		free(c);
		errno = err;
		return NULL;
	}
	return c;
}

void link_closer__close(struct link_closer *c, int fd)
{
	int *grown;

	if (!c) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (c->nr == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;

		grown = realloc(c->queue, cap * sizeof(*grown));
		if (!grown) {
			c->closed++;
			pthread_mutex_unlock(&c->lock);
			close(fd);	/* no room: waited for here, once */
			return;
		}
		c->queue = grown;
		c->cap = cap;
	}
	c->queue[c->nr++] = fd;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
}

size_t link_closer__closed(struct link_closer *c)
{
	size_t n;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	n = c->closed;
	pthread_mutex_unlock(&c->lock);
	return n;
}

double link_closer__busy_ms(struct link_closer *c)
{
	double ms;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	ms = c->busy_ms;
	pthread_mutex_unlock(&c->lock);
	return ms;
}

void link_closer__free(struct link_closer *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	free(c->queue);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
