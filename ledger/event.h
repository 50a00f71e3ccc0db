/* Event types and the validation and normalization of input events
 * (DESIGN §2–§4) that needs no storage: each input field is checked against
 * its type's rules and limits, and a normalized copy is made for hashing
 * and storing. Lookups that need the ledger (organizations, retraction
 * targets, ids) are the writer's. */
#ifndef LEDGER_EVENT_H
#define LEDGER_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "annals.pb-c.h"
#include "arena.h"
#include "date.h"

#define EVENT_REASON_BYTES 480u

/* Which field of a record is wrong and why. */
typedef struct field_err {
	char field[64];                 /* "date", "sources[1].url" */
	char reason[EVENT_REASON_BYTES];
} field_err;

/* Fill *fe and return false, for `return field_fail(...)`. */
bool field_fail(field_err *fe, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "listed" for ANNALS__EVENT_TYPE__LISTED; NULL for an unknown value. */
const char *event_type_name(Annals__EventType t);

/* The type named by s, or ANNALS__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED. */
Annals__EventType event_type_parse(const char *s);

/* True for types that change a status (every type but statement,
 * agreement_signed, organization, retraction and redaction). */
bool event_type_changes_status(Annals__EventType t);

/* A checked input event: norm is a normalized shallow copy of the input
 * (strings point into the input or the arena), type and date parsed. */
typedef struct event_input {
	Annals__InputEvent norm;
	Annals__EventType type;
	date_span date;                 /* first_day 0 when absent */
	bool has_expect_version;
	uint64_t expect_version;
} event_input;

/* Check every field of in against DESIGN §2–§4 and normalize it into out:
 * the country becomes its stored code, type and date their canonical text.
 * The organization is left as given (slug or name) for the caller to
 * resolve. Returns false with *fe set at the first bad field. */
bool event_check(event_input *out, const Annals__InputEvent *in, arena *a,
                 field_err *fe);

/* Fill the envelope's and body's descriptive fields from a checked input
 * (the caller sets seq, hashes, stream and salt). Pointers share the
 * input's strings; allocations come from a. */
bool event_fill(Annals__Envelope *env, Annals__Body *body,
                const event_input *in, arena *a);

/* The two halves of event_fill: the envelope's fields (false when out of
 * memory), and the body's, which need no allocation and nothing the
 * writer resolves (no organization). */
bool event_fill_envelope(Annals__Envelope *env, const event_input *in, arena *a);
void event_fill_body(Annals__Body *body, const event_input *in);

#endif
