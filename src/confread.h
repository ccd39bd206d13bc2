/*
 * confread: typed, validating reads of libconfig settings for config.c and
 * for the check kinds' conf_parse hooks.
 *
 * Every read reports its own error as "file:line: message" on the setting
 * that is wrong (the group's line when a required key is missing) and the
 * caller simply goes on, so one pass reports every error.  Each read
 * returns 1 when the key is present and valid (*out set), 0 when it is
 * absent (*out untouched; an error is recorded if it was required), and -1
 * when it is present but invalid (error recorded).  A NULL or non-group
 * group reads as absent, without an error (its own read reported it).
 *
 * Only this module, config.c and conf_parse hooks include <libconfig.h>.
 */
#ifndef SONDE_CONFREAD_H
#define SONDE_CONFREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_errors;
struct config_setting_t;
struct pattern;

struct confread {
	struct config_errors	*errs;
	const char		*file;	/* fallback when libconfig has none */
	int			 nerrors; /* errors recorded through this */
};

/* Records "file:line: message" for the setting at. */
void	confread_error(struct confread *cr, const struct config_setting_t *at,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Records an error for every member of group whose name is not in allowed
 * (NULL-terminated), suggesting the closest allowed name.  what names the
 * group in the message ("check", "expect").  Returns the number found.
 */
int	confread_check_keys(struct confread *cr,
	    const struct config_setting_t *group, const char *const *allowed,
	    const char *what);

/* A string; *out is a new copy owned by the caller. */
int	confread_string(struct confread *cr, const struct config_setting_t *group,
	    const char *key, bool required, char **out);
/* An integer in [min, max]. */
int	confread_int(struct confread *cr, const struct config_setting_t *group,
	    const char *key, bool required, int64_t min, int64_t max,
	    int64_t *out);
int	confread_bool(struct confread *cr, const struct config_setting_t *group,
	    const char *key, bool required, bool *out);
/* A duration string in [min_ms, max_ms], in ms. */
int	confread_duration(struct confread *cr,
	    const struct config_setting_t *group, const char *key, bool required,
	    int64_t min_ms, int64_t max_ms, int64_t *out);
/*
 * A string that must be one of names (NULL-terminated); *out is its index.
 */
int	confread_enum(struct confread *cr, const struct config_setting_t *group,
	    const char *key, bool required, const char *const *names, int *out);
/* A group (for nested blocks such as expect); *out is borrowed. */
int	confread_group(struct confread *cr, const struct config_setting_t *group,
	    const char *key, bool required,
	    const struct config_setting_t **out);
/* A PCRE2 regex, compiled; *out is owned by the caller (pattern_free). */
int	confread_pattern(struct confread *cr,
	    const struct config_setting_t *group, const char *key,
	    bool required, struct pattern **out);

/*
 * Vets the secret file open on fd (the way sshd's StrictModes vets
 * authorized_keys): not a regular file, or writable by group or others
 * (who could swap a webhook URL for their own and receive every alert),
 * is refused: -1 with why.  Readable by every user: 1 with why (the
 * caller warns; systemd's DynamicUser needs LoadCredential= to avoid it).
 * Else 0.
 */
int	confread_secret_mode(int fd, char *why, size_t whylen);
/*
 * Vets the private key a TLS client config names (group's client_key, or
 * client_cert when that holds the key too) with confread_secret_mode():
 * an error recorded at the key when refused, a warning when every user
 * may read it.  A file that cannot be opened is left to whoever loads it
 * to report.  Returns -1 when refused (do not load it), else 0.
 */
int	confread_key_file(struct confread *cr,
	    const struct config_setting_t *group);

/* Returns the Levenshtein distance between a and b, capped at 255. */
int	confread_distance(const char *a, const char *b);
/*
 * Returns the name in names (NULL-terminated) closest to word when it is
 * close enough to be a typo of it (an adjacent swap counts as one edit; at
 * most 1 + len/8 edits), else NULL.  Borrowed from names.
 */
const char *confread_suggest(const char *word, const char *const *names);
/* Returns "an integer", "a string", "a group"...: the type of s, for errors. */
const char *confread_type_name(const struct config_setting_t *s);

#endif /* SONDE_CONFREAD_H */
