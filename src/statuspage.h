/*
 * statuspage: the page a person opens at GET / on agent.listen.  One
 * self-contained HTML document (inline CSS and SVG, no script, no external
 * asset) that reloads itself every STATUSPAGE_REFRESH_S seconds: every
 * check with its state colour, last reason and message, a sparkline of
 * its recent durations with failures marked, and the alerts with their
 * state and since when.  Laid out for a phone as well as a desk.
 *
 * Elements carry stable classes and data- attributes (data-check,
 * data-state, data-points, data-failures) so tests and scripts can read
 * the page without parsing prose.
 */
#ifndef SONDE_STATUSPAGE_H
#define SONDE_STATUSPAGE_H

#define STATUSPAGE_REFRESH_S	10

struct buf;
struct expo_view;

/* Appends the page for v (borrowed) to b. */
void	statuspage_html(struct buf *b, const struct expo_view *v);

#endif /* SONDE_STATUSPAGE_H */
