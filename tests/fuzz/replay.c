/* SPDX-License-Identifier: ISC */
/*
 * replay: the main() that make check links with each fuzz harness, built
 * with the normal compiler (and under ASan/UBSan in the sanitizer build).
 * It feeds every file of the target's corpus, tests/fuzz/<target>/ in
 * the source tree (or the directory given as argv[1]), to the harness's
 * LLVMFuzzerTestOneInput, one TAP test point per file: the seeds and
 * every crash input found so far, so a crash once fixed stays fixed.  A
 * harness that finds a bug aborts, and the test fails naming the file.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET (the corpus directory's name) must be defined"
#endif

#define REPLAY_FILE_MAX	(4 * 1024 * 1024)

static int
replay_select(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Reads path whole into a new buffer; NULL (and a message) on failure. */
static uint8_t *
replay_read(const char *path, size_t *size)
{
	FILE	*f;
	uint8_t	*buf;
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL) {
		printf("# %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(REPLAY_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, REPLAY_FILE_MAX + 1, f);
	fclose(f);
	if (n > REPLAY_FILE_MAX) {
		printf("# %s: over %d bytes\n", path, REPLAY_FILE_MAX);
		free(buf);
		return NULL;
	}
	/* Exactly n bytes, as libFuzzer gives them: ASan sees overreads. */
	*size = n;
	return realloc(buf, n > 0 ? n : 1);
}

int
main(int argc, char **argv)
{
	const char	 *src = getenv("SONDE_SRCDIR");
	char		  dir[4096], path[8192];
	struct dirent	**names = NULL;
	uint8_t		 *buf;
	size_t		  size;
	int		  i, n, failed = 0;

	if (argc > 1)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else if (src != NULL)
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s", src,
		    FUZZ_TARGET);
	else {
		fprintf(stderr, "usage: %s [CORPUS-DIR] (or set SONDE_SRCDIR "
		    "to the source tree)\n", argv[0]);
		return 2;
	}
	if ((n = scandir(dir, &names, replay_select, alphasort)) <= 0) {
		/* An empty corpus replays nothing: that is a broken test. */
		printf("1..1\nnot ok 1 - %s: %s\n", dir, n == 0 ?
		    "no corpus files" : strerror(errno));
		return 1;
	}
	printf("1..%d\n", n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		fflush(stdout);
		if ((buf = replay_read(path, &size)) == NULL) {
			printf("not ok %d - %s/%s\n", i + 1, FUZZ_TARGET,
			    names[i]->d_name);
			failed++;
		} else {
			/* A bug aborts here; the driver names the file. */
			fprintf(stderr, "replay %s\n", path);
			LLVMFuzzerTestOneInput(buf, size);
			free(buf);
			printf("ok %d - %s/%s\n", i + 1, FUZZ_TARGET,
			    names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
	return failed > 0;
}
