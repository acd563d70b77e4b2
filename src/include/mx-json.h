/*
 * mx-json.h -- a small JSON reader and writer for the engine (symbol files).
 *
 * The reader builds a tree; every failure (malformed text, nesting deeper
 * than 256, invalid escapes) is an MX_ERR_FORMAT with the byte offset.
 */
#ifndef MX_JSON_H
#define MX_JSON_H

#include "mx-internal.h"

typedef enum mx_json_type {
  MX_JSON_NULL = 0, MX_JSON_BOOL, MX_JSON_NUM, MX_JSON_STR, MX_JSON_ARR, MX_JSON_OBJ
} mx_json_type;

typedef struct mx_json {
  int type;
  double num;               /* NUM (and BOOL as 0/1)                         */
  char *str;                /* STR                                            */
  int n;                    /* ARR / OBJ: number of items                     */
  struct mx_json **items;   /* ARR / OBJ values                               */
  char **keys;              /* OBJ keys                                       */
} mx_json;

mx_status mx_json_parse(const char *text, size_t len, mx_json **out);
void mx_json_free(mx_json *j);
/* Value of key in an object (first match), or NULL. */
const mx_json *mx_json_get(const mx_json *obj, const char *key);

/* Growable string buffer for writers. */
typedef struct mx_strbuf {
  char *p;
  size_t len, cap;
  int failed;
} mx_strbuf;

void mx_sb_init(mx_strbuf *b);
void mx_sb_free(mx_strbuf *b);
void mx_sb_put(mx_strbuf *b, const char *s, size_t n);
void mx_sb_puts(mx_strbuf *b, const char *s);
void mx_sb_printf(mx_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal with escapes. */
void mx_sb_json_string(mx_strbuf *b, const char *s);
/* Take the text (NUL-terminated, malloc'ed) out of the buffer. */
char *mx_sb_take(mx_strbuf *b);

#endif
