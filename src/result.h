/*
 * result: how a probe result is shown to people and programs: the JSON
 * record of DESIGN.md (one object per line, built with jansson), and the
 * rows of the --once table.
 */
#ifndef SONDE_RESULT_H
#define SONDE_RESULT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct check_conf;
struct probe_result;

/* Returns a new one-line JSON string (no newline); caller frees. */
char	*result_json(const struct check_conf *check,
	    const struct probe_result *res);
/* Writes the table heading for --once. */
void	 result_table_header(FILE *out);
/* Writes one table row for --once. */
void	 result_table_row(FILE *out, const struct check_conf *check,
	    const struct probe_result *res);
/* Formats µs as a short human duration ("1.2ms", "3.00s") into buf. */
const char *result_format_us(int64_t us, char *buf, size_t buflen);

#endif /* SONDE_RESULT_H */
