/*
 * json.c -- a small JSON reader and writer (RFC 8259) for symbol files.
 */
#include "../include/mx-json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_DEPTH 256

typedef struct parser {
  const char *s;
  size_t len, pos;
} parser;

static mx_status perr(parser *p, const char *what) {
  return mx_error(MX_ERR_FORMAT, "invalid JSON at byte %lu: %s", (unsigned long)p->pos, what);
}

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p->pos++;
    else break;
  }
}

void mx_json_free(mx_json *j) {
  if (!j) return;
  free(j->str);
  for (int i = 0; i < j->n; i++) {
    if (j->items) mx_json_free(j->items[i]);
    if (j->keys) free(j->keys[i]);
  }
  free(j->items);
  free(j->keys);
  free(j);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void put_utf8(mx_strbuf *b, uint32_t cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) { u[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  mx_sb_put(b, u, n);
}

static mx_status read_hex4(parser *p, uint32_t *out) {
  if (p->len - p->pos < 4) return perr(p, "truncated \\u escape");
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p->s[p->pos + i]);
    if (h < 0) return perr(p, "bad \\u escape");
    v = v * 16 + (uint32_t)h;
  }
  p->pos += 4;
  *out = v;
  return MX_OK;
}

static mx_status parse_string(parser *p, char **out) {
  /* p->s[p->pos] == '"' */
  p->pos++;
  mx_strbuf b;
  mx_sb_init(&b);
  mx_status rc = MX_OK;
  for (;;) {
    if (p->pos >= p->len) { rc = perr(p, "unterminated string"); break; }
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '"') { p->pos++; break; }
    if (c < 0x20) { rc = perr(p, "control character in string"); break; }
    if (c != '\\') {
      size_t start = p->pos;
      while (p->pos < p->len && p->s[p->pos] != '"' && p->s[p->pos] != '\\' &&
             (unsigned char)p->s[p->pos] >= 0x20)
        p->pos++;
      mx_sb_put(&b, p->s + start, p->pos - start);
      continue;
    }
    p->pos++;
    if (p->pos >= p->len) { rc = perr(p, "unterminated escape"); break; }
    char e = p->s[p->pos++];
    switch (e) {
      case '"': mx_sb_put(&b, "\"", 1); break;
      case '\\': mx_sb_put(&b, "\\", 1); break;
      case '/': mx_sb_put(&b, "/", 1); break;
      case 'b': mx_sb_put(&b, "\b", 1); break;
      case 'f': mx_sb_put(&b, "\f", 1); break;
      case 'n': mx_sb_put(&b, "\n", 1); break;
      case 'r': mx_sb_put(&b, "\r", 1); break;
      case 't': mx_sb_put(&b, "\t", 1); break;
      case 'u': {
        uint32_t cp;
        if ((rc = read_hex4(p, &cp))) break;
        if (cp >= 0xD800 && cp < 0xDC00) {
          uint32_t lo;
          if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
            rc = perr(p, "unpaired surrogate");
            break;
          }
          p->pos += 2;
          if ((rc = read_hex4(p, &lo))) break;
          if (lo < 0xDC00 || lo > 0xDFFF) { rc = perr(p, "bad surrogate pair"); break; }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          rc = perr(p, "unpaired surrogate");
          break;
        }
        if (cp == 0) { rc = perr(p, "NUL character in string"); break; }
        put_utf8(&b, cp);
        break;
      }
      default: rc = perr(p, "bad escape");
    }
    if (rc) break;
  }
  if (rc == MX_OK && b.failed) rc = mx_error(MX_ERR_NOMEM, "out of memory parsing JSON");
  if (rc) {
    mx_sb_free(&b);
    return rc;
  }
  *out = mx_sb_take(&b);
  if (!*out) return mx_error(MX_ERR_NOMEM, "out of memory parsing JSON");
  return MX_OK;
}

static mx_status parse_value(parser *p, int depth, mx_json **out);

static mx_status add_item(mx_json *j, mx_json *v, char *key) {
  if ((j->n & (j->n - 1)) == 0) {   /* grow at powers of two */
    size_t cap = j->n ? (size_t)j->n * 2 : 4;
    mx_json **ni = (mx_json **)realloc(j->items, cap * sizeof *ni);
    if (!ni) return mx_error(MX_ERR_NOMEM, "out of memory parsing JSON");
    j->items = ni;
    if (j->type == MX_JSON_OBJ) {
      char **nk = (char **)realloc(j->keys, cap * sizeof *nk);
      if (!nk) return mx_error(MX_ERR_NOMEM, "out of memory parsing JSON");
      j->keys = nk;
    }
  }
  j->items[j->n] = v;
  if (j->type == MX_JSON_OBJ) j->keys[j->n] = key;
  j->n++;
  return MX_OK;
}

static mx_status parse_container(parser *p, int depth, mx_json *j) {
  char close = j->type == MX_JSON_ARR ? ']' : '}';
  p->pos++;
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == close) { p->pos++; return MX_OK; }
  for (;;) {
    char *key = NULL;
    mx_status rc;
    if (j->type == MX_JSON_OBJ) {
      skip_ws(p);
      if (p->pos >= p->len || p->s[p->pos] != '"') return perr(p, "expected a key");
      if ((rc = parse_string(p, &key))) return rc;
      skip_ws(p);
      if (p->pos >= p->len || p->s[p->pos] != ':') { free(key); return perr(p, "expected ':'"); }
      p->pos++;
    }
    mx_json *v = NULL;
    if ((rc = parse_value(p, depth + 1, &v))) { free(key); return rc; }
    if ((rc = add_item(j, v, key))) { free(key); mx_json_free(v); return rc; }
    skip_ws(p);
    if (p->pos >= p->len) return perr(p, "unterminated container");
    char c = p->s[p->pos++];
    if (c == close) return MX_OK;
    if (c != ',') { p->pos--; return perr(p, "expected ',' or the end of the container"); }
  }
}

static mx_status parse_value(parser *p, int depth, mx_json **out) {
  *out = NULL;
  if (depth > MAX_DEPTH) return perr(p, "nested too deeply");
  skip_ws(p);
  if (p->pos >= p->len) return perr(p, "unexpected end");
  mx_json *j = (mx_json *)calloc(1, sizeof *j);
  if (!j) return mx_error(MX_ERR_NOMEM, "out of memory parsing JSON");
  mx_status rc = MX_OK;
  char c = p->s[p->pos];
  if (c == '{' || c == '[') {
    j->type = c == '{' ? MX_JSON_OBJ : MX_JSON_ARR;
    rc = parse_container(p, depth, j);
  } else if (c == '"') {
    j->type = MX_JSON_STR;
    rc = parse_string(p, &j->str);
  } else if (p->len - p->pos >= 4 && !strncmp(p->s + p->pos, "true", 4)) {
    j->type = MX_JSON_BOOL; j->num = 1; p->pos += 4;
  } else if (p->len - p->pos >= 5 && !strncmp(p->s + p->pos, "false", 5)) {
    j->type = MX_JSON_BOOL; j->num = 0; p->pos += 5;
  } else if (p->len - p->pos >= 4 && !strncmp(p->s + p->pos, "null", 4)) {
    j->type = MX_JSON_NULL; p->pos += 4;
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    char buf[64];
    size_t k = 0;
    while (p->pos < p->len && k < sizeof buf - 1) {
      char d = p->s[p->pos];
      if ((d >= '0' && d <= '9') || d == '-' || d == '+' || d == '.' || d == 'e' || d == 'E') {
        buf[k++] = d;
        p->pos++;
      } else break;
    }
    buf[k] = '\0';
    char *end;
    j->type = MX_JSON_NUM;
    j->num = strtod(buf, &end);
    if (end != buf + k || k == 0) rc = perr(p, "bad number");
  } else {
    rc = perr(p, "unexpected character");
  }
  if (rc) {
    mx_json_free(j);
    return rc;
  }
  *out = j;
  return MX_OK;
}

mx_status mx_json_parse(const char *text, size_t len, mx_json **out) {
  parser p = {text, len, 0};
  *out = NULL;
  mx_json *j;
  mx_status rc = parse_value(&p, 0, &j);
  if (rc) return rc;
  skip_ws(&p);
  if (p.pos != p.len) {
    mx_json_free(j);
    return perr(&p, "trailing characters");
  }
  *out = j;
  return MX_OK;
}

const mx_json *mx_json_get(const mx_json *obj, const char *key) {
  if (!obj || obj->type != MX_JSON_OBJ) return NULL;
  for (int i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
  return NULL;
}

/* ---------------------------------------------------------------- writer */

void mx_sb_init(mx_strbuf *b) {
  b->p = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}

void mx_sb_free(mx_strbuf *b) {
  free(b->p);
  mx_sb_init(b);
}

void mx_sb_put(mx_strbuf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *np = (char *)realloc(b->p, cap);
    if (!np) { b->failed = 1; return; }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void mx_sb_puts(mx_strbuf *b, const char *s) { mx_sb_put(b, s, strlen(s)); }

void mx_sb_printf(mx_strbuf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (w < 0) { b->failed = 1; return; }
  if ((size_t)w < sizeof tmp) { mx_sb_put(b, tmp, (size_t)w); return; }
  char *big = (char *)malloc((size_t)w + 1);
  if (!big) { b->failed = 1; return; }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)w + 1, fmt, ap);
  va_end(ap);
  mx_sb_put(b, big, (size_t)w);
  free(big);
}

void mx_sb_json_string(mx_strbuf *b, const char *s) {
  mx_sb_put(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    switch (*c) {
      case '"': mx_sb_put(b, "\\\"", 2); break;
      case '\\': mx_sb_put(b, "\\\\", 2); break;
      case '\n': mx_sb_put(b, "\\n", 2); break;
      case '\r': mx_sb_put(b, "\\r", 2); break;
      case '\t': mx_sb_put(b, "\\t", 2); break;
      default:
        if (*c < 0x20) mx_sb_printf(b, "\\u%04x", *c);
        else mx_sb_put(b, (const char *)c, 1);
    }
  }
  mx_sb_put(b, "\"", 1);
}

char *mx_sb_take(mx_strbuf *b) {
  if (b->failed) {
    mx_sb_free(b);
    return NULL;
  }
  if (!b->p) {
    b->p = (char *)malloc(1);
    if (!b->p) return NULL;
    b->p[0] = '\0';
  }
  char *p = b->p;
  mx_sb_init(b);
  return p;
}
