/*
 * fuzz-files.h -- files for the harnesses whose readers take a path
 * (fuzz-recordio.c, fuzz-recordio-skip.c): a private folder in /dev/shm when
 * there is one (on ext4, rewriting a file flushes it on close), else /tmp,
 * removed with its files at exit.  Include after the C headers.
 */
#ifndef FUZZ_FILES_H
#define FUZZ_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FUZZ_MAX_FILES 4
static char fuzz_dir[64], fuzz_path[FUZZ_MAX_FILES][256];
static int fuzz_nfiles;

static void fuzz_check(int ok) {
  if (!ok) __builtin_trap();
}

static void fuzz_files_cleanup(void) {
  for (int i = 0; i < fuzz_nfiles; i++) remove(fuzz_path[i]);
  rmdir(fuzz_dir);
}

/* Make the folder <prefix>-XXXXXX and set fuzz_path[i] to names[i] in it. */
static void fuzz_files_setup(const char *prefix, int n, const char *const *names) {
  char shm[64], tmp[64];
  snprintf(shm, sizeof shm, "/dev/shm/%s-XXXXXX", prefix);
  snprintf(tmp, sizeof tmp, "/tmp/%s-XXXXXX", prefix);
  const char *dir = mkdtemp(shm);
  if (!dir) dir = mkdtemp(tmp);
  fuzz_check(dir != NULL && n <= FUZZ_MAX_FILES);
  snprintf(fuzz_dir, sizeof fuzz_dir, "%s", dir);
  fuzz_nfiles = n;
  for (int i = 0; i < n; i++) snprintf(fuzz_path[i], sizeof fuzz_path[i], "%s/%s", dir, names[i]);
  atexit(fuzz_files_cleanup);
}

static void fuzz_put_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  fuzz_check(f != NULL);
  if (n) fuzz_check(fwrite(p, 1, n, f) == n);
  fuzz_check(fclose(f) == 0);
}

#endif
