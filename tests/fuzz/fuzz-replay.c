/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-replay.c: runs a fuzz target's LLVMFuzzerTestOneInput() over files,
 * without libFuzzer, so that `make check` replays the seed corpora and the
 * regression inputs with the normal compiler (and under ASan/UBSan in a
 * sanitizer build). */

/*
 * Usage: PROG [FILE|DIR]...
 * Without arguments it replays FUZZ_DIR/corpus/FUZZ_NAME and
 * FUZZ_DIR/regressions/FUZZ_NAME (both compiled in; $FUZZ_DIR overrides the
 * directory at run time).  A target signals a failed check by trapping, so
 * a failing input kills the program; a signal handler first names the
 * input on stderr.  Exit status 0 when every input ran, 1 if none could be
 * read.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1          /* asprintf() */
#endif
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif
#ifndef FUZZ_DIR
#define FUZZ_DIR "tests/fuzz"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current = "(none)";
static size_t n_run, n_failed_read;

static void
on_fatal(int sig)
{
    static const char msg[] = "fuzz-replay: " FUZZ_NAME ": crashed on ";
    ssize_t rc;

    rc = write(2, msg, sizeof msg - 1);
    rc = write(2, current, strlen(current));
    rc = write(2, "\n", 1);
    (void) rc;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
run_file(const char *path)
{
    uint8_t *buf = NULL;
    size_t size = 0, cap = 0;
    FILE *f = fopen(path, "rb");

    if (!f) {
        fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
        n_failed_read++;
        return;
    }
    for (;;) {
        size_t n;

        if (size == cap) {
            uint8_t *nb;

            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (!nb) {
                fprintf(stderr, "fuzz-replay: %s: out of memory\n", path);
                exit(1);
            }
            buf = nb;
        }
        n = fread(buf + size, 1, cap - size, f);
        size += n;
        if (n == 0) {
            break;
        }
    }
    fclose(f);

    /* An exactly sized copy, so ASan sees reads past the input's end. */
    {
        uint8_t *exact = malloc(size ? size : 1);

        if (!exact) {
            exit(1);
        }
        if (size) {
            memcpy(exact, buf, size);
        }
        free(buf);
        current = path;
        LLVMFuzzerTestOneInput(exact, size);
        current = "(none)";
        free(exact);
    }
    n_run++;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Runs every regular file in 'dir' (sorted, not recursive); a missing
 * directory is fine when 'optional'. */
static void
run_dir(const char *dir, int optional)
{
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    DIR *d = opendir(dir);

    if (!d) {
        if (!optional || errno != ENOENT) {
            fprintf(stderr, "fuzz-replay: %s: %s\n", dir, strerror(errno));
            n_failed_read++;
        }
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names) {
                exit(1);
            }
        }
        if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0) {
            exit(1);
        }
        n++;
    }
    closedir(d);
    if (n) {
        qsort(names, n, sizeof *names, cmp_str);
    }
    for (i = 0; i < n; i++) {
        struct stat st;

        if (!stat(names[i], &st) && S_ISREG(st.st_mode)) {
            run_file(names[i]);
        }
        free(names[i]);
    }
    free(names);
}

static void
run_path(const char *path)
{
    struct stat st;

    if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
        run_dir(path, 0);
    } else {
        run_file(path);
    }
}

int
main(int argc, char *argv[])
{
    int i;

    signal(SIGSEGV, on_fatal);
    signal(SIGILL, on_fatal);
    signal(SIGABRT, on_fatal);
    signal(SIGFPE, on_fatal);
    signal(SIGBUS, on_fatal);
    signal(SIGTRAP, on_fatal);

    if (argc > 1) {
        for (i = 1; i < argc; i++) {
            run_path(argv[i]);
        }
    } else {
        const char *dir = getenv("FUZZ_DIR");
        char *corpus, *regress;

        if (!dir || !dir[0]) {
            dir = FUZZ_DIR;
        }
        if (asprintf(&corpus, "%s/corpus/%s", dir, FUZZ_NAME) < 0
            || asprintf(&regress, "%s/regressions/%s", dir, FUZZ_NAME) < 0) {
            return 1;
        }
        run_dir(corpus, 0);
        run_dir(regress, 1);
        free(corpus);
        free(regress);
    }
    printf("fuzz-replay: %s: %zu inputs replayed\n", FUZZ_NAME, n_run);
    return n_failed_read || n_run == 0 ? 1 : 0;
}
