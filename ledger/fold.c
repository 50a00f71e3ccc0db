/* The status fold and its composition. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "fold.h"

void fold_init(fold *f)
{
	memset(f, 0, sizeof *f);
}

void fold_free(fold *f)
{
	free(f->lists);
	fold_init(f);
}

void fold_reset(fold *f)
{
	fold_list *lists = f->lists;
	size_t cap = f->lists_cap;

	memset(f, 0, sizeof *f);
	f->lists = lists;
	f->lists_cap = cap;
}

bool fold_takes(Annals__EventType t)
{
	return t >= ANNALS__EVENT_TYPE__LISTED && t <= ANNALS__EVENT_TYPE__MEETING;
}

bool fold_list_on(const fold_list *l)
{
	return l->kind == FOLD_LIST_ADD_ONLY || (l->kind == FOLD_LIST_RESET && l->listed);
}

static void ref_set(fold_ref *r, uint64_t seq, uint32_t day, const char *edtf)
{
	r->seq = seq;
	r->day = day;
	memset(r->edtf, 0, sizeof r->edtf);
	if (edtf)
		strncpy(r->edtf, edtf, sizeof r->edtf - 1);
}

/* The list named (name, n), inserted in name order when absent. */
static fold_list *list_get(fold *f, const char *name, size_t n)
{
	size_t i = 0;

	assert(n >= 1 && n <= LEDGER_SLUG_BYTES_MAX);
	while (i < f->lists_count) {
		int c = strncmp(f->lists[i].name, name, n);
		if (c == 0 && f->lists[i].name[n] == '\0')
			return &f->lists[i];
		if (c > 0 || (c == 0 && f->lists[i].name[n] != '\0'))
			break;
		i++;
	}
	if (f->lists_count == f->lists_cap) {
		size_t cap = f->lists_cap ? f->lists_cap * 2 : 4;
		fold_list *p = realloc(f->lists, cap * sizeof *p);
		if (!p)
			return NULL;
		f->lists = p;
		f->lists_cap = cap;
	}
	memmove(&f->lists[i + 1], &f->lists[i], (f->lists_count - i) * sizeof *f->lists);
	f->lists_count++;
	memset(&f->lists[i], 0, sizeof f->lists[i]);
	memcpy(f->lists[i].name, name, n);
	return &f->lists[i];
}

static bool apply_list(fold *f, const fold_event *e)
{
	fold_list *l = list_get(f, e->list, e->list_bytes);

	if (!l)
		return false;
	if (e->type == ANNALS__EVENT_TYPE__DELISTED) {
		/* Nothing of the old listing stays: equal runs, equal bytes. */
		l->kind = FOLD_LIST_RESET;
		l->listed = false;
		memset(&l->since, 0, sizeof l->since);
		memset(l->authority, 0, sizeof l->authority);
		return true;
	}
	/* A listing while already listed keeps the original since: the
	 * organization was on the list all along. */
	if (l->kind == FOLD_LIST_ADD_ONLY || (l->kind == FOLD_LIST_RESET && l->listed))
		return true;
	if (l->kind == 0)
		l->kind = FOLD_LIST_ADD_ONLY;
	l->listed = true;
	ref_set(&l->since, e->seq, e->first_day, e->edtf);
	memset(l->authority, 0, sizeof l->authority);
	if (e->authority && e->authority_bytes)
		memcpy(l->authority, e->authority,
		       e->authority_bytes < LEDGER_AUTHORITY_BYTES_MAX ?
		       e->authority_bytes : LEDGER_AUTHORITY_BYTES_MAX);
	return true;
}

bool fold_apply(fold *f, const fold_event *e)
{
	static const struct { enum fold_axis axis; uint8_t state; } axes[] = {
		[ANNALS__EVENT_TYPE__RECOGNIZED] = { FOLD_RECOGNITION, FOLD_ON },
		[ANNALS__EVENT_TYPE__RECOGNITION_WITHDRAWN] = { FOLD_RECOGNITION, FOLD_OFF },
		[ANNALS__EVENT_TYPE__RELATIONS_ESTABLISHED] = { FOLD_RELATIONS, FOLD_ON },
		[ANNALS__EVENT_TYPE__RELATIONS_SUSPENDED] = { FOLD_RELATIONS, FOLD_OFF },
		[ANNALS__EVENT_TYPE__MISSION_OPENED] = { FOLD_MISSION, FOLD_ON },
		[ANNALS__EVENT_TYPE__MISSION_CLOSED] = { FOLD_MISSION, FOLD_OFF },
		[ANNALS__EVENT_TYPE__SANCTIONS_IMPOSED] = { FOLD_SANCTIONS, FOLD_ON },
		[ANNALS__EVENT_TYPE__SANCTIONS_LIFTED] = { FOLD_SANCTIONS, FOLD_OFF },
	};

	if (!fold_takes(e->type))
		return true;
	switch (e->type) {
	case ANNALS__EVENT_TYPE__LISTED:
	case ANNALS__EVENT_TYPE__DELISTED:
		if (!apply_list(f, e))
			return false;
		break;
	case ANNALS__EVENT_TYPE__MEETING:
		f->meetings++;
		ref_set(&f->last_meeting, e->seq, e->first_day, e->edtf);
		break;
	default: {
		fold_flag *x = &f->axes[axes[e->type].axis];
		/* A repeated state keeps its since: nothing changed. */
		if (x->state == FOLD_UNSET)
			x->same = true;
		else if (x->state != axes[e->type].state)
			x->same = false;
		if (x->state != axes[e->type].state) {
			x->state = axes[e->type].state;
			ref_set(&x->since, e->seq, e->first_day, e->edtf);
		}
		break;
	}
	}
	ref_set(&f->last_change, e->seq, e->first_day, e->edtf);
	f->last_change_type = (uint8_t)e->type;
	if (e->last_day > f->max_last_day)
		f->max_last_day = e->last_day;
	if (e->first_day > f->max_first_day)
		f->max_first_day = e->first_day;
	return true;
}

static bool compose_list(fold *a, const fold_list *b)
{
	fold_list *l = list_get(a, b->name, strlen(b->name));

	if (!l)
		return false;
	if (b->kind == FOLD_LIST_RESET || l->kind == 0) {
		*l = *b;
		return true;
	}
	/* b only adds: a keeps an existing listing; a reset-unlisted a gets
	 * b's listing. */
	if (l->kind == FOLD_LIST_RESET && !l->listed) {
		l->listed = true;
		l->since = b->since;
		memcpy(l->authority, b->authority, sizeof l->authority);
	}
	return true;
}

bool fold_compose(fold *a, const fold *b)
{
	for (int i = 0; i < FOLD_AXES; i++) {
		const fold_flag *y = &b->axes[i];
		fold_flag *x = &a->axes[i];
		if (y->state == FOLD_UNSET || (y->same && y->state == x->state))
			continue;           /* b leaves a's state and since as they are */
		bool same = x->state == FOLD_UNSET && y->same;
		*x = *y;
		x->same = same;
	}
	for (size_t i = 0; i < b->lists_count; i++)
		if (!compose_list(a, &b->lists[i]))
			return false;
	a->meetings += b->meetings;
	if (b->last_meeting.seq)
		a->last_meeting = b->last_meeting;
	if (b->last_change.seq) {
		a->last_change = b->last_change;
		a->last_change_type = b->last_change_type;
	}
	if (b->max_last_day > a->max_last_day)
		a->max_last_day = b->max_last_day;
	if (b->max_first_day > a->max_first_day)
		a->max_first_day = b->max_first_day;
	return true;
}

/* Encoding: a version byte, then fixed fields big-endian, then the lists.
 *   [0]       2 (encoding version, FOLD_ENCODING)
 *   axes      4 x (state u8, same u8, ref)
 *   meetings  u64, last_meeting ref, last_change ref, last_change_type u8
 *   days      max_last_day u32, max_first_day u32
 *   lists     count u16, then per list: name len u8 + name, kind u8,
 *             listed u8, since ref, authority len u16 + authority
 *   ref       seq u64, day u32, edtf len u8 + edtf                      */
#define FOLD_ENCODING 2u

static size_t ref_bytes(const fold_ref *r)
{
	return 8 + 4 + 1 + strlen(r->edtf);
}

size_t fold_encoded_bytes(const fold *f)
{
	size_t n = 1 + 8 + 1 + 4 + 4 + 2;

	for (int i = 0; i < FOLD_AXES; i++)
		n += 2 + ref_bytes(&f->axes[i].since);
	n += ref_bytes(&f->last_meeting) + ref_bytes(&f->last_change);
	for (size_t i = 0; i < f->lists_count; i++)
		n += 1 + strlen(f->lists[i].name) + 2 + ref_bytes(&f->lists[i].since) +
		     2 + strlen(f->lists[i].authority);
	return n;
}

static uint8_t *put_ref(uint8_t *p, const fold_ref *r)
{
	size_t n = strlen(r->edtf);

	put_u64_be(p, r->seq);
	put_u32_be(p + 8, r->day);
	p[12] = (uint8_t)n;
	memcpy(p + 13, r->edtf, n);
	return p + 13 + n;
}

size_t fold_encode(uint8_t *buf, size_t cap, const fold *f)
{
	size_t n = fold_encoded_bytes(f);
	uint8_t *p = buf;

	if (n > cap || f->lists_count > 0xffff)
		return 0;
	*p++ = FOLD_ENCODING;
	for (int i = 0; i < FOLD_AXES; i++) {
		*p++ = f->axes[i].state;
		*p++ = f->axes[i].same;
		p = put_ref(p, &f->axes[i].since);
	}
	put_u64_be(p, f->meetings);
	p = put_ref(p + 8, &f->last_meeting);
	p = put_ref(p, &f->last_change);
	*p++ = f->last_change_type;
	put_u32_be(p, f->max_last_day);
	put_u32_be(p + 4, f->max_first_day);
	p[8] = (uint8_t)(f->lists_count >> 8);
	p[9] = (uint8_t)f->lists_count;
	p += 10;
	for (size_t i = 0; i < f->lists_count; i++) {
		const fold_list *l = &f->lists[i];
		size_t ln = strlen(l->name), an = strlen(l->authority);
		*p++ = (uint8_t)ln;
		memcpy(p, l->name, ln);
		p += ln;
		*p++ = l->kind;
		*p++ = l->listed;
		p = put_ref(p, &l->since);
		p[0] = (uint8_t)(an >> 8);
		p[1] = (uint8_t)an;
		memcpy(p + 2, l->authority, an);
		p += 2 + an;
	}
	assert((size_t)(p - buf) == n);
	return n;
}

typedef struct cursor {
	const uint8_t *p, *end;
	bool bad;
} cursor;

static const uint8_t *take(cursor *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	return c->p - n;
}

static void get_text(cursor *c, char *out, size_t cap, size_t n)
{
	const uint8_t *s = take(c, n);

	if (!s || n >= cap) {
		c->bad = true;
		return;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

static void get_ref(cursor *c, fold_ref *r)
{
	const uint8_t *p = take(c, 13);

	memset(r, 0, sizeof *r);
	if (!p)
		return;
	r->seq = get_u64_be(p);
	r->day = get_u32_be(p + 8);
	get_text(c, r->edtf, sizeof r->edtf, p[12]);
}

bool fold_decode(fold *f, const uint8_t *buf, size_t n)
{
	cursor c = { buf, buf + n, false };
	const uint8_t *p;

	fold_reset(f);
	if (!(p = take(&c, 1)) || *p != FOLD_ENCODING)
		return false;
	for (int i = 0; i < FOLD_AXES; i++) {
		if (!(p = take(&c, 2)) || p[0] > FOLD_OFF || p[1] > 1 ||
		    (p[0] == FOLD_UNSET && p[1]))
			return false;
		f->axes[i].state = p[0];
		f->axes[i].same = p[1];
		get_ref(&c, &f->axes[i].since);
	}
	if ((p = take(&c, 8)))
		f->meetings = get_u64_be(p);
	get_ref(&c, &f->last_meeting);
	get_ref(&c, &f->last_change);
	if ((p = take(&c, 1)))
		f->last_change_type = *p;
	if (p && (f->last_change.seq ? !fold_takes((Annals__EventType)*p) : *p != 0))
		return false;
	if (!(p = take(&c, 10)))
		return false;
	f->max_last_day = get_u32_be(p);
	f->max_first_day = get_u32_be(p + 4);
	size_t count = (size_t)p[8] << 8 | p[9];
	for (size_t i = 0; i < count && !c.bad; i++) {
		char name[LEDGER_SLUG_BYTES_MAX + 1];
		if (!(p = take(&c, 1)))
			break;
		get_text(&c, name, sizeof name, *p);
		/* fold_encode writes lists in strictly increasing name order. */
		if (c.bad || !*name ||
		    (i > 0 && strcmp(f->lists[i - 1].name, name) >= 0))
			return false;
		fold_list *l = list_get(f, name, strlen(name));
		if (!l || !(p = take(&c, 2)) || p[1] > 1 ||
		    (p[0] != FOLD_LIST_ADD_ONLY && p[0] != FOLD_LIST_RESET))
			return false;
		l->kind = p[0];
		l->listed = p[1] != 0;
		get_ref(&c, &l->since);
		if (!(p = take(&c, 2)))
			return false;
		get_text(&c, l->authority, sizeof l->authority, (size_t)p[0] << 8 | p[1]);
	}
	return !c.bad && c.p == c.end;
}
