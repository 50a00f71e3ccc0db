/* The fold of DESIGN §6: events of one relationship, in order of (date
 * start, seq), into its status. A fold is also a transform: starting from
 * the identity (fold_init), folding a run of events records only what that
 * run changes, and fold_compose(a, b) gives the fold of a's events followed
 * by b's. Projections store folds of date buckets and compose them, so a
 * status reads a bounded number of records (index.c); `annals check` and
 * the reference fold in the tests use the same code. */
#ifndef LEDGER_FOLD_H
#define LEDGER_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "annals.pb-c.h"
#include "limits.h"

/* One event as the fold sees it. */
typedef struct fold_event {
	Annals__EventType type;
	uint64_t seq;
	uint32_t first_day, last_day;
	const char *edtf;          /* date as written */
	const char *list;          /* listed, delisted */
	size_t list_bytes;
	const char *authority;     /* may be NULL */
	size_t authority_bytes;
} fold_event;

typedef struct fold_ref {
	uint64_t seq;
	uint32_t day;              /* first day of the date */
	char edtf[LEDGER_EDTF_BYTES_MAX];
} fold_ref;

enum fold_axis {                /* the four two-state axes of a status */
	FOLD_RECOGNITION, FOLD_RELATIONS, FOLD_MISSION, FOLD_SANCTIONS,
	FOLD_AXES
};

enum fold_state { FOLD_UNSET = 0, FOLD_ON = 1, FOLD_OFF = 2 };

/* An axis as a transform: the state its events end in, since the event
 * that set it, and whether every event of the run had that same state (then
 * a run that starts in that state keeps its earlier since). */
typedef struct fold_flag {
	uint8_t state;             /* enum fold_state */
	bool same;                 /* every event of the run had `state` */
	fold_ref since;
} fold_flag;

/* A list as a transform: ADD_ONLY (only listings: keeps an earlier
 * listing, else lists from `since`) or RESET (a delisting happened; listed
 * tells whether a listing followed the last one). */
enum fold_list_kind { FOLD_LIST_ADD_ONLY = 1, FOLD_LIST_RESET = 2 };

typedef struct fold_list {
	char name[LEDGER_SLUG_BYTES_MAX + 1];
	uint8_t kind;
	bool listed;
	fold_ref since;
	char authority[LEDGER_AUTHORITY_BYTES_MAX + 1];
} fold_list;

typedef struct fold {
	fold_flag axes[FOLD_AXES];
	uint64_t meetings;
	fold_ref last_meeting;     /* seq 0: none */
	fold_ref last_change;      /* seq 0: none */
	uint8_t last_change_type;
	uint32_t max_last_day;     /* latest end of a folded status-changing event */
	uint32_t max_first_day;    /* latest start of a folded event */
	size_t lists_count, lists_cap;
	fold_list *lists;          /* sorted by name; owned */
} fold;

/* The identity: folds nothing. */
void fold_init(fold *f);
void fold_free(fold *f);

/* Forget everything folded, keep the list storage. */
void fold_reset(fold *f);

/* True for the types a fold takes in (listed .. meeting). */
bool fold_takes(Annals__EventType t);

/* Fold one more event; returns false when out of memory. Events must come
 * in (first_day, seq) order. Types fold_takes refuses are ignored. */
bool fold_apply(fold *f, const fold_event *e);

/* a := a followed by b. Returns false when out of memory. */
bool fold_compose(fold *a, const fold *b);

/* Serialize into buf (cap bytes); returns the length, or 0 when it does not
 * fit. fold_encoded_bytes gives the exact size. */
size_t fold_encoded_bytes(const fold *f);
size_t fold_encode(uint8_t *buf, size_t cap, const fold *f);

/* Replace f with the decoded bytes; false when they are malformed or out of
 * memory. */
bool fold_decode(fold *f, const uint8_t *buf, size_t n);

/* The list's state once everything before the fold is known to be empty:
 * an ADD_ONLY or a RESET-and-listed list is on. */
bool fold_list_on(const fold_list *l);

#endif
