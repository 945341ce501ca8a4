/* A growable byte buffer for building text (requests, form bodies, the
 * metrics page, a file read whole). After any allocation failure oom is set
 * and further appends are ignored, so callers append without checking each
 * call and look once at the end (buf_take returns NULL). */
#ifndef ENVBOT_BUF_H
#define ENVBOT_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialise ({ 0 }) to start empty. The content is always
 * NUL-terminated when p != NULL; p belongs to the buffer until buf_take. */
struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* Appends data[0..n) (copied). */
void buf_add(struct buf *b, const void *data, size_t n);
/* Appends the string s (copied). */
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the content as a new string the caller frees ("" if empty), or NULL
 * after an allocation failure; b is reset either way. */
char *buf_take(struct buf *b);
/* Frees the content and resets b. */
void buf_free(struct buf *b);

#endif
