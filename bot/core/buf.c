/* The growable byte buffer of buf.h: doubling growth, a sticky oom flag,
 * always NUL-terminated. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->oom || b->full)
		return;
	if (b->max && b->len + n + 1 > b->max) {
		b->full = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(again);
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		va_end(again);
		buf_add(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		va_end(again);
		b->oom = true;
		return;
	}
	vsnprintf(big, (size_t)n + 1, fmt, again);
	va_end(again);
	buf_add(b, big, (size_t)n);
	free(big);
}

char *buf_take(struct buf *b)
{
	char *p = NULL;
	if (!b->oom)
		p = b->p ? b->p : strdup("");
	else
		free(b->p);
	memset(b, 0, sizeof(*b));
	return p;
}

void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
