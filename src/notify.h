/*
 * notify: the hand-off from alerts to channels.
 *
 * An alert transition that people should hear about becomes a struct
 * notify_item: a fixed-size, self-contained record (no borrowed pointers),
 * so a durable outbox can later copy it to disk as it is.  A channel gets
 * one item, or several at once when they are folded into a digest.  The
 * channels issue plugs its outbox in as another struct notify_sink; today
 * the only channel is "log", which writes each notification as one logfmt
 * line through log_event() (stderr or syslog).
 */
#ifndef SONDE_NOTIFY_H
#define SONDE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#define NOTIFY_NAME_MAX		65	/* rule and check names, with NUL */
#define NOTIFY_TEXT_MAX		256
#define NOTIFY_LABELS_MAX	8	/* a check's first labels */
#define NOTIFY_LABEL_KEY_MAX	48	/* with NUL; longer ones cut */
#define NOTIFY_LABEL_VALUE_MAX	128
#define NOTIFY_PHASE_MAX	16

/* One of the check's labels, cut to fit (never inside a UTF-8 character). */
struct notify_label {
	char		 key[NOTIFY_LABEL_KEY_MAX];
	char		 value[NOTIFY_LABEL_VALUE_MAX];
};

enum notify_kind {
	NOTIFY_FIRING,
	NOTIFY_RESOLVED,
	NOTIFY_REPEAT,
	NOTIFY_FLAPPING,
	NOTIFY_STABLE,		/* flapping ended; state says where */
	NOTIFY_KIND_LAST
};

struct notify_item {
	enum notify_kind kind;
	char		 agent[NOTIFY_TEXT_MAX];
	char		 rule[NOTIFY_NAME_MAX];
	char		 check[NOTIFY_NAME_MAX];
	char		 target[NOTIFY_TEXT_MAX];
	char		 severity[16];
	char		 state[16];	/* the alert's state now */
	char		 reason[32];	/* of the result behind it */
	char		 message[NOTIFY_TEXT_MAX];
	char		 note[NOTIFY_TEXT_MAX];	/* "held by silence", ... */
	char		 dependents[NOTIFY_TEXT_MAX]; /* held behind this */
	int64_t		 at;		/* wall µs */
	int64_t		 since;		/* wall µs the state began */
	unsigned int	 bad;		/* violations of the last */
	unsigned int	 of;		/* results */
	double		 flap_percent;
	/* slo_burn rules: the budget and the rates behind the alert */
	int		 has_slo;
	double		 budget_left;	/* fraction of the window's budget */
	int64_t		 exhausted_in;	/* µs at the current rate; -1: never */
	double		 burn_long;	/* burn rate over the long window */
	double		 burn_short;
	/*
	 * The phase the result behind it failed in ("connect"; "": none, as
	 * for ok or internal) and the µs the probe spent in it, from
	 * probe_failing_phase().
	 */
	char		 phase[NOTIFY_PHASE_MAX];
	int64_t		 phase_us;
	/* The check's labels in config order; the first NOTIFY_LABELS_MAX. */
	unsigned int	 nlabels;
	struct notify_label labels[NOTIFY_LABELS_MAX];
};

/*
 * Where notifications go: send() gets the channel name and n >= 1 items
 * (n > 1: one digest message), all borrowed for the call.
 */
struct notify_sink {
	void	(*send)(void *arg, const char *channel,
		    const struct notify_item *items, size_t n);
	void	*arg;
};

/* Returns "firing", "resolved"... */
const char	*notify_kind_str(enum notify_kind kind);
/*
 * Copies src into dst (size bytes), cut when longer at a UTF-8 character
 * boundary.  Returns dst.
 */
char		*notify_copy(char *dst, size_t size, const char *src);
/*
 * Writes it's labels as "k=v, k=v" into buf (always terminated, cut at a
 * character boundary).  Returns buf.
 */
const char	*notify_labels_join(const struct notify_item *it, char *buf,
		    size_t len);
/*
 * Writes the failing phase as people read it, "connect, 3.00s", into buf
 * ("" when the item has none).  Returns buf.
 */
const char	*notify_phase_text(const struct notify_item *it, char *buf,
		    size_t len);
/* The log channel: one logfmt line per item, or one per digest. */
void		 notify_log(const struct notify_item *items, size_t n);
/* A sink that sends every channel's items to notify_log(). */
extern const struct notify_sink notify_log_sink;

#endif /* SONDE_NOTIFY_H */
