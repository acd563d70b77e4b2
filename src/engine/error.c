/*
 * error.c -- per-thread last error, the log sink and the abort poll.
 *
 * Every failing engine call records a message here and returns a status;
 * the R glue turns (status, message) into an R error on the main thread.
 */
#include "../include/mx-internal.h"

#include <stdarg.h>
#include <stdio.h>

#define MX_ERRBUF 2048

static _Thread_local char err_msg[MX_ERRBUF];
static _Thread_local mx_status err_status = MX_OK;

const char *mx_last_error(void) { return err_msg; }
mx_status mx_last_status(void) { return err_status; }

const char *mx_status_name(int st) {
  static const char *names[] = {"ok", "arg", "shape", "dtype", "nomem", "io",
                                "format", "unsupported", "device", "aborted",
                                "internal", "dist"};
  if (st < 0 || st >= (int)(sizeof names / sizeof names[0])) return "unknown";
  return names[st];
}

void mx_error_clear(void) {
  err_msg[0] = '\0';
  err_status = MX_OK;
}

mx_status mx_error_at(const char *func, mx_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(err_msg, sizeof err_msg, fmt, ap);
  va_end(ap);
  if (st == MX_ERR_INTERNAL && w >= 0 && (size_t)w < sizeof err_msg)
    snprintf(err_msg + w, sizeof err_msg - (size_t)w,
             " (internal error in %s(): a bug in mxnet, please report it)", func ? func : "?");
  err_status = st;
  return st;
}

mx_status mx_error_prefix(mx_status st, const char *fmt, ...) {
  char old[MX_ERRBUF];
  va_list ap;
  memcpy(old, err_msg, sizeof old);
  va_start(ap, fmt);
  int w = vsnprintf(err_msg, sizeof err_msg, fmt, ap);
  va_end(ap);
  if (w >= 0 && (size_t)w < sizeof err_msg) {
    size_t room = sizeof err_msg - (size_t)w;
    size_t l = strlen(old);
    if (l >= room) l = room - 1;
    memcpy(err_msg + w, old, l);
    err_msg[(size_t)w + l] = '\0';
  }
  err_status = st;
  return st;
}

/* ------------------------------------------------------------- logging */

static mx_log_fn log_fn = NULL;
static void *log_user = NULL;

void mx_log_set_callback(mx_log_fn fn, void *user) {
  log_fn = fn;
  log_user = user;
}

void mx_log(int level, const char *fmt, ...) {
  if (!log_fn) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_fn(level, buf, log_user);
}

/* ------------------------------------------------------------- abort */

/* Only the thread that installed the callback calls it (the R glue's thread:
 * R may not be called from OpenMP workers); once it said stop, every thread
 * sees the request until the callback is installed again. */
static mx_abort_fn abort_fn = NULL;
static void *abort_user = NULL;
static _Thread_local int abort_owner = 0;
static int abort_seen = 0;

void mx_abort_set_callback(mx_abort_fn fn, void *user) {
  abort_fn = fn;
  abort_user = user;
  abort_owner = 1;
  __atomic_store_n(&abort_seen, 0, __ATOMIC_RELAXED);
}

int mx_abort_requested(void) {
  if (__atomic_load_n(&abort_seen, __ATOMIC_RELAXED)) return 1;
  if (!abort_owner || !abort_fn || !abort_fn(abort_user)) return 0;
  __atomic_store_n(&abort_seen, 1, __ATOMIC_RELAXED);
  return 1;
}

mx_status mx_abort_check(void) {
  return mx_abort_requested() ? mx_error(MX_ERR_ABORTED, "interrupted by the user") : MX_OK;
}

/* ------------------------------------------------------------- hashing */

uint64_t mx_hash_bytes(const void *p, size_t n, uint64_t h) {
  const unsigned char *b = (const unsigned char *)p;
  if (h == 0) h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ULL;
  }
  return h;
}
