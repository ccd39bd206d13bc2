/* SPDX-License-Identifier: ISC */
/*
 * tls: the TLS check kind.  Resolve the host, connect, optionally upgrade
 * a plaintext protocol with STARTTLS (SMTP, IMAP, POP3, FTP, PostgreSQL),
 * run a TLS handshake on the non-blocking socket under the loop, and say
 * precisely what is wrong with the endpoint's TLS: expiry (of the leaf
 * and of the earliest certificate of the chain), trust, host name,
 * protocol version, OCSP staple.
 *
 * This module owns the kind's config (struct tls_conf, which holds a
 * reference to a shared SSL_CTX from tlsverify: the CA store is loaded
 * once per distinct configuration, at config load, never per probe) and,
 * for each run, one struct in run->priv: the connection (a struct netconn:
 * the socket and the pending resolver query), the STARTTLS dialogue
 * buffer, the SSL object and the record of verify errors.  One
 * idempotent tls_cleanup() releases all of it however the run ends.
 * The words about certificates are tlsverify's, so the http check says
 * the same things.
 *
 * Verification: the context uses SSL_VERIFY_NONE with tlsverify's
 * recording callback.  OpenSSL still verifies the chain and the host name
 * (SSL_set1_host) and records every fault, but the handshake completes, so
 * an expired or self-signed certificate can still be read and reported
 * with its dates.  No application data is ever sent over the connection
 * (verified or not): after the handshake the check sends close_notify and
 * closes with RST, for the TIME_WAIT reason given in tcp.c.
 *
 * STARTTLS (RFC 3207 SMTP, RFC 9051 section 6.2.1 IMAP, RFC 2595 section
 * 4 POP3, RFC 4217 FTP, PostgreSQL's SSLRequest): the dialogue reads
 * whole lines, and after the server's "go ahead" reply any byte already
 * received is a failure, never fed to the TLS layer: plaintext injected
 * before the switch must not be taken as protected (CVE-2011-0411).
 *
 * The connection (the host key, resolve-or-literal, the connect, its
 * failures, the close with RST) is netconn's: the address policy is the
 * first address the resolver returns, and no other (see netconn.c).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libconfig.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "confread.h"
#include "log.h"
#include "loop.h"
#include "netconn.h"
#include "probe.h"
#include "resolver.h"
#include "tcp.h"
#include "tls.h"
#include "tlsverify.h"
#include "xmalloc.h"

#define TLS_LINE_BUF		4096	/* STARTTLS replies */
#define TLS_QUOTE_MAX		64	/* reply bytes quoted in a message */
#define TLS_QUOTE_BUF		PROBE_QUOTE_BUF(TLS_QUOTE_MAX)

enum tls_starttls {
	TLS_STARTTLS_NONE,
	TLS_STARTTLS_SMTP,
	TLS_STARTTLS_IMAP,
	TLS_STARTTLS_POP3,
	TLS_STARTTLS_FTP,
	TLS_STARTTLS_POSTGRES,
	TLS_STARTTLS_LAST
};

static const char *const tls_starttls_names[] = {
	"none", "smtp", "imap", "pop3", "ftp", "postgres", NULL
};
static const uint16_t tls_starttls_ports[] = {
	443, 25, 143, 110, 21, 5432
};
_Static_assert(sizeof(tls_starttls_ports) / sizeof(tls_starttls_ports[0]) ==
    TLS_STARTTLS_LAST, "tls_starttls_ports out of step with the enum");

static const char *const tls_version_names[] = {
	"1.0", "1.1", "1.2", "1.3", NULL
};

/* One per check; the SSL_CTX is shared (tlsverify's cache). */
struct tls_conf {
	SSL_CTX			*ctx;
	char			*server_name;	/* SNI, name checked */
	int			 min_version;	/* offered; 0: any */
	int			 max_version;
	int			 expect_version; /* 0: no expectation */
	int			 min_days_left;	/* 0: none */
	bool			 verify;
	bool			 hostname;
	bool			 ocsp_stapled;
	bool			 sni;		/* server_name: DNS */
	uint8_t			 starttls;	/* enum tls_starttls */
	struct netconn_conf	 net;		/* host, port */
};

/* TLS_CONNECTING: netconn resolves and connects. */
enum tls_state {
	TLS_CONNECTING,
	TLS_STARTTLS,
	TLS_HANDSHAKE,
	TLS_STATE_LAST
};

static const char *const tls_state_names[] = {
	[TLS_CONNECTING] = "connecting",
	[TLS_STARTTLS] = "starttls",
	[TLS_HANDSHAKE] = "handshake",
};
_Static_assert(sizeof(tls_state_names) / sizeof(tls_state_names[0]) ==
    TLS_STATE_LAST, "tls_state_names out of step with enum tls_state");

/* What a STARTTLS step decided about one reply line. */
enum tls_step {
	TLS_STEP_MORE,		/* need the next line */
	TLS_STEP_SENT,		/* sent the next command */
	TLS_STEP_SWITCH,	/* the server said go ahead */
	TLS_STEP_FAIL		/* result set */
};

/* One run's state: run->priv. */
struct tls_run {
	struct probe_run		*run;
	const struct tls_conf		*conf;
	struct netconn			 net;
	SSL				*ssl;
	enum tls_state			 state;
	int				 step;	/* STARTTLS step */
	bool				 offered; /* SMTP STARTTLS */
	int64_t				 mark;	/* phase start, µs */
	size_t				 len;	/* bytes in buf */
	char				*buf;	/* STARTTLS replies */
	struct tlsverify_record		 rec;
};

static const char *const tls_conf_keys[] = {
	"host", "port", "server_name", "ca_file", "client_cert",
	"client_key", "min_version", "max_version", "starttls", "expect",
	NULL
};
static const char *const tls_expect_keys[] = {
	"min_days_left", "min_version", "verify", "hostname", "ocsp_stapled",
	NULL
};
static const char *const tls_metrics[] = {
	"tls.days_left", "tls.earliest_days_left", NULL
};

static void	tls_connected(void *, int);
static void	tls_io(void *, unsigned);
static void	tls_handshake_start(struct tls_run *);

static const struct netconn_ops tls_netconn_ops = {
	.token = "probe/tls",
	.connected = tls_connected,
	.io = tls_io,
};

/* ---- config ----------------------------------------------------------- */

static void
tls_conf_free(void *kind_conf)
{
	struct tls_conf	*tc = kind_conf;

	if (tc == NULL)
		return;
	tlsverify_ctx_put(tc->ctx);
	free(tc->server_name);
	netconn_conf_clear(&tc->net);
	free(tc);
}

static void
tls_conf_expect(struct confread *cr, const struct config_setting_t *group,
    struct tls_conf *tc)
{
	const struct config_setting_t	*expect;
	int64_t				 days;
	int				 v;

	if (confread_group(cr, group, "expect", false, &expect) != 1)
		return;
	confread_check_keys(cr, expect, tls_expect_keys, "expect");
	if (confread_int(cr, expect, "min_days_left", false, 0, 3650,
	    &days) == 1)
		tc->min_days_left = (int)days;
	if (confread_enum(cr, expect, "min_version", false,
	    tls_version_names, &v) == 1)
		tc->expect_version = tlsverify_version_parse(
		    tls_version_names[v]);
	confread_bool(cr, expect, "verify", false, &tc->verify);
	confread_bool(cr, expect, "hostname", false, &tc->hostname);
	confread_bool(cr, expect, "ocsp_stapled", false, &tc->ocsp_stapled);
}

/* The files and versions; builds (or shares) the context. */
static SSL_CTX *
tls_conf_ctx(struct confread *cr, const struct config_setting_t *group,
    struct tls_conf *tc)
{
	struct tlsverify_ctx_conf	 c;
	char				*ca = NULL, *cert = NULL;
	char				*key = NULL;
	char				 err[256];
	int				 v, n = cr->nerrors;
	SSL_CTX				*ctx = NULL;

	memset(&c, 0, sizeof(c));
	confread_string(cr, group, "ca_file", false, &ca);
	confread_string(cr, group, "client_cert", false, &cert);
	confread_string(cr, group, "client_key", false, &key);
	if (key != NULL && cert == NULL)
		confread_error(cr, config_setting_get_member(group,
		    "client_key"), "'client_key' needs 'client_cert'");
	if (confread_enum(cr, group, "min_version", false, tls_version_names,
	    &v) == 1)
		tc->min_version = tlsverify_version_parse(tls_version_names[v]);
	if (confread_enum(cr, group, "max_version", false, tls_version_names,
	    &v) == 1)
		tc->max_version = tlsverify_version_parse(tls_version_names[v]);
	if (tc->min_version != 0 && tc->max_version != 0 &&
	    tc->min_version > tc->max_version)
		confread_error(cr, config_setting_get_member(group,
		    "max_version"), "'max_version' is below 'min_version'");
	if (cr->nerrors == n) {
		c.ca_file = ca;
		c.cert_file = cert;
		c.key_file = key;
		c.min_version = tc->min_version;
		c.max_version = tc->max_version;
		if ((ctx = tlsverify_ctx_get(&c, err, sizeof(err))) == NULL)
			confread_error(cr, config_setting_get_member(group,
			    strncmp(err, "client_key", 10) == 0 ? "client_key" :
			    strncmp(err, "client_cert", 11) == 0 ?
			    "client_cert" : ca != NULL ? "ca_file" : "host"),
			    "%s", err);
	}
	free(ca);
	free(cert);
	free(key);
	return ctx;
}

static struct tls_conf *
tls_conf_new(const struct netconn_conf *net)
{
	struct tls_conf	*tc;

	tc = xcalloc(1, sizeof(*tc));
	tc->net = *net;
	tc->verify = true;
	tc->hostname = true;
	return tc;
}

/* Port, literal's port, SNI and the target people read. */
static void
tls_conf_finish(struct tls_conf *tc, int64_t port, char *server_name,
    struct check_conf *check)
{
	struct sockaddr_storage	ss;

	netconn_conf_port(&tc->net, (int)(port != 0 ? port :
	    tls_starttls_ports[tc->starttls]), check);
	tc->server_name = server_name != NULL ? server_name :
	    xstrdup(tc->net.host);
	/* RFC 6066 section 3: no literal IPv4 or IPv6 addresses in SNI. */
	tc->sni = resolver_literal(tc->server_name, &ss) == AF_UNSPEC;
}

static int
tls_conf_parse(struct confread *cr, const struct config_setting_t *group,
    struct check_conf *check)
{
	struct tls_conf		*tc;
	struct netconn_conf	 net;
	char			*sn = NULL;
	int64_t			 port = 0;
	int			 n = cr->nerrors, st = 0;

	netconn_conf_host(cr, group, check, &net);
	confread_int(cr, group, "port", false, 1, 65535, &port);
	if (confread_string(cr, group, "server_name", false, &sn) == 1 &&
	    (sn[0] == '\0' || strpbrk(sn, " /:") != NULL))
		confread_error(cr, config_setting_get_member(group,
		    "server_name"), "'server_name' \"%s\" is not a host name",
		    sn);
	confread_enum(cr, group, "starttls", false, tls_starttls_names, &st);
	if (cr->nerrors != n) {
		netconn_conf_clear(&net);
		free(sn);
		return -1;
	}
	tc = tls_conf_new(&net);
	tc->starttls = (uint8_t)st;
	tls_conf_expect(cr, group, tc);
	if (confread_key_file(cr, group) == 0)
		tc->ctx = tls_conf_ctx(cr, group, tc);
	if (cr->nerrors != n) {
		free(sn);
		tls_conf_free(tc);
		return -1;
	}
	tls_conf_finish(tc, port, sn, check);
	check->kind_conf = tc;
	return 0;
}

/* ---- a run: cleanup and outcomes -------------------------------------- */

static void
tls_set_state(struct tls_run *t, enum tls_state state)
{
	log_debug("probe/tls", "check \"%s\": %s -> %s", t->run->check->name,
	    tls_state_names[t->state], tls_state_names[state]);
	t->state = state;
}

/* Releases everything the run holds; idempotent. */
static void
tls_cleanup(struct probe_run *run)
{
	struct tls_run	*t = run->priv;

	if (t == NULL)
		return;
	run->priv = NULL;
	if (t->ssl != NULL) {
		/* One try at close_notify; a full buffer just loses it. */
		if (SSL_is_init_finished(t->ssl))
			(void)SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
		ERR_clear_error();
	}
	netconn_close(&t->net);
	free(t->buf);
	free(t);
}

/* Ends the run with run->result as set.  Nothing may touch t after. */
static void
tls_finish(struct tls_run *t)
{
	struct probe_run	*run = t->run;

	tls_cleanup(run);
	probe_run_done(run);
}

/* ---- STARTTLS ------------------------------------------------------------ */

/* Sends a short command; -1 with the result set. */
static int
tls_send(struct tls_run *t, const char *cmd, size_t len)
{
	struct probe_result	*res = &t->run->result;
	ssize_t			 n;

	n = send(t->net.fd, cmd, len, MSG_NOSIGNAL);
	if (n == (ssize_t)len)
		return 0;
	probe_result_set(res, PROBE_TLS_HANDSHAKE_FAILED, "starttls %s: "
	    "send to %s: %s", tls_starttls_names[t->conf->starttls],
	    res->tcp.address, n == -1 ? strerror(errno) : "short write");
	return -1;
}

static enum tls_step
tls_step_fail(struct tls_run *t, const char *what, const char *line,
    size_t len)
{
	char	q[TLS_QUOTE_BUF];

	probe_result_set(&t->run->result, PROBE_TLS_HANDSHAKE_FAILED,
	    "starttls %s: %s: %s", tls_starttls_names[t->conf->starttls],
	    what, probe_quote(line, len, TLS_QUOTE_MAX, q, sizeof(q)));
	return TLS_STEP_FAIL;
}

/* "250-x" or "250 x" (RFC 5321 section 4.2.1): the code, -1 if none. */
static int
tls_reply_code(const char *line, size_t len, bool *last)
{
	if (len < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-'))
		return -1;
	*last = len == 3 || line[3] == ' ';
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
}

/* "EHLO [192.0.2.1]": our address literal (RFC 5321 section 4.1.3). */
static int
tls_smtp_ehlo(struct tls_run *t)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			a[INET6_ADDRSTRLEN], cmd[96];
	int			n;

	if (getsockname(t->net.fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
	    (void *)&((struct sockaddr_in *)&ss)->sin_addr :
	    (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr, a,
	    sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "127.0.0.1");
	n = snprintf(cmd, sizeof(cmd), "EHLO [%s%s]\r\n",
	    ss.ss_family == AF_INET6 ? "IPv6:" : "", a);
	return tls_send(t, cmd, (size_t)n);
}

/* SMTP, RFC 3207: 220 greeting, EHLO, STARTTLS in the 250s, 220. */
static enum tls_step
tls_smtp(struct tls_run *t, const char *line, size_t len)
{
	bool	last = false;
	int	code = tls_reply_code(line, len, &last);

	switch (t->step) {
	case 0:
		if (code != 220)
			return tls_step_fail(t, "greeting", line, len);
		if (!last)
			return TLS_STEP_MORE;
		t->step = 1;
		return tls_smtp_ehlo(t) == 0 ? TLS_STEP_SENT : TLS_STEP_FAIL;
	case 1:
		if (code != 250)
			return tls_step_fail(t, "EHLO refused", line, len);
		if (len >= 12 && strncasecmp(line + 4, "STARTTLS", 8) == 0 &&
		    (len == 12 || line[12] == ' '))
			t->offered = true;
		if (!last)
			return TLS_STEP_MORE;
		if (!t->offered)
			return tls_step_fail(t, "server does not offer "
			    "STARTTLS (EHLO reply ends)", line, len);
		t->step = 2;
		return tls_send(t, "STARTTLS\r\n", 10) == 0 ? TLS_STEP_SENT :
		    TLS_STEP_FAIL;
	default:
		if (code != 220)
			return tls_step_fail(t, "STARTTLS refused", line, len);
		return last ? TLS_STEP_SWITCH : TLS_STEP_MORE;
	}
}

/* FTP, RFC 4217 section 4: 220 greeting, AUTH TLS, 234. */
static enum tls_step
tls_ftp(struct tls_run *t, const char *line, size_t len)
{
	bool	last = false;
	int	code = tls_reply_code(line, len, &last);

	if (t->step == 0) {
		if (code != 220)
			return tls_step_fail(t, "greeting", line, len);
		if (!last)
			return TLS_STEP_MORE;
		t->step = 1;
		return tls_send(t, "AUTH TLS\r\n", 10) == 0 ? TLS_STEP_SENT :
		    TLS_STEP_FAIL;
	}
	if (code != 234)
		return tls_step_fail(t, "AUTH TLS refused", line, len);
	return last ? TLS_STEP_SWITCH : TLS_STEP_MORE;
}

/* IMAP, RFC 9051 section 6.2.1: "* OK", "a1 STARTTLS", "a1 OK". */
static enum tls_step
tls_imap(struct tls_run *t, const char *line, size_t len)
{
	if (t->step == 0) {
		if (len < 4 || strncasecmp(line, "* OK", 4) != 0)
			return tls_step_fail(t, "greeting", line, len);
		t->step = 1;
		return tls_send(t, "a1 STARTTLS\r\n", 13) == 0 ?
		    TLS_STEP_SENT : TLS_STEP_FAIL;
	}
	if (len >= 2 && strncmp(line, "* ", 2) == 0)
		return TLS_STEP_MORE;		/* untagged data */
	if (len >= 5 && strncasecmp(line, "a1 OK", 5) == 0)
		return TLS_STEP_SWITCH;
	return tls_step_fail(t, "STARTTLS refused", line, len);
}

/* POP3, RFC 2595 section 4: "+OK", "STLS", "+OK". */
static enum tls_step
tls_pop3(struct tls_run *t, const char *line, size_t len)
{
	if (len < 3 || strncmp(line, "+OK", 3) != 0)
		return tls_step_fail(t, t->step == 0 ? "greeting" :
		    "STLS refused", line, len);
	if (t->step == 1)
		return TLS_STEP_SWITCH;
	t->step = 1;
	return tls_send(t, "STLS\r\n", 6) == 0 ? TLS_STEP_SENT :
	    TLS_STEP_FAIL;
}

static enum tls_step
tls_line(struct tls_run *t, const char *line, size_t len)
{
	switch (t->conf->starttls) {
	case TLS_STARTTLS_SMTP:
		return tls_smtp(t, line, len);
	case TLS_STARTTLS_IMAP:
		return tls_imap(t, line, len);
	case TLS_STARTTLS_POP3:
		return tls_pop3(t, line, len);
	default:
		return tls_ftp(t, line, len);
	}
}

/*
 * PostgreSQL: SSLRequest (length 8, code 80877103), one byte back: 'S'
 * to go ahead, 'N' for no TLS.
 */
static enum tls_step
tls_postgres(struct tls_run *t)
{
	if (t->len == 1 && t->buf[0] == 'S')
		return TLS_STEP_SWITCH;
	if (t->len >= 1 && t->buf[0] == 'N') {
		probe_result_set(&t->run->result, PROBE_TLS_HANDSHAKE_FAILED,
		    "starttls postgres: server does not offer TLS "
		    "(SSLRequest answered 'N')");
		return TLS_STEP_FAIL;
	}
	return tls_step_fail(t, "unexpected answer to SSLRequest", t->buf,
	    t->len);
}

/* Consumes complete lines; returns the last step's decision. */
static enum tls_step
tls_lines(struct tls_run *t)
{
	enum tls_step	 st = TLS_STEP_MORE;
	char		*nl;
	size_t		 used, ll;

	while (st != TLS_STEP_FAIL && st != TLS_STEP_SWITCH &&
	    (nl = memchr(t->buf, '\n', t->len)) != NULL) {
		used = (size_t)(nl - t->buf) + 1;
		ll = used - 1;
		if (ll > 0 && t->buf[ll - 1] == '\r')
			ll--;
		st = tls_line(t, t->buf, ll);
		memmove(t->buf, t->buf + used, t->len - used);
		t->len -= used;
	}
	return st;
}

static void
tls_on_starttls(struct tls_run *t)
{
	const char	*proto = tls_starttls_names[t->conf->starttls];
	enum tls_step	 st;
	ssize_t		 n;

	n = recv(t->net.fd, t->buf + t->len, TLS_LINE_BUF - t->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		probe_result_set(&t->run->result, PROBE_TLS_HANDSHAKE_FAILED,
		    "starttls %s: %s before the server agreed to TLS", proto,
		    n == 0 ? "connection closed" : strerror(errno));
		tls_finish(t);
		return;
	}
	t->len += (size_t)n;
	if (t->conf->starttls == TLS_STARTTLS_POSTGRES)
		st = tls_postgres(t);
	else if ((st = tls_lines(t)) == TLS_STEP_MORE &&
	    t->len == TLS_LINE_BUF)
		st = tls_step_fail(t, "reply line too long", t->buf, t->len);
	if (st == TLS_STEP_SWITCH && t->len > 0 &&
	    t->conf->starttls != TLS_STARTTLS_POSTGRES) {
		/* Plaintext after "go ahead": never hand it to TLS. */
		probe_result_set(&t->run->result, PROBE_TLS_HANDSHAKE_FAILED,
		    "starttls %s: server sent %zu bytes after agreeing to "
		    "TLS (plaintext injection?)", proto, t->len);
		st = TLS_STEP_FAIL;
	}
	if (st == TLS_STEP_FAIL)
		tls_finish(t);
	else if (st == TLS_STEP_SWITCH) {
		t->run->result.phase[PROBE_PHASE_PROCESSING] =
		    loop_time(t->run->loop) - t->mark;
		tls_handshake_start(t);
	}
}

/* ---- the handshake ---------------------------------------------------- */

/* What the handshake showed, against what the check expects. */
static void
tls_judge(struct tls_run *t)
{
	const struct tls_conf	*tc = t->conf;
	struct probe_result	*res = &t->run->result;
	time_t			 now = loop_wallclock() / 1000000;
	unsigned		 flags = 0;
	char			 msg[PROBE_MESSAGE_MAX];
	enum probe_status	 st;

	tlsverify_info_fill(&res->tls, t->ssl, now);
	if (!tc->verify)
		flags |= TLSVERIFY_NO_CHAIN;
	if (!tc->hostname)
		flags |= TLSVERIFY_NO_HOSTNAME;
	st = tlsverify_record_classify(&t->rec, flags, tc->server_name, now,
	    msg, sizeof(msg));
	if (st == PROBE_OK && tc->expect_version != 0 &&
	    SSL_version(t->ssl) < tc->expect_version) {
		st = PROBE_TLS_VERSION;
		snprintf(msg, sizeof(msg), "negotiated %s, expected at least "
		    "%s (expect.min_version)", res->tls.version,
		    tlsverify_version_str(tc->expect_version));
	}
	if (st == PROBE_OK && tc->ocsp_stapled &&
	    strcmp(res->tls.ocsp, "good") != 0) {
		st = PROBE_TLS_UNTRUSTED;
		if (res->tls.ocsp[0] == '\0')
			snprintf(msg, sizeof(msg), "no OCSP response stapled "
			    "(expect.ocsp_stapled)");
		else
			snprintf(msg, sizeof(msg), "stapled OCSP response: "
			    "certificate status %s", res->tls.ocsp);
	}
	if (st == PROBE_OK)
		st = tlsverify_expiring(&res->tls, tc->min_days_left, now, msg,
		    sizeof(msg));
	if (st != PROBE_OK)
		probe_result_set(res, st, "%s", msg);
}

static void
tls_on_handshake(struct tls_run *t)
{
	struct probe_result	*res = &t->run->result;
	unsigned long		 err;
	int			 r, e, sys;

	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	sys = errno;
	if (r == 1) {
		res->phase[PROBE_PHASE_TLS] = loop_time(t->run->loop) - t->mark;
		tls_judge(t);
		tls_finish(t);
		return;
	}
	e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		if (netconn_watch(&t->net, e == SSL_ERROR_WANT_READ ?
		    LOOP_READ : LOOP_WRITE) == -1)
			tls_finish(t);
		return;
	}
	err = ERR_peek_error();
	res->phase[PROBE_PHASE_TLS] = loop_time(t->run->loop) - t->mark;
	res->status = tlsverify_handshake_error(err, e == SSL_ERROR_SYSCALL ?
	    sys : 0, t->conf->min_version, t->conf->max_version,
	    res->message, sizeof(res->message));
	tls_finish(t);
}

static void
tls_handshake_start(struct tls_run *t)
{
	const struct tls_conf	*tc = t->conf;
	struct probe_result	*res = &t->run->result;

	t->mark = loop_time(t->run->loop);
	if ((t->ssl = SSL_new(tc->ctx)) == NULL ||
	    SSL_set_fd(t->ssl, t->net.fd) != 1 ||
	    (tc->sni && SSL_set_tlsext_host_name(t->ssl,
	    tc->server_name) != 1) ||
	    (tc->hostname && SSL_set1_host(t->ssl, tc->server_name) != 1)) {
		probe_result_set(res, PROBE_INTERNAL, "TLS setup for %s "
		    "failed", tc->server_name);
		ERR_clear_error();
		tls_finish(t);
		return;
	}
	SSL_set_connect_state(t->ssl);
	SSL_set_tlsext_status_type(t->ssl, TLSEXT_STATUSTYPE_ocsp);
	tlsverify_record_attach(t->ssl, &t->rec);
	tls_set_state(t, TLS_HANDSHAKE);
	tls_on_handshake(t);
}

/* ---- connect ------------------------------------------------------------- */

static void
tls_after_connect(struct tls_run *t)
{
	static const unsigned char ssl_request[8] = {
		0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f	/* 80877103 */
	};

	if (t->conf->starttls == TLS_STARTTLS_NONE) {
		tls_handshake_start(t);
		return;
	}
	t->buf = xmalloc(TLS_LINE_BUF);
	tls_set_state(t, TLS_STARTTLS);
	if (netconn_watch(&t->net, LOOP_READ) == -1 ||
	    (t->conf->starttls == TLS_STARTTLS_POSTGRES &&
	    tls_send(t, (const char *)ssl_request, sizeof(ssl_request)) ==
	    -1))
		tls_finish(t);
}

/* netconn's report: connected, or failed with the result set. */
static void
tls_connected(void *arg, int rc)
{
	struct tls_run	*t = arg;

	if (rc == -1) {
		tls_finish(t);
		return;
	}
	t->mark = t->net.mark;
	tls_after_connect(t);
}

/* The socket after the connect: one handler per state. */
static void
tls_io(void *arg, unsigned events)
{
	struct tls_run	*t = arg;

	(void)events;
	switch (t->state) {
	case TLS_STARTTLS:
		tls_on_starttls(t);
		break;
	case TLS_HANDSHAKE:
		tls_on_handshake(t);
		break;
	default:
		break;
	}
}

/* ---- probe_ops -------------------------------------------------------- */

static int
tls_start(struct probe_run *run)
{
	struct tls_run	*t;

	t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->conf = run->check->kind_conf;
	t->state = TLS_CONNECTING;
	run->priv = t;
	netconn_init(&t->net, run, &t->conf->net, &tls_netconn_ops, t);
	if (netconn_start(&t->net) == -1) {
		tls_cleanup(run);
		return -1;
	}
	return 0;
}

/* The deadline passed: say what we were waiting for, then release. */
static void
tls_expire(struct probe_run *run)
{
	struct tls_run		*t = run->priv;
	struct probe_result	*res = &run->result;
	char			 d[32];

	if (t == NULL)
		return;
	if (netconn_expire(&t->net)) {
		tls_cleanup(run);
		return;
	}
	probe_format_duration(run->check->timeout_ms * 1000, d, sizeof(d));
	switch (t->state) {
	case TLS_STARTTLS:
		probe_result_set(res, PROBE_TIMEOUT, "starttls %s with %s: "
		    "no %s within %s", tls_starttls_names[t->conf->starttls],
		    res->tcp.address, t->step == 0 ? "greeting" : "reply", d);
		break;
	case TLS_HANDSHAKE:
		probe_result_set(res, PROBE_TIMEOUT, "TLS handshake with %s: "
		    "not finished within %s (waiting to %s)", res->tcp.address,
		    d, t->net.watching == LOOP_READ ? "read" : "write");
		break;
	default:
		break;
	}
	tls_cleanup(run);
}

/* "tcp": {"address"} when a connect was tried; "tls": {...} after one. */
static int
tls_result_json(const struct probe_result *res, json_t *root)
{
	if (netconn_result_json(res, root) == -1)
		return -1;
	return tlsverify_info_json(&res->tls, root);
}

static int
tls_metric(const struct probe_result *res, const char *name, double *value)
{
	return tlsverify_metric(&res->tls, name, value);
}

/* blackbox_exporter's tcp prober with tls: true, as tcp_connect_tls. */
static const struct probe_family tls_families[] = {
	TLSVERIFY_FAMILIES,
	{ "probe_ip_protocol", "gauge",
	    "Specifies whether probe ip protocol is IP4 or IP6" },
	{ "probe_ip_addr_hash", "gauge",
	    "Specifies the hash of IP address" },
	{ NULL, NULL, NULL }
};

static void
tls_metrics_write(const struct probe_result *res, size_t fam,
    probe_sample_cb emit, void *arg)
{
	double	hash;

	if (fam < TLSVERIFY_NFAMILIES)
		tlsverify_metrics_write(&res->tls, fam, emit, arg);
	else if (res->tcp.address[0] == '\0')
		return;
	else if (fam == TLSVERIFY_NFAMILIES)
		emit(arg, NULL, res->tcp.address[0] == '[' ? 6 : 4);
	else if (probe_address_hash(res->tcp.address, &hash) == 0)
		emit(arg, NULL, hash);
}

/* Every run is a full handshake: the scheduler's handshake grid. */
static bool
tls_handshakes(const void *kind_conf)
{
	(void)kind_conf;
	return true;
}

const struct probe_ops tls_probe_ops = {
	.kind = "tls",
	.conf_keys = tls_conf_keys,
	.conf_parse = tls_conf_parse,
	.conf_free = tls_conf_free,
	.start = tls_start,
	.expire = tls_expire,
	.abort = tls_cleanup,
	.result_json = tls_result_json,
	.metrics = tls_metrics,
	.metric = tls_metric,
	.families = tls_families,
	.metrics_write = tls_metrics_write,
	.target_apply = tcp_target_apply,
	.target_example = "127.0.0.1:1",
	.handshakes = tls_handshakes,
};
