/* The relay (ledger/relay.h): batches come back processed, in the order
 * they were submitted, on a second thread and without one. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "relay.h"

void suite_relay(void);

#define BATCHES 1000u

typedef struct counting {
	uint64_t next;                 /* the worker's count of batches */
	uint64_t value[RELAY_SLOTS];   /* what the worker wrote in each slot */
	uint64_t given[RELAY_SLOTS];   /* what the caller wrote before submitting */
	bool mismatch;                 /* the worker saw a slot out of turn */
} counting;

static void count_work(void *ctx, size_t slot)
{
	counting *c = ctx;

	if (slot != c->next % RELAY_SLOTS || c->given[slot] != c->next)
		c->mismatch = true;
	c->value[slot] = c->next * 3 + 1;
	c->next++;
}

static void run_in_order(bool threaded)
{
	counting c = { 0 };
	relay *r = relay_start(count_work, &c, threaded);
	uint64_t sent = 0, got = 0;

	CU_ASSERT_FATAL(r != NULL);
	while (got < BATCHES) {
		/* Keep the ring full, then take one back. */
		while (sent < BATCHES && relay_pending(r) < RELAY_SLOTS) {
			c.given[sent % RELAY_SLOTS] = sent;
			sent++;
			relay_submit(r);
		}
		size_t slot = relay_take(r);
		CU_ASSERT_EQUAL(slot, got % RELAY_SLOTS);
		CU_ASSERT_EQUAL(c.value[slot], got * 3 + 1);
		got++;
	}
	CU_ASSERT_EQUAL(relay_pending(r), 0);
	relay_stop(r);
	CU_ASSERT_FALSE(c.mismatch);
	CU_ASSERT_EQUAL(c.next, BATCHES);
}

static void test_threaded(void)
{
	run_in_order(true);
}

static void test_serial(void)
{
	run_in_order(false);
}

/* Stopping with batches submitted and not taken neither hangs nor runs
 * work after relay_stop returns. */
static void test_stop_pending(void)
{
	for (int threaded = 0; threaded < 2; threaded++) {
		counting c = { 0 };
		relay *r = relay_start(count_work, &c, threaded);
		CU_ASSERT_FATAL(r != NULL);
		for (uint64_t i = 0; i < RELAY_SLOTS; i++) {
			c.given[i] = i;
			relay_submit(r);
		}
		CU_ASSERT_EQUAL(relay_take(r), 0);
		CU_ASSERT_EQUAL(c.value[0], 1);
		relay_stop(r);
		uint64_t after = c.next;
		CU_ASSERT(after >= 1 && after <= RELAY_SLOTS);
		CU_ASSERT_FALSE(c.mismatch);
	}
	relay_stop(NULL);
}

void suite_relay(void)
{
	CU_pSuite s = CU_add_suite("relay", NULL, NULL);

	CU_add_test(s, "batches return in order on a thread", test_threaded);
	CU_add_test(s, "batches return in order without a thread", test_serial);
	CU_add_test(s, "stop with batches pending", test_stop_pending);
}
