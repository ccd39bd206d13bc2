/*
 * result: how a probe result is shown to people and programs: the JSON
 * record of DESIGN.md (one object per line, built with jansson), and the
 * rows of the --once table.
 *
 * The table's columns are fitted to the rows it will show, so a caller
 * that prints one first passes every row through result_table_fit().
 */
#ifndef SONDE_RESULT_H
#define SONDE_RESULT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RESULT_TARGET_MAX_WIDTH	32	/* longer targets are shortened */

struct check_conf;
struct json_t;
struct probe_result;

/* Column widths of the --once table. */
struct result_table {
	int	check_w;
	int	type_w;
	int	target_w;
	int	result_w;
};

/*
 * Sets obj[key] to s made valid UTF-8 (bad bytes become U+FFFD; jansson
 * would reject the whole record otherwise).  Returns 0 or -1.
 */
int	 result_json_set_string(struct json_t *obj, const char *key,
	    const char *s);
/* Returns a new one-line JSON string (no newline), or NULL; caller frees. */
char	*result_json(const struct check_conf *check,
	    const struct probe_result *res);
/* Sets the table's widths to fit its headings. */
void	 result_table_init(struct result_table *t);
/* Widens the table's columns to fit this row; both borrowed. */
void	 result_table_fit(struct result_table *t,
	    const struct check_conf *check, const struct probe_result *res);
/* Writes the table heading for --once. */
void	 result_table_header(FILE *out, const struct result_table *t);
/* Writes one table row for --once. */
void	 result_table_row(FILE *out, const struct result_table *t,
	    const struct check_conf *check, const struct probe_result *res);
/*
 * Formats µs as a short human duration into buf ("0.4ms", "12.3ms",
 * "1.50s", "2m05s", "3h07m", "2d04h"); returns buf.
 */
const char *result_format_us(int64_t us, char *buf, size_t buflen);

/* Writes us (wall clock, µs) as RFC 3339 UTC with milliseconds. */
void	 result_rfc3339(int64_t us, char *buf, size_t buflen);

#endif /* SONDE_RESULT_H */
