/* An introsort for arrays of one type with the comparison inlined: qsort's
 * calls through a pointer and its element copies cost about three times
 * as much on the million-entry arrays an import sorts.
 *
 *   SORT_DEFINE(name, T, C, less)
 *
 * defines `static void name(T *v, size_t n, C ctx)`, which orders v[0..n)
 * by `bool less(const T *a, const T *b, C ctx)` (a strict weak order; the
 * sort is not stable). Quicksort on the median of three, insertion sort
 * for short ranges, heapsort past 2 log2 n levels, so that no input is
 * quadratic. */
#ifndef LEDGER_SORT_H
#define LEDGER_SORT_H

#include <stdbool.h>
#include <stddef.h>

#define SORT_DEFINE(name, T, C, less)                                        \
static inline void name##_swap(T *a, T *b)                                  \
{                                                                           \
	T t = *a;                                                           \
	*a = *b;                                                            \
	*b = t;                                                             \
}                                                                           \
                                                                            \
static void name##_sift(T *v, size_t n, size_t i, C ctx)                    \
{                                                                           \
	for (size_t c; (c = 2 * i + 1) < n; i = c) {                        \
		if (c + 1 < n && less(&v[c], &v[c + 1], ctx))               \
			c++;                                                \
		if (!less(&v[i], &v[c], ctx))                               \
			return;                                             \
		name##_swap(&v[i], &v[c]);                                  \
	}                                                                   \
}                                                                           \
                                                                            \
static void name##_intro(T *v, size_t n, C ctx, unsigned depth)             \
{                                                                           \
	while (n > 16) {                                                    \
		if (depth-- == 0) {                                         \
			for (size_t i = n / 2; i-- > 0;)                    \
				name##_sift(v, n, i, ctx);                  \
			for (size_t i = n; i-- > 1;) {                      \
				name##_swap(&v[0], &v[i]);                  \
				name##_sift(v, i, 0, ctx);                  \
			}                                                   \
			return;                                             \
		}                                                           \
		T *a = &v[0], *m = &v[n / 2], *z = &v[n - 1];               \
		if (less(m, a, ctx))                                        \
			name##_swap(m, a);                                  \
		if (less(z, m, ctx)) {                                      \
			name##_swap(z, m);                                  \
			if (less(m, a, ctx))                                \
				name##_swap(m, a);                          \
		}                                                           \
		T pivot = *m;                                               \
		size_t i = 0, j = n - 1;                                    \
		for (;;) {                                                  \
			while (less(&v[i], &pivot, ctx))                    \
				i++;                                        \
			while (less(&pivot, &v[j], ctx))                    \
				j--;                                        \
			if (i >= j)                                         \
				break;                                      \
			name##_swap(&v[i++], &v[j--]);                      \
		}                                                           \
		/* v[0..j] <= pivot <= v[j+1..n): recurse into the smaller. */ \
		size_t left = j + 1;                                        \
		if (left < n - left) {                                      \
			name##_intro(v, left, ctx, depth);                  \
			v += left;                                          \
			n -= left;                                          \
		} else {                                                    \
			name##_intro(v + left, n - left, ctx, depth);       \
			n = left;                                           \
		}                                                           \
	}                                                                   \
	for (size_t i = 1; i < n; i++) {                                    \
		T x = v[i];                                                 \
		size_t k = i;                                               \
		for (; k > 0 && less(&x, &v[k - 1], ctx); k--)              \
			v[k] = v[k - 1];                                    \
		v[k] = x;                                                   \
	}                                                                   \
}                                                                           \
                                                                            \
static void name(T *v, size_t n, C ctx)                                     \
{                                                                           \
	unsigned depth = 0;                                                 \
                                                                            \
	if (n < 2)                                                          \
		return;                                                     \
	for (size_t k = n; k; k >>= 1)                                      \
		depth += 2;                                                 \
	name##_intro(v, n, ctx, depth);                                     \
}

#endif
