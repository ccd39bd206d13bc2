/*
 * fuzz: what the libFuzzer harnesses of tests/fuzz/ share: the entry
 * point each defines, an assertion that aborts (so libFuzzer, and the
 * replay in make check, report an invariant broken as a crash), a reader
 * that cuts structured fields out of the fuzzer's bytes, and a scratch
 * directory for the targets that read files.
 */
#ifndef SONDE_FUZZ_H
#define SONDE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The one function of each harness (libFuzzer's entry point). */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: broken, it is a bug. */
#define FUZZ_ASSERT(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s: ",	\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/* The fuzzer's bytes, consumed from the front. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 len;
};

static inline unsigned
fuzz_u8(struct fuzz_in *in)
{
	unsigned	v;

	if (in->len == 0)
		return 0;
	v = in->p[0];
	in->p++;
	in->len--;
	return v;
}

static inline uint64_t
fuzz_u64(struct fuzz_in *in)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | fuzz_u8(in);
	return v;
}

/*
 * A string: a length byte then that many bytes (fewer at the end), cut
 * to fit dst and NUL-terminated; NULs inside end it early, as C would.
 */
static inline const char *
fuzz_str(struct fuzz_in *in, char *dst, size_t dstlen)
{
	size_t	n = fuzz_u8(in);

	if (n > in->len)
		n = in->len;
	if (n > dstlen - 1)
		n = dstlen - 1;
	memcpy(dst, in->p, n);
	dst[n] = '\0';
	in->p += n;
	in->len -= n;
	return dst;
}

/*
 * A directory of its own for the process's scratch files, made on first
 * use (under TMPDIR, else /tmp) and removed with its files at exit.
 */
static char	fuzz_dir_path[64];

static inline void
fuzz_dir_remove(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir_path);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_path);
}

static inline const char *
fuzz_dir(void)
{
	const char	*t = getenv("TMPDIR");

	if (fuzz_dir_path[0] != '\0')
		return fuzz_dir_path;
	snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/sonde-fuzz.XXXXXX",
	    t != NULL && t[0] != '\0' && strlen(t) < 32 ? t : "/tmp");
	if (mkdtemp(fuzz_dir_path) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fuzz_dir_remove);
	return fuzz_dir_path;
}

/* Writes data to fuzz_dir()/name, replacing it; aborts on failure. */
static inline void
fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
	char	 path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	if ((f = fopen(path, "we")) == NULL ||
	    (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

#endif /* SONDE_FUZZ_H */
