/* SPDX-License-Identifier: ISC */
/*
 * syslog: the syslog channel, local (syslog(3)) or remote (RFC 5424
 * over UDP, RFC 5426, or TCP with octet-counting framing, RFC 6587
 * section 3.4.1).
 *
 * It owns the syslog form of a notification: the priority (facility from
 * the config; severity crit for a critical alert firing, warning for a
 * warning, info otherwise, notice for resolved and stable), and for the
 * remote form the RFC 5424 header (APP-NAME "sonde", MSGID the kind:
 * "firing", "resolved" ...) and one structured-data element
 * [sonde@32473 ...] carrying the alert's fields, with '"', '\' and ']'
 * escaped as section 6.3.3 requires.  32473 is the enterprise number
 * reserved for documentation (RFC 5612): sonde has none of its own.
 *
 * Delivery is as good as the transport: syslog(3) and UDP are
 * fire-and-forget (a datagram handed to the kernel counts as delivered);
 * TCP counts as delivered once the whole frame is written.  remote must
 * be an IP address and port ("192.0.2.7:514", "[2001:db8::7]:6514"): a
 * name would need a lookup that the channel cannot redo on every send.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libconfig.h>

#include "channel.h"
#include "confread.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "xmalloc.h"

#define SYSLOG_MSG_MAX	4096

struct syslog_conf {
	int			 facility;	/* LOG_DAEMON ... */
	int			 tcp;		/* remote over TCP */
	struct sockaddr_storage	 ss;		/* remote; ss_family 0: local */
	socklen_t		 sslen;
	int64_t			 timeout_ms;
};

struct syslog_send {
	struct loop		*loop;
	int			 fd;
	char			*frame;
	size_t			 len, off;
	struct loop_timer	 timer;
	channel_done_cb		 cb;
	void			*arg;
	enum channel_outcome	 outcome;	/* local/UDP: decided at once */
	char			 detail[CHANNEL_DETAIL_MAX];
};

static const char *const syslog_keys[] = {
	"facility", "remote", "transport", "timeout", NULL
};
static const char *const transports[] = { "udp", "tcp", NULL };

static int
syslog_parse_remote(const char *s, struct syslog_conf *sc)
{
	struct sockaddr_in	*in = (struct sockaddr_in *)&sc->ss;
	struct sockaddr_in6	*in6 = (struct sockaddr_in6 *)&sc->ss;
	char			 host[64], *end;
	const char		*colon;
	long			 port;

	colon = s[0] == '[' ? strstr(s, "]:") : strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	if (s[0] == '[')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s - 1),
		    s + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	colon += s[0] == '[' ? 2 : 1;
	port = strtol(colon, &end, 10);
	if (*colon == '\0' || *end != '\0' || port < 1 || port > 65535)
		return -1;
	memset(&sc->ss, 0, sizeof(sc->ss));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		sc->sslen = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		sc->sslen = sizeof(*in6);
	} else
		return -1;
	return 0;
}

static void
syslog_conf_parse(struct confread *cr, const config_setting_t *g,
    struct channel_conf *c)
{
	struct syslog_conf	*sc;
	char			*s = NULL;

	sc = xcalloc(1, sizeof(*sc));
	sc->facility = LOG_DAEMON;
	sc->timeout_ms = CHANNEL_TIMEOUT_MS;
	if (confread_string(cr, g, "facility", false, &s) == 1 &&
	    (sc->facility = log_facility_from_name(s)) == -1)
		confread_error(cr, config_setting_get_member(g, "facility"),
		    "channel '%s': unknown facility \"%s\" (daemon, user, "
		    "local0 ... local7)", c->name, s);
	free(s);
	s = NULL;
	if (confread_string(cr, g, "remote", false, &s) == 1 &&
	    syslog_parse_remote(s, sc) == -1)
		confread_error(cr, config_setting_get_member(g, "remote"),
		    "channel '%s': remote \"%s\" must be an IP address and "
		    "port, e.g. \"192.0.2.7:514\" or \"[2001:db8::7]:514\"",
		    c->name, s);
	free(s);
	confread_enum(cr, g, "transport", false, transports, &sc->tcp);
	confread_duration(cr, g, "timeout", false, 100, 300000,
	    &sc->timeout_ms);
	c->kind_conf = sc;
}

static void
syslog_conf_free(void *p)
{
	free(p);
}

/* Room kept at the end of an RFC 5424 message: the SD's ']' and the NUL. */
#define SYSLOG_TAIL	2

/* Length of the UTF-8 character at s (RFC 3629 section 4), 0 if none. */
static size_t
syslog_utf8_len(const unsigned char *s)
{
	size_t		n, i;
	uint32_t	cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	cp = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF are not UTF-8. */
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * Appends SD-PARAM ' name="value"' at off.  RFC 5424 section 6.3.3:
 * PARAM-VALUE is UTF-8 with '"', '\' and ']' escaped.  Values come from
 * config and from the network, so a byte that is not UTF-8 becomes
 * U+FFFD; a value that does not fit is cut at a character boundary, and
 * the closing '"' and the SD's ']' always fit: a long alert yields a
 * shorter message, never an invalid one.  A parameter with no room at
 * all is left out.  Returns the new offset.
 */
static size_t
syslog_param(char *buf, size_t off, size_t buflen, const char *name,
    const char *value)
{
	const unsigned char	*v = (const unsigned char *)value;
	const char		*src;
	char			 esc[2] = { '\\', 0 };
	size_t			 lim, n, adv;

	if (buflen < SYSLOG_TAIL || off + strlen(name) + 4 > buflen -
	    SYSLOG_TAIL)
		return off;
	lim = buflen - SYSLOG_TAIL - 1;		/* the closing '"' */
	off += (size_t)snprintf(buf + off, buflen - off, " %s=\"", name);
	for (; *v != '\0'; v += adv) {
		adv = 1;
		if (*v == '"' || *v == '\\' || *v == ']') {
			esc[1] = (char)*v;
			src = esc;
			n = 2;
		} else if ((n = syslog_utf8_len(v)) > 0) {
			src = (const char *)v;
			adv = n;
		} else {
			src = "\xef\xbf\xbd";	/* U+FFFD */
			n = 3;
		}
		if (off + n > lim)
			break;
		memcpy(buf + off, src, n);
		off += n;
	}
	buf[off++] = '"';
	buf[off] = '\0';
	return off;
}

static int
syslog_severity(const struct notify_item *it)
{
	if (it->kind == NOTIFY_RESOLVED || it->kind == NOTIFY_STABLE)
		return LOG_NOTICE;
	if (strcmp(it->severity, "critical") == 0)
		return LOG_CRIT;
	if (strcmp(it->severity, "warning") == 0)
		return LOG_WARNING;
	return LOG_INFO;
}

/*
 * "2026-11-27T18:00:00.123456Z" from wall µs (RFC 5424 TIMESTAMP), or
 * the NILVALUE "-" (section 6.2.3) for a time with no such form: before
 * 1970 or past 9999, from a broken clock or a corrupt outbox record.
 */
static void
syslog_time(int64_t us, char *buf, size_t buflen)
{
	time_t		t = (time_t)(us / 1000000);
	struct tm	tm;

	if (us < 0 || gmtime_r(&t, &tm) == NULL ||
	    tm.tm_year > 9999 - 1900) {
		snprintf(buf, buflen, "-");
		return;
	}
	snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(us % 1000000));
}

/*
 * One message is one line: a newline from a target's words would start a
 * forged entry in a receiver that splits on it (syslog(3), UDP, LF
 * framing).  Returns len.
 */
static size_t
syslog_one_line(char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	return len;
}

size_t
channel_syslog_format(const struct channel_msg *msg, int facility,
    int rfc5424, char *buf, size_t buflen)
{
	const struct notify_item	*it = &msg->items[0];
	char				 text[2 * NOTIFY_TEXT_MAX + 64];
	char				 ts[96], host[256], id[160], f[32];
	char				 lb[NOTIFY_TEXT_MAX];
	size_t				 o;
	int				 w;

	channel_summary(msg, text, sizeof(text));
	if (!rfc5424) {
		w = snprintf(buf, buflen, "%s%s%s", text, msg->note[0] != '\0' ?
		    " - " : "", msg->note);
		return syslog_one_line(buf, w < 0 ? 0 : (size_t)w < buflen ?
		    (size_t)w : buflen - 1);
	}
	syslog_time(it->at, ts, sizeof(ts));
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "-");
	host[strcspn(host, " ")] = '\0';
	w = snprintf(buf, buflen, "<%d>1 %s %.255s sonde %ld %s [sonde@32473",
	    (facility & LOG_FACMASK) | syslog_severity(it), ts, host,
	    (long)getpid(), msg->test ? "test" : notify_kind_str(it->kind));
	o = w < 0 ? 0 : (size_t)w;
	snprintf(id, sizeof(id), "%s/%s", it->rule, it->check);
	snprintf(f, sizeof(f), "%u/%u", it->bad, it->of);
	o = syslog_param(buf, o, buflen, "alert", id);
	o = syslog_param(buf, o, buflen, "state", it->state);
	o = syslog_param(buf, o, buflen, "severity", it->severity);
	o = syslog_param(buf, o, buflen, "reason", it->reason);
	o = syslog_param(buf, o, buflen, "target", it->target);
	o = syslog_param(buf, o, buflen, "failed", f);
	o = syslog_param(buf, o, buflen, "agent", it->agent);
	if (it->phase[0] != '\0') {
		o = syslog_param(buf, o, buflen, "phase", it->phase);
		snprintf(f, sizeof(f), "%.3f", (double)it->phase_us / 1e6);
		o = syslog_param(buf, o, buflen, "phase_seconds", f);
	}
	if (it->nlabels > 0)
		o = syslog_param(buf, o, buflen, "labels",
		    notify_labels_join(it, lb, sizeof(lb)));
	if (msg->note[0] != '\0')
		o = syslog_param(buf, o, buflen, "delay", msg->note);
	if (o < buflen) {
		w = snprintf(buf + o, buflen - o, "] %s", text);
		o += w > 0 ? (size_t)w : 0;
	}
	return syslog_one_line(buf, o < buflen ? o : buflen - 1);
}

static void
syslog_send_free(struct syslog_send *s)
{
	if (s->fd != -1) {
		loop_fd_del(s->loop, s->fd);
		close(s->fd);
	}
	loop_timer_cancel(s->loop, &s->timer);
	free(s->frame);
	free(s);
}

static void
syslog_finish(struct syslog_send *s, enum channel_outcome o,
    const char *detail)
{
	channel_done_cb	 cb = s->cb;
	void		*arg = s->arg;
	char		 d[CHANNEL_DETAIL_MAX];

	snprintf(d, sizeof(d), "%s", detail);
	syslog_send_free(s);
	cb(arg, o, 0, d);
}

/* Local and UDP: the outcome is known at once but told from the loop. */
static void
syslog_deferred(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct syslog_send	*s = arg;

	(void)loop;
	(void)t;
	syslog_finish(s, s->outcome, s->detail);
}

static void
syslog_tcp_timeout(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct syslog_send	*s = arg;

	(void)loop;
	(void)t;
	syslog_finish(s, CHANNEL_RETRY, s->off == 0 ? "connect timeout" :
	    "write timeout");
}

static void
syslog_tcp_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct syslog_send	*s = arg;
	char			 d[CHANNEL_DETAIL_MAX];
	socklen_t		 len = sizeof(int);
	ssize_t			 n;
	int			 soerr = 0;

	(void)loop;
	(void)events;
	if (s->off == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
	    &len) == -1 || soerr != 0)) {
		snprintf(d, sizeof(d), "connect: %s", strerror(soerr));
		syslog_finish(s, CHANNEL_RETRY, d);
		return;
	}
	n = send(fd, s->frame + s->off, s->len - s->off, MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		snprintf(d, sizeof(d), "write: %s", strerror(errno));
		syslog_finish(s, CHANNEL_RETRY, d);
		return;
	}
	s->off += (size_t)n;
	if (s->off == s->len)
		syslog_finish(s, CHANNEL_DELIVERED, "written");
}

/* UDP: one datagram (RFC 5426); TCP: connect, then the frame. */
static int
syslog_remote(struct syslog_send *s, const struct syslog_conf *sc,
    char *err, size_t errlen)
{
	int	type = sc->tcp ? SOCK_STREAM : SOCK_DGRAM;

	s->fd = socket(sc->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (s->fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (!sc->tcp) {
		if (sendto(s->fd, s->frame, s->len, 0,
		    (const struct sockaddr *)&sc->ss, sc->sslen) == -1) {
			s->outcome = CHANNEL_RETRY;
			snprintf(s->detail, sizeof(s->detail), "send: %s",
			    strerror(errno));
		}
		close(s->fd);
		s->fd = -1;
		return 0;
	}
	if (connect(s->fd, (const struct sockaddr *)&sc->ss, sc->sslen) ==
	    -1 && errno != EINPROGRESS) {
		s->outcome = CHANNEL_RETRY;
		snprintf(s->detail, sizeof(s->detail), "connect: %s",
		    strerror(errno));
		close(s->fd);
		s->fd = -1;
		return 0;
	}
	if (loop_fd_add(s->loop, s->fd, LOOP_WRITE, syslog_tcp_io, s) == -1) {
		snprintf(err, errlen, "watch: %s", strerror(errno));
		return -1;
	}
	loop_timer_init(&s->timer, syslog_tcp_timeout, s);
	loop_timer_after(s->loop, &s->timer, sc->timeout_ms * 1000);
	return 1;
}

static void *
syslog_send(struct loop *loop, const struct channel_conf *c,
    const struct channel_msg *msg, channel_done_cb cb, void *arg, char *err,
    size_t errlen)
{
	const struct syslog_conf	*sc = c->kind_conf;
	struct syslog_send		*s;
	char				 text[SYSLOG_MSG_MAX];
	size_t				 n;
	int				 rc = 0;

	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->fd = -1;
	s->cb = cb;
	s->arg = arg;
	s->outcome = CHANNEL_DELIVERED;
	snprintf(s->detail, sizeof(s->detail), "sent");
	loop_timer_init(&s->timer, syslog_deferred, s);
	n = channel_syslog_format(msg, sc->facility, sc->ss.ss_family != 0,
	    text, sizeof(text));
	if (sc->ss.ss_family == 0)
		syslog((sc->facility & LOG_FACMASK) |
		    syslog_severity(&msg->items[0]), "%s", text);
	else {
		/* RFC 6587 section 3.4.1: MSG-LEN SP SYSLOG-MSG */
		s->frame = sc->tcp ? xasprintf("%zu %s", n, text) :
		    xstrdup(text);
		s->len = strlen(s->frame);
		if ((rc = syslog_remote(s, sc, err, errlen)) == -1) {
			syslog_send_free(s);
			return NULL;
		}
	}
	if (rc == 0)
		loop_timer_after(loop, &s->timer, 0);
	return s;
}

static void
syslog_cancel(void *h)
{
	if (h != NULL)
		syslog_send_free(h);
}

const struct channel_ops channel_syslog_ops = {
	.type = "syslog",
	.conf_keys = syslog_keys,
	.conf_parse = syslog_conf_parse,
	.conf_free = syslog_conf_free,
	.send = syslog_send,
	.cancel = syslog_cancel,
	.per_alert = 1,
};
