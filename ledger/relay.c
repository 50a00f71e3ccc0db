/* A worker thread over a ring of batches (relay.h). */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

#include "relay.h"

struct relay {
	relay_work_fn work;
	void *ctx;
	bool threaded;                /* the thread is running */
	bool stop;                    /* no more batches will come */
	pthread_t t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t submitted, done, taken;
};

static void *relay_run(void *arg)
{
	relay *r = arg;

	for (uint64_t k = 0;; k++) {
		pthread_mutex_lock(&r->mu);
		while (!r->stop && r->submitted <= k)
			pthread_cond_wait(&r->cv, &r->mu);
		bool quit = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (quit)
			return NULL;
		r->work(r->ctx, k % RELAY_SLOTS);
		pthread_mutex_lock(&r->mu);
		r->done = k + 1;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
}

relay *relay_start(relay_work_fn work, void *ctx, bool threaded)
{
	relay *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->work = work;
	r->ctx = ctx;
	if (!threaded)
		return r;
	if (pthread_mutex_init(&r->mu, NULL) != 0) {
		free(r);
		return NULL;
	}
	if (pthread_cond_init(&r->cv, NULL) != 0) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		return NULL;
	}
	r->threaded = pthread_create(&r->t, NULL, relay_run, r) == 0;
	if (!r->threaded) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
	}
	return r;
}

void relay_submit(relay *r)
{
	assert(r->submitted - r->taken < RELAY_SLOTS);
	if (!r->threaded) {
		r->submitted++;
		return;
	}
	pthread_mutex_lock(&r->mu);
	r->submitted++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

size_t relay_take(relay *r)
{
	size_t slot = r->taken % RELAY_SLOTS;

	if (!r->threaded) {
		r->work(r->ctx, slot);
		r->done = ++r->taken;
		return slot;
	}
	pthread_mutex_lock(&r->mu);
	while (r->done <= r->taken)
		pthread_cond_wait(&r->cv, &r->mu);
	r->taken++;
	pthread_mutex_unlock(&r->mu);
	return slot;
}

bool relay_ahead(relay *r)
{
	if (!r->threaded)
		return false;
	pthread_mutex_lock(&r->mu);
	bool ahead = r->done > r->taken;
	pthread_mutex_unlock(&r->mu);
	return ahead;
}

size_t relay_pending(const relay *r)
{
	return (size_t)(r->submitted - r->taken);
}

void relay_stop(relay *r)
{
	if (!r)
		return;
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->t, NULL);
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
	}
	free(r);
}
