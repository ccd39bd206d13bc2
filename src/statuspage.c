/* SPDX-License-Identifier: ISC */
/*
 * statuspage: the HTML status page.  This module owns the page's markup,
 * style and sparkline drawing; it reads the same view as expo.c and keeps
 * nothing.  Every string from the config or the network is escaped
 * (buf_html_escape): a check name or a server's reply cannot inject
 * markup.  No script, so the page works with JavaScript off and a strict
 * Content-Security-Policy.
 */
#include "autoconf.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "expo.h"
#include "history.h"
#include "probe.h"
#include "result.h"
#include "slo.h"
#include "statuspage.h"

#define SPARK_W		120
#define SPARK_H		28
#define SPARK_PAD	3

static const char statuspage_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
    "<style>\n"
    ":root{color-scheme:light dark;--ok:#1a7f37;--bad:#cf222e;"
    "--unk:#8c959f;--warn:#bf8700;--line:#d0d7de;--mut:#57606a}\n"
    "@media (prefers-color-scheme:dark){:root{--line:#30363d;--mut:#8b949e}}\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:12px;"
    "max-width:60em}\n"
    "h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}\n"
    ".meta{color:var(--mut);font-size:12px}\n"
    ".sum{margin:8px 0;font-weight:600}\n"
    "ul{list-style:none;margin:0;padding:0}\n"
    "li.check{display:grid;grid-template-columns:14px 1fr auto;gap:2px 8px;"
    "padding:8px 0;border-bottom:1px solid var(--line)}\n"
    ".dot{width:12px;height:12px;border-radius:50%;margin-top:4px}\n"
    ".ok .dot{background:var(--ok)}.failing .dot{background:var(--bad)}"
    ".unknown .dot{background:var(--unk)}\n"
    ".name{font-weight:600;word-break:break-all}"
    ".tgt{color:var(--mut);font-size:12px;word-break:break-all}\n"
    ".since{color:var(--mut);font-size:12px}\n"
    ".msg{grid-column:2/4;font-size:13px}.failing .msg{color:var(--bad)}\n"
    ".reason{font-family:ui-monospace,monospace;font-size:12px}\n"
    "svg.spark{grid-column:3;grid-row:1/3}\n"
    "svg.spark polyline{fill:none;stroke:var(--mut);stroke-width:1.2}\n"
    "svg.spark circle{fill:var(--bad)}\n"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;"
    "padding:4px 6px;border-bottom:1px solid var(--line);font-size:13px}\n"
    ".firing{color:var(--bad)}.pending{color:var(--warn)}"
    ".resolved{color:var(--ok)}\nmeter{width:8em}\n"
    "</style>\n";

/* Returns the check's state word, also its CSS class. */
static const char *
statuspage_state(const struct history_entry *e)
{
	if (e == NULL || !e->seen)
		return "unknown";
	return e->failing ? "failing" : "ok";
}

/* The sparkline: durations scaled to the largest, failures as dots. */
static void
statuspage_spark(struct buf *b, const struct history_entry *e)
{
	uint32_t	us[HISTORY_RING], max = 1;
	bool		failed[HISTORY_RING];
	size_t		i, n = 0, nfailed = 0;
	double		x, y;

	if (e != NULL)
		n = history_ring(e, us, failed);
	for (i = 0; i < n; i++) {
		if (us[i] > max)
			max = us[i];
		nfailed += failed[i];
	}
	buf_printf(b, "<svg class=\"spark\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" role=\"img\" data-points=\"%zu\" "
	    "data-failures=\"%zu\"><title>last %zu durations, %zu failed"
	    "</title><polyline points=\"", SPARK_W, SPARK_H, SPARK_W, SPARK_H,
	    n, nfailed, n, nfailed);
	for (i = 0; i < n; i++) {
		x = n < 2 ? SPARK_W / 2.0 : SPARK_PAD + (double)i *
		    (SPARK_W - 2 * SPARK_PAD) / (double)(n - 1);
		y = SPARK_H - SPARK_PAD - (double)us[i] / max *
		    (SPARK_H - 2 * SPARK_PAD);
		buf_printf(b, "%s%.1f,%.1f", i > 0 ? " " : "", x, y);
	}
	buf_puts(b, "\"/>");
	for (i = 0; i < n; i++) {
		if (!failed[i])
			continue;
		x = n < 2 ? SPARK_W / 2.0 : SPARK_PAD + (double)i *
		    (SPARK_W - 2 * SPARK_PAD) / (double)(n - 1);
		y = SPARK_H - SPARK_PAD - (double)us[i] / max *
		    (SPARK_H - 2 * SPARK_PAD);
		buf_printf(b, "<circle class=\"fail\" cx=\"%.1f\" cy=\"%.1f\" "
		    "r=\"2.5\"/>", x, y);
	}
	buf_puts(b, "</svg>");
}

/* The line under the name: last reason and message, or the duration. */
static void
statuspage_last(struct buf *b, const struct history_entry *e, int64_t now)
{
	struct probe_result	last;
	char			t[32];

	buf_puts(b, "<div class=\"msg\">");
	if (e == NULL || !e->seen) {
		buf_puts(b, "no result yet</div>");
		return;
	}
	history_last(e, &last);
	if (e->failing) {
		buf_printf(b, "<span class=\"reason\">%s</span> ",
		    probe_status_str(last.status));
		buf_html_escape(b, last.message);
	} else
		buf_printf(b, "ok in %s", result_format_us(last.duration,
		    t, sizeof(t)));
	buf_printf(b, " <span class=\"since\">&middot; %s for %s</span></div>",
	    e->failing ? "failing" : "ok",
	    result_format_us(now - e->since, t, sizeof(t)));
}

static void
statuspage_check(struct buf *b, const struct check_conf *c,
    const struct history_entry *e, int64_t now)
{
	const char	*state = statuspage_state(e);

	buf_printf(b, "<li class=\"check %s\" data-state=\"%s\" "
	    "data-check=\"", state, state);
	buf_html_escape(b, c->name);
	buf_puts(b, "\"><span class=\"dot\" title=\"");
	buf_puts(b, state);
	buf_puts(b, "\"></span><div><div class=\"name\">");
	buf_html_escape(b, c->name);
	buf_printf(b, "</div><div class=\"tgt\">%s ", c->ops->kind);
	buf_html_escape(b, c->target != NULL ? c->target : "");
	buf_puts(b, "</div></div>");
	statuspage_spark(b, e);
	statuspage_last(b, e, now);
	buf_puts(b, "</li>\n");
}

struct statuspage_alerts {
	struct buf	*b;
	int64_t		 now;
	size_t		 n;
};

static void
statuspage_alert(const struct expo_alert *a, void *arg)
{
	struct statuspage_alerts	*sa = arg;
	char				 t[32];

	/* A person looks here for what is wrong: quiet alerts are noise. */
	if (strcmp(a->state, "ok") == 0)
		return;
	if (sa->n++ == 0)
		buf_puts(sa->b, "<table id=\"alerts\"><tr><th>rule</th>"
		    "<th>check</th><th>state</th><th>since</th></tr>\n");
	buf_puts(sa->b, "<tr class=\"alert\"><td>");
	buf_html_escape(sa->b, a->rule);
	buf_puts(sa->b, "</td><td>");
	buf_html_escape(sa->b, a->check);
	buf_puts(sa->b, "</td><td class=\"");
	buf_html_escape(sa->b, a->state);
	buf_puts(sa->b, "\">");
	buf_html_escape(sa->b, a->state);
	buf_printf(sa->b, "</td><td>%s ago</td></tr>\n",
	    result_format_us(sa->now - a->since, t, sizeof(t)));
}

static void
statuspage_alerts(struct buf *b, const struct expo_view *v)
{
	struct statuspage_alerts	sa = { b, v->now, 0 };

	buf_puts(b, "<h2>Alerts</h2>\n");
	if (v->alerts != NULL)
		v->alerts(v->alerts_src, statuspage_alert, &sa);
	if (sa.n > 0)
		buf_puts(b, "</table>\n");
	else
		buf_puts(b, "<p id=\"alerts\" class=\"meta\">no alert pending "
		    "or firing</p>\n");
}

/* One SLO check's row: availability, objective, budget bar. */
static void
statuspage_budget(struct buf *b, const struct slo_figures *f)
{
	double	left = isnan(f->budget_left) ? 1 : f->budget_left;

	buf_puts(b, "<tr class=\"budget\" data-check=\"");
	buf_html_escape(b, f->check);
	buf_puts(b, "\"><td>");
	buf_html_escape(b, f->check);
	if (isnan(f->availability))
		buf_puts(b, "</td><td>no results yet");
	else
		buf_printf(b, "</td><td>%.3f%%", f->availability * 100);
	buf_printf(b, " of %g%% / %lldd</td><td><meter min=\"0\" max=\"1\" "
	    "low=\"0.25\" high=\"0.5\" optimum=\"1\" value=\"%.4f\">"
	    "</meter> <span class=\"%s\">", f->conf.objective,
	    (long long)(f->conf.window_ms / 86400000), left < 0 ? 0 : left,
	    left <= 0 ? "firing" : left < 0.25 ? "pending" : "resolved");
	if (left <= 0)
		buf_puts(b, "spent</span></td></tr>\n");
	else
		buf_printf(b, "%.1f%% left</span></td></tr>\n", left * 100);
}

/* The error budgets of the SLO checks, when there are any. */
static void
statuspage_budgets(struct buf *b, const struct expo_view *v)
{
	struct slo_figures	f;
	size_t			i, n;

	n = v->slo != NULL ? slo_table_count(v->slo) : 0;
	if (n == 0)
		return;
	buf_puts(b, "<h2>Error budgets</h2>\n<table id=\"budgets\"><tr>"
	    "<th>check</th><th>availability</th><th>budget</th></tr>\n");
	for (i = 0; i < n; i++) {
		slo_table_figures(v->slo, i, v->now, &f);
		statuspage_budget(b, &f);
	}
	buf_puts(b, "</table>\n");
}

static void
statuspage_summary(struct buf *b, const struct expo_view *v)
{
	const struct history_entry	*e;
	size_t				 i, failing = 0, unknown = 0;
	char				 stamp[40];

	for (i = 0; i < v->cfg->nchecks; i++) {
		e = history_find(v->history, v->cfg->checks[i].name);
		if (e == NULL || !e->seen)
			unknown++;
		else if (e->failing)
			failing++;
	}
	result_rfc3339(v->now, stamp, sizeof(stamp));
	buf_puts(b, "<title>");
	if (failing > 0)
		buf_printf(b, "(%zu failing) ", failing);
	buf_puts(b, "sonde ");
	buf_html_escape(b, v->agent);
	buf_printf(b, "</title>\n<meta http-equiv=\"refresh\" content=\"%d\">"
	    "\n</head><body>\n<h1>sonde ", STATUSPAGE_REFRESH_S);
	buf_html_escape(b, v->agent);
	buf_printf(b, "</h1><div class=\"meta\">%s &middot; sonde %s%s</div>\n"
	    "<div class=\"sum\" id=\"summary\" data-failing=\"%zu\">%zu checks:"
	    " %zu ok, %zu failing, %zu waiting for a first result</div>\n",
	    stamp, PACKAGE_VERSION, v->reload_ok ? "" :
	    " &middot; <span class=\"firing\">last reload failed, running the"
	    " previous configuration</span>", failing, v->cfg->nchecks,
	    v->cfg->nchecks - failing - unknown, failing, unknown);
}

/* Failing checks first, then those without a result, then the ok ones. */
void
statuspage_html(struct buf *b, const struct expo_view *v)
{
	static const char *const	 order[] = { "failing", "unknown", "ok" };
	const struct history_entry	*e;
	size_t				 i, k;

	buf_puts(b, statuspage_head);
	statuspage_summary(b, v);
	statuspage_alerts(b, v);
	statuspage_budgets(b, v);
	buf_puts(b, "<h2>Checks</h2>\n<ul id=\"checks\">\n");
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (i = 0; i < v->cfg->nchecks; i++) {
			e = history_find(v->history, v->cfg->checks[i].name);
			if (strcmp(statuspage_state(e), order[k]) == 0)
				statuspage_check(b, &v->cfg->checks[i], e,
				    v->now);
		}
	}
	buf_puts(b, "</ul>\n</body></html>\n");
}
