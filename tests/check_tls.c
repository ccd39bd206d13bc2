/* SPDX-License-Identifier: ISC */
/*
 * Integration tests for the tls check kind, through the real paths: each
 * check is loaded with config_load() and run with probe_run_start() on a
 * real loop against real servers the test starts itself on 127.0.0.1:
 *
 *  - nginx (Debian's package) from a private config, prefix and pid file
 *    in a temporary directory, "daemon off; master_process off;" so the
 *    test owns its PID, one vhost per case on its own free port: a valid
 *    chain (ECDSA and RSA), expired, not yet valid, expiring in 5 days,
 *    self-signed, wrong host, leaf without its intermediate, a chain whose
 *    intermediate expires before the leaf, TLS 1.2 only, TLS 1.3 only, and
 *    a plaintext port;
 *  - a STARTTLS server of the test's own (a forked child speaking SMTP,
 *    IMAP, POP3, FTP and PostgreSQL's SSLRequest, then TLS with OpenSSL),
 *    including one that offers no STARTTLS and one that injects plaintext
 *    after agreeing to TLS.
 *
 * Certificates (a private root, intermediates, leaves) are made by the
 * test with the OpenSSL API (tlscert.c), so every date is exact.  Each
 * case asserts the reason, the message and days_left.  When nginx is
 * missing the nginx cases FAIL and say which package to install.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "loop.h"
#include "probe.h"
#include "resolver.h"
#include "result.h"
#include "testutil.h"
#include "tlscert.h"
#include "tlsverify.h"
#include "xmalloc.h"

#define DAY		86400
#define NGINX_DEFAULT	"/usr/sbin/nginx"

/* ---- the private PKI and its files (made once, in the runner) ------------ */

enum vhost {
	V_VALID, V_RSA, V_EXPIRED, V_NOTYET, V_SOON, V_SELF, V_WRONGHOST,
	V_NOINTER, V_EARLY, V_TLS12, V_TLS13, V_PLAIN, V_OCSP, V_REVOKED,
	V_LAST
};

static char		 pki[256];	/* the runner's temp dir */
static time_t		 made;		/* certificates made at */
static int		 ports[V_LAST];
static pid_t		 nginx_pid = -1;
static char		 nginx_error[512];
static struct tlscert	 root, inter, early;

/* Writes leaf (+ its issuer) and key as name.crt and name.key. */
static void
pki_write(const char *name, const struct tlscert *leaf, X509 *issuer)
{
	X509	*chain[2] = { leaf->cert, issuer };
	char	 file[64];

	snprintf(file, sizeof(file), "%s.crt", name);
	free(tlscert_write_chain(pki, file, chain, issuer != NULL ? 2 : 1));
	snprintf(file, sizeof(file), "%s.key", name);
	free(tlscert_write_key(pki, file, leaf->key));
}

static void
pki_leaf(const char *name, enum tlscert_keytype type, const char *cn,
    const struct tlscert *issuer, bool send_issuer, int64_t nb, int64_t na)
{
	struct tlscert	leaf;
	char		sans[160];

	snprintf(sans, sizeof(sans), "DNS:%s,IP:127.0.0.1", cn);
	tlscert_make(&leaf, type, cn, issuer, false, nb, na, sans);
	pki_write(name, &leaf, send_issuer ? issuer->cert : NULL);
	tlscert_free(&leaf);
}

/* "261120120000Z": an OCSP index date (openssl ca's format). */
static void
index_date(int64_t off, char *buf, size_t len)
{
	time_t		t = time(NULL) + (time_t)off;
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y%m%d%H%M%SZ", &tm);
	memmove(buf, buf + 2, strlen(buf + 2) + 1);	/* two-digit year */
}

/*
 * Runs the openssl CLI with the given arguments (NULL-terminated); false
 * with nginx_error set when it fails.
 */
static bool
pki_openssl(const char *arg, ...)
{
	va_list	 ap;
	char	*argv[24], *out = NULL, *err = NULL;
	int	 rc, n = 0;

	argv[n++] = xstrdup("/usr/bin/openssl");
	va_start(ap, arg);
	for (; arg != NULL && n < 23; arg = va_arg(ap, const char *))
		argv[n++] = xstrdup(arg);
	va_end(ap);
	argv[n] = NULL;
	rc = testutil_run_cmd(argv, &out, &err, 10000);
	if (rc != 0)
		snprintf(nginx_error, sizeof(nginx_error), "openssl %s: exit "
		    "%d: %s", argv[1], rc, err != NULL ? err : "");
	while (n > 0)
		free(argv[--n]);
	free(out);
	free(err);
	return rc == 0;
}

/*
 * A leaf with a stapled OCSP response made by the openssl CLI acting as
 * the intermediate's responder: status good ('V') or revoked ('R').
 */
static void
pki_ocsp(const char *name, char status)
{
	struct tlscert	 leaf;
	BIGNUM		*bn;
	char		*hex, exp[32], rev[32], *idx, *text, cert[300];
	char		 req[300], resp[300], ipem[300], ikey[300];

	tlscert_make(&leaf, TLSCERT_EC, "api.example.com", &inter, false,
	    -DAY, 30 * DAY + 3600, "DNS:api.example.com,IP:127.0.0.1");
	pki_write(name, &leaf, inter.cert);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf.cert), NULL);
	hex = BN_bn2hex(bn);
	index_date(30 * DAY, exp, sizeof(exp));
	index_date(-3600, rev, sizeof(rev));
	text = xasprintf("%c\t%s\t%s\t%s\tunknown\t/O=sonde tests/"
	    "CN=api.example.com\n", status, exp, status == 'R' ? rev : "",
	    hex);
	idx = testutil_write_file(pki, "index.txt", text);
	snprintf(cert, sizeof(cert), "%s/%s.crt", pki, name);
	snprintf(req, sizeof(req), "%s/%s.req", pki, name);
	snprintf(resp, sizeof(resp), "%s/%s.der", pki, name);
	snprintf(ipem, sizeof(ipem), "%s/inter.pem", pki);
	snprintf(ikey, sizeof(ikey), "%s/inter.key", pki);
	if (pki_openssl("ocsp", "-issuer", ipem, "-cert", cert, "-no_nonce",
	    "-reqout", req, (char *)NULL))
		(void)pki_openssl("ocsp", "-index", idx, "-rsigner", ipem,
		    "-rkey", ikey, "-CA", ipem, "-reqin", req, "-respout",
		    resp, "-ndays", "2", (char *)NULL);
	OPENSSL_free(hex);
	BN_free(bn);
	free(text);
	free(idx);
	tlscert_free(&leaf);
}

static void
pki_make(void)
{
	const char	*api = "api.example.com";

	made = time(NULL);
	tlscert_make(&root, TLSCERT_EC, "Sonde Test Root", NULL, true, -DAY,
	    3650 * DAY, NULL);
	tlscert_make(&inter, TLSCERT_EC, "Sonde Test Intermediate", &root,
	    true, -DAY, 1000 * DAY, NULL);
	tlscert_make(&early, TLSCERT_EC, "Sonde Early Intermediate", &root,
	    true, -DAY, 10 * DAY + 3600, NULL);
	free(tlscert_write_chain(pki, "root.pem", &root.cert, 1));
	pki_leaf("valid", TLSCERT_EC, api, &inter, true, -DAY,
	    30 * DAY + 3600);
	pki_leaf("rsa", TLSCERT_RSA, api, &inter, true, -DAY, 60 * DAY + 3600);
	pki_leaf("expired", TLSCERT_EC, api, &inter, true, -90 * DAY,
	    -7 * DAY - 3600);
	pki_leaf("notyet", TLSCERT_EC, api, &inter, true, 4 * DAY + 3600,
	    90 * DAY + 3600);
	pki_leaf("soon", TLSCERT_EC, api, &inter, true, -DAY, 5 * DAY + 3600);
	pki_leaf("self", TLSCERT_EC, api, NULL, false, -DAY, 30 * DAY + 3600);
	pki_leaf("wronghost", TLSCERT_EC, "www.example.com", &inter, true,
	    -DAY, 30 * DAY + 3600);
	pki_leaf("nointer", TLSCERT_EC, api, &inter, false, -DAY,
	    30 * DAY + 3600);
	pki_leaf("early", TLSCERT_EC, api, &early, true, -DAY,
	    60 * DAY + 3600);
	free(tlscert_write_chain(pki, "inter.pem", &inter.cert, 1));
	free(tlscert_write_key(pki, "inter.key", inter.key));
	pki_ocsp("ocsp", 'V');
	pki_ocsp("revoked", 'R');
}

/* ---- nginx --------------------------------------------------------------- */

static const struct {
	const char	*cert;		/* NULL: plaintext */
	const char	*protocols;
} vhosts[V_LAST] = {
	[V_VALID] = { "valid", "TLSv1.2 TLSv1.3" },
	[V_RSA] = { "rsa", "TLSv1.2 TLSv1.3" },
	[V_EXPIRED] = { "expired", "TLSv1.2 TLSv1.3" },
	[V_NOTYET] = { "notyet", "TLSv1.2 TLSv1.3" },
	[V_SOON] = { "soon", "TLSv1.2 TLSv1.3" },
	[V_SELF] = { "self", "TLSv1.2 TLSv1.3" },
	[V_WRONGHOST] = { "wronghost", "TLSv1.2 TLSv1.3" },
	[V_NOINTER] = { "nointer", "TLSv1.2 TLSv1.3" },
	[V_EARLY] = { "early", "TLSv1.2 TLSv1.3" },
	[V_TLS12] = { "valid", "TLSv1.2" },
	[V_TLS13] = { "valid", "TLSv1.3" },
	[V_PLAIN] = { NULL, NULL },
	[V_OCSP] = { "ocsp", "TLSv1.2 TLSv1.3" },
	[V_REVOKED] = { "revoked", "TLSv1.2 TLSv1.3" },
};

static char *
nginx_conf(void)
{
	char	*c, *t, *s;
	int	 i;

	c = xasprintf("daemon off;\nmaster_process off;\nworker_processes 1;\n"
	    "pid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
	    "events { worker_connections 256; }\nhttp {\n  access_log off;\n"
	    "  client_body_temp_path %s/t1;\n  proxy_temp_path %s/t2;\n"
	    "  fastcgi_temp_path %s/t3;\n  uwsgi_temp_path %s/t4;\n"
	    "  scgi_temp_path %s/t5;\n", pki, pki, pki, pki, pki, pki, pki);
	testutil_free_ports(ports, V_LAST);
	for (i = 0; i < V_LAST; i++) {
		if (vhosts[i].cert == NULL)
			s = xasprintf("  server { listen 127.0.0.1:%d; "
			    "return 200 \"ok\\n\"; }\n", ports[i]);
		else
			s = xasprintf("  server { listen 127.0.0.1:%d ssl;\n"
			    "    ssl_certificate %s/%s.crt;\n"
			    "    ssl_certificate_key %s/%s.key;\n%s%s%s%s"
			    "    ssl_protocols %s;\n    return 200 \"ok\\n\"; }\n",
			    ports[i], pki, vhosts[i].cert, pki, vhosts[i].cert,
			    i == V_OCSP || i == V_REVOKED ?
			    "    ssl_stapling on;\n    ssl_stapling_file " : "",
			    i == V_OCSP || i == V_REVOKED ? pki : "",
			    i == V_OCSP ? "/ocsp.der;\n" : i == V_REVOKED ?
			    "/revoked.der;\n" : "", "", vhosts[i].protocols);
		t = xasprintf("%s%s", c, s);
		free(c);
		free(s);
		c = t;
	}
	t = xasprintf("%s}\n", c);
	free(c);
	return t;
}

static bool
port_open(int port)
{
	struct sockaddr_in	sin;
	int			fd, rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return rc == 0;
}

/* Waits up to 5 s for every port; false (and why) if nginx died. */
static bool
nginx_wait(void)
{
	int	i, n, status;

	for (n = 0; n < 500; n++) {
		if (waitpid(nginx_pid, &status, WNOHANG) == nginx_pid) {
			nginx_pid = -1;
			snprintf(nginx_error, sizeof(nginx_error), "nginx "
			    "exited at startup; see %s/error.log", pki);
			return false;
		}
		for (i = 0; i < V_LAST && port_open(ports[i]); i++)
			continue;
		if (i == V_LAST)
			return true;
		usleep(10000);
	}
	snprintf(nginx_error, sizeof(nginx_error), "nginx did not listen "
	    "within 5 s; see %s/error.log", pki);
	return false;
}

static void
nginx_start(void)
{
	const char	*bin = getenv("SONDE_NGINX");
	char		*conf, *path, *errlog;

	if (bin == NULL)
		bin = NGINX_DEFAULT;
	if (access(bin, X_OK) == -1) {
		snprintf(nginx_error, sizeof(nginx_error), "%s: %s: install "
		    "Debian's nginx (apt-get install nginx) or set "
		    "SONDE_NGINX", bin, strerror(errno));
		return;
	}
	conf = nginx_conf();
	path = xasprintf("%s/nginx.conf", pki);
	errlog = xasprintf("%s/error.log", pki);
	free(testutil_write_file(pki, "nginx.conf", conf));
	if ((nginx_pid = fork()) == 0) {
		execl(bin, "nginx", "-p", pki, "-c", path, "-e", errlog,
		    (char *)NULL);
		_exit(127);
	}
	if (nginx_pid != -1)
		(void)nginx_wait();
	free(conf);
	free(path);
	free(errlog);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
nginx_setup(void)
{
	snprintf(pki, sizeof(pki), "%s", testutil_tmpdir());
	nginx_error[0] = '\0';
	pki_make();
	nginx_start();
}

static void
nginx_teardown(void)
{
	int	status;

	if (nginx_pid > 0) {
		kill(nginx_pid, SIGTERM);
		waitpid(nginx_pid, &status, 0);
		nginx_pid = -1;
	}
	tlscert_free(&root);
	tlscert_free(&inter);
	tlscert_free(&early);
	nftw(pki, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- per test: a loop, a resolver, a config ------------------------------ */

static struct loop	*lp;
static struct resolver	*rs;
static struct config	*cfg;
static char		*dir;

static void
setup(void)
{
	char	err[128];

	lp = loop_new();
	rs = resolver_new(lp, NULL, err, sizeof(err));
	ck_assert_msg(rs != NULL, "%s", err);
	dir = xstrdup(testutil_tmpdir());
	cfg = NULL;
}

static void
teardown(void)
{
	config_unref(cfg);
	resolver_free(rs);
	loop_free(lp);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Loads a config of one tls check with these keys; returns its errors. */
static char *
load(const char *keys)
{
	char	*text, *errs;

	text = xasprintf("checks = (\n  { name = \"t\"; type = \"tls\";\n"
	    "    interval = \"1m\"; %s }\n);\n", keys);
	config_unref(cfg);
	cfg = testutil_config_text(dir, text, &errs);
	free(text);
	return errs;
}

/* A check against a vhost: 127.0.0.1, server_name, the private root. */
static const struct check_conf *
check_of(int port, const char *fmt, ...)
{
	va_list	 ap;
	char	*more, *keys, *errs;

	va_start(ap, fmt);
	ck_assert_int_ne(vasprintf(&more, fmt, ap), -1);
	va_end(ap);
	keys = xasprintf("host = \"127.0.0.1\"; port = %d; server_name = "
	    "\"api.example.com\"; ca_file = \"%s/root.pem\"; %s", port, pki,
	    more);
	errs = load(keys);
	ck_assert_msg(cfg != NULL, "config: %s", errs);
	free(more);
	free(keys);
	free(errs);
	return &cfg->checks[0];
}

static void
run_check(const struct check_conf *ck, struct probe_result *res)
{
	struct testutil_outcome	o;

	testutil_run_probe(lp, rs, ck, &o);
	*res = o.result;
}

static void
assert_result(const struct probe_result *res, enum probe_status st,
    const char *msg)
{
	testutil_assert_result(res, st, msg);
}

/* "2026-11-20" for made + off, as messages print dates. */
static const char *
date_at(int64_t off, char *buf, size_t len)
{
	time_t		t = made + (time_t)off;
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

static void
need_nginx(void)
{
	ck_assert_msg(nginx_error[0] == '\0', "%s", nginx_error);
}

static void
probe_vhost(enum vhost v, const char *keys, struct probe_result *res)
{
	need_nginx();
	run_check(check_of(ports[v], "%s", keys), res);
}

/* ---- nginx cases ------------------------------------------------------ */

START_TEST(test_tls_valid_chain_ecdsa)
{
	struct probe_result	res;
	char			*json;

	probe_vhost(V_VALID, "", &res);
	assert_result(&res, PROBE_OK, "");
	ck_assert_str_eq(res.tls.version, "TLSv1.3");
	ck_assert_str_eq(res.tls.key_type, "EC");
	ck_assert_int_eq(res.tls.key_bits, 256);
	ck_assert_int_eq(res.tls.days_left, 30);
	ck_assert_int_eq(res.tls.earliest_days_left, 30);
	ck_assert_int_eq(res.tls.earliest_depth, 0);
	ck_assert_str_eq(res.tls.verify, "ok");
	ck_assert_str_eq(res.tls.subject, "CN=api.example.com,O=sonde tests");
	ck_assert_str_eq(res.tls.issuer,
	    "CN=Sonde Test Intermediate,O=sonde tests");
	ck_assert_str_eq(res.tls.sans, "DNS:api.example.com, IP:127.0.0.1");
	ck_assert_int_ge(res.phase[PROBE_PHASE_CONNECT], 0);
	ck_assert_int_gt(res.phase[PROBE_PHASE_TLS], 0);
	json = result_json(&cfg->checks[0], &res);
	ck_assert_ptr_nonnull(json);
	ck_assert_msg(strstr(json, "\"tls\":{\"version\":\"TLSv1.3\"") !=
	    NULL && strstr(json, "\"days_left\":30,") != NULL, "%s", json);
	free(json);
}
END_TEST

START_TEST(test_tls_valid_chain_rsa)
{
	struct probe_result	res;

	probe_vhost(V_RSA, "expect = { min_days_left = 14; };", &res);
	assert_result(&res, PROBE_OK, "");
	ck_assert_str_eq(res.tls.key_type, "RSA");
	ck_assert_int_eq(res.tls.key_bits, 2048);
	ck_assert_int_eq(res.tls.days_left, 60);
}
END_TEST

START_TEST(test_tls_expired)
{
	struct probe_result	res;
	char			want[256], d[32];

	probe_vhost(V_EXPIRED, "", &res);
	snprintf(want, sizeof(want), "certificate CN=api.example.com expired "
	    "%s (7 days ago)", date_at(-7 * DAY - 3600, d, sizeof(d)));
	assert_result(&res, PROBE_TLS_EXPIRED, want);
	ck_assert_int_eq(res.tls.days_left, -8);	/* -7.04 days */
	ck_assert_str_eq(res.tls.verify, "certificate has expired");
}
END_TEST

START_TEST(test_tls_not_yet_valid)
{
	struct probe_result	res;
	char			want[256], d[32];

	probe_vhost(V_NOTYET, "", &res);
	snprintf(want, sizeof(want), "certificate CN=api.example.com is not "
	    "valid until %s (in 4 days)", date_at(4 * DAY + 3600, d,
	    sizeof(d)));
	assert_result(&res, PROBE_TLS_NOT_YET_VALID, want);
	ck_assert_int_eq(res.tls.days_left, 90);
}
END_TEST

START_TEST(test_tls_expiring_soon)
{
	struct probe_result	res;
	char			want[256], d[32];

	probe_vhost(V_SOON, "expect = { min_days_left = 14; };", &res);
	snprintf(want, sizeof(want), "certificate CN=api.example.com expires "
	    "%s (in 5 days; min_days_left is 14)", date_at(5 * DAY + 3600, d,
	    sizeof(d)));
	assert_result(&res, PROBE_TLS_EXPIRING_SOON, want);
	ck_assert_int_eq(res.tls.days_left, 5);
	/* Without the expectation, 5 days left is still a pass. */
	probe_vhost(V_SOON, "", &res);
	assert_result(&res, PROBE_OK, "");
	ck_assert_int_eq(res.tls.days_left, 5);
}
END_TEST

START_TEST(test_tls_intermediate_expires_first)
{
	struct probe_result	res;
	char			want[256], d[32];

	probe_vhost(V_EARLY, "expect = { min_days_left = 14; };", &res);
	snprintf(want, sizeof(want), "chain certificate CN=Sonde Early "
	    "Intermediate (depth 1) expires %s (in 10 days), before the leaf; "
	    "min_days_left is 14", date_at(10 * DAY + 3600, d, sizeof(d)));
	assert_result(&res, PROBE_TLS_EXPIRING_SOON, want);
	ck_assert_int_eq(res.tls.days_left, 60);
	ck_assert_int_eq(res.tls.earliest_days_left, 10);
	ck_assert_str_eq(res.tls.earliest_subject,
	    "CN=Sonde Early Intermediate");
}
END_TEST

START_TEST(test_tls_self_signed)
{
	struct probe_result	res;

	probe_vhost(V_SELF, "", &res);
	assert_result(&res, PROBE_TLS_UNTRUSTED, "self-signed: certificate "
	    "CN=api.example.com is not issued by a trusted CA");
	ck_assert_int_eq(res.tls.days_left, 30);
	/* verify = false: the certificate is still read, and passes. */
	probe_vhost(V_SELF, "expect = { verify = false; };", &res);
	assert_result(&res, PROBE_OK, "");
	ck_assert_int_eq(res.tls.days_left, 30);
}
END_TEST

START_TEST(test_tls_wrong_host)
{
	struct probe_result	res;

	probe_vhost(V_WRONGHOST, "", &res);
	assert_result(&res, PROBE_TLS_HOSTNAME_MISMATCH, "certificate for "
	    "www.example.com does not match host api.example.com (SANs: "
	    "DNS:www.example.com, IP:127.0.0.1)");
	ck_assert_int_eq(res.tls.days_left, 30);
	probe_vhost(V_WRONGHOST, "expect = { hostname = false; };", &res);
	assert_result(&res, PROBE_OK, "");
}
END_TEST

START_TEST(test_tls_missing_intermediate)
{
	struct probe_result	res;

	probe_vhost(V_NOINTER, "", &res);
	assert_result(&res, PROBE_TLS_UNTRUSTED, "incomplete chain: the "
	    "server sent certificate CN=api.example.com without its issuer "
	    "CN=Sonde Test Intermediate (1 certificate sent; the issuer is "
	    "not in the trusted CA store either)");
	ck_assert_int_eq(res.tls.days_left, 30);
}
END_TEST

START_TEST(test_tls_tls12_only)
{
	struct probe_result	res;

	probe_vhost(V_TLS12, "", &res);
	assert_result(&res, PROBE_OK, "");
	ck_assert_str_eq(res.tls.version, "TLSv1.2");
	ck_assert_str_eq(res.tls.cipher,
	    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
	probe_vhost(V_TLS12, "expect = { min_version = \"1.3\"; };", &res);
	assert_result(&res, PROBE_TLS_VERSION, "negotiated TLSv1.2, expected "
	    "at least TLSv1.3 (expect.min_version)");
	ck_assert_int_eq(res.tls.days_left, 30);
	probe_vhost(V_TLS12, "min_version = \"1.3\";", &res);
	assert_result(&res, PROBE_TLS_VERSION, "handshake failed: no TLS "
	    "version both sides accept (sonde allows TLSv1.3 to any; tlsv1 "
	    "alert protocol version)");
	ck_assert_int_eq(res.tls.not_after, 0);
}
END_TEST

START_TEST(test_tls_tls13_only)
{
	struct probe_result	res;

	probe_vhost(V_TLS13, "expect = { min_version = \"1.3\"; };", &res);
	assert_result(&res, PROBE_OK, "");
	ck_assert_str_eq(res.tls.version, "TLSv1.3");
	probe_vhost(V_TLS13, "max_version = \"1.2\";", &res);
	assert_result(&res, PROBE_TLS_VERSION, "handshake failed: no TLS "
	    "version both sides accept (sonde allows any to TLSv1.2; tlsv1 "
	    "alert protocol version)");
}
END_TEST

START_TEST(test_tls_plaintext_port)
{
	struct probe_result	res;

	probe_vhost(V_PLAIN, "", &res);
	ck_assert_msg(res.status == PROBE_TLS_HANDSHAKE_FAILED, "%s: %s",
	    probe_status_str(res.status), res.message);
	ck_assert_msg(strncmp(res.message, "handshake failed: ", 18) == 0,
	    "%s", res.message);
	ck_assert_str_eq(res.tls.version, "");
}
END_TEST

START_TEST(test_tls_ocsp_stapled)
{
	struct probe_result	res;

	probe_vhost(V_OCSP, "expect = { ocsp_stapled = true; };", &res);
	assert_result(&res, PROBE_OK, "");
	ck_assert_str_eq(res.tls.ocsp, "good");
	probe_vhost(V_REVOKED, "", &res);
	assert_result(&res, PROBE_OK, "");
	ck_assert_str_eq(res.tls.ocsp, "revoked");
	probe_vhost(V_REVOKED, "expect = { ocsp_stapled = true; };", &res);
	assert_result(&res, PROBE_TLS_UNTRUSTED, "stapled OCSP response: "
	    "certificate status revoked");
	probe_vhost(V_VALID, "expect = { ocsp_stapled = true; };", &res);
	assert_result(&res, PROBE_TLS_UNTRUSTED, "no OCSP response stapled "
	    "(expect.ocsp_stapled)");
	ck_assert_str_eq(res.tls.ocsp, "");
}
END_TEST

START_TEST(test_tls_refused)
{
	struct probe_result	res;
	char			want[128];
	int			port = testutil_closed_port();

	run_check(check_of(port, ""), &res);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%d: refused",
	    port);
	assert_result(&res, PROBE_CONNECT_REFUSED, want);
}
END_TEST

START_TEST(test_tls_silent_server)
{
	struct probe_result	res;
	char			want[160];
	int			lport, lfd = testutil_listen_tcp(AF_INET, 8,
				    &lport);

	/* Accepts (backlog) but never speaks TLS. */
	run_check(check_of(lport, "timeout = \"300ms\";"), &res);
	snprintf(want, sizeof(want), "TLS handshake with 127.0.0.1:%d: not "
	    "finished within 300ms (waiting to read)", lport);
	assert_result(&res, PROBE_TIMEOUT, want);
	close(lfd);
}
END_TEST

static int
open_fds(void)
{
	int	fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void
on_done_never(struct probe_run *run, void *arg)
{
	(void)run;
	(void)arg;
	ck_abort_msg("an aborted run reported");
}

/* Abort mid-handshake and mid-STARTTLS: the socket and SSL are freed. */
START_TEST(test_tls_abort_releases_everything)
{
	const struct check_conf	*ck;
	struct probe_run	 run;
	bool			 never = false;
	int			 lfd, port, before, i;

	lfd = testutil_listen_tcp(AF_INET, 16, &port);
	for (i = 0; i < 2; i++) {
		ck = check_of(port, i == 0 ? "" : "starttls = \"smtp\";");
		before = open_fds();
		probe_run_init(&run, lp, rs, ck);
		probe_run_start(&run, loop_now(lp) + 5000000, on_done_never,
		    NULL);
		testutil_run_until(lp, &never, 100);
		ck_assert_int_eq(open_fds(), before + 1);
		probe_run_abort(&run);
		ck_assert_ptr_null(run.priv);
		ck_assert_int_eq(open_fds(), before);
		testutil_run_until(lp, &never, 50);
	}
	close(lfd);
}
END_TEST

/* ---- STARTTLS: a server of the test's own ------------------------------- */

enum mode {
	M_SMTP, M_SMTP_NOTLS, M_SMTP_INJECT, M_IMAP, M_POP3, M_FTP,
	M_POSTGRES, M_POSTGRES_NO, M_LAST
};

static pid_t	 stls_pid = -1;
static int	 stls_ports[M_LAST];

/* Reads one line (blocking, bounded); returns its length or -1. */
static int
srv_line(int fd, char *buf, size_t len)
{
	size_t	n = 0;
	char	c;

	while (n + 1 < len && read(fd, &c, 1) == 1) {
		if (c == '\n') {
			buf[n] = '\0';
			if (n > 0 && buf[n - 1] == '\r')
				buf[--n] = '\0';
			return (int)n;
		}
		buf[n++] = c;
	}
	return -1;
}

static void
srv_say(int fd, const char *s)
{
	(void)!write(fd, s, strlen(s));
}

/* The plaintext part; true when the client may now start TLS. */
static bool
srv_dialogue(int fd, enum mode m)
{
	char		l[512];
	unsigned char	req[8];

	switch (m) {
	case M_SMTP:
	case M_SMTP_NOTLS:
	case M_SMTP_INJECT:
		srv_say(fd, "220-mail.example.com ESMTP sonde test\r\n"
		    "220 ready\r\n");
		if (srv_line(fd, l, sizeof(l)) < 0 || strncmp(l, "EHLO [",
		    6) != 0)
			return false;
		srv_say(fd, m == M_SMTP_NOTLS ? "250-mail.example.com\r\n"
		    "250-PIPELINING\r\n250 8BITMIME\r\n" :
		    "250-mail.example.com\r\n250-PIPELINING\r\n"
		    "250-STARTTLS\r\n250 8BITMIME\r\n");
		if (m == M_SMTP_NOTLS || srv_line(fd, l, sizeof(l)) < 0 ||
		    strcmp(l, "STARTTLS") != 0)
			return false;
		srv_say(fd, m == M_SMTP_INJECT ? "220 2.0.0 Ready to start "
		    "TLS\r\n250 injected\r\n" : "220 2.0.0 Ready to start "
		    "TLS\r\n");
		return m == M_SMTP;
	case M_IMAP:
		srv_say(fd, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
		if (srv_line(fd, l, sizeof(l)) < 0 ||
		    strcmp(l, "a1 STARTTLS") != 0)
			return false;
		srv_say(fd, "a1 OK Begin TLS negotiation now\r\n");
		return true;
	case M_POP3:
		srv_say(fd, "+OK POP3 ready\r\n");
		if (srv_line(fd, l, sizeof(l)) < 0 || strcmp(l, "STLS") != 0)
			return false;
		srv_say(fd, "+OK Begin TLS negotiation\r\n");
		return true;
	case M_FTP:
		srv_say(fd, "220 FTP ready\r\n");
		if (srv_line(fd, l, sizeof(l)) < 0 ||
		    strcmp(l, "AUTH TLS") != 0)
			return false;
		srv_say(fd, "234 AUTH TLS successful\r\n");
		return true;
	default:
		if (read(fd, req, 8) != 8 || memcmp(req,
		    "\0\0\0\x08\x04\xd2\x16\x2f", 8) != 0)
			return false;
		srv_say(fd, m == M_POSTGRES ? "S" : "N");
		return m == M_POSTGRES;
	}
}

static void
srv_conn(int fd, enum mode m, SSL_CTX *ctx)
{
	struct timeval	 tv = { 3, 0 };
	SSL		*ssl;
	char		 buf[64];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!srv_dialogue(fd, m))
		return;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1)
		(void)SSL_read(ssl, buf, sizeof(buf));
	SSL_free(ssl);
}

static void __attribute__((noreturn))
srv_main(const int *lfds, SSL_CTX *ctx)
{
	struct pollfd	pfd[M_LAST];
	int		i, fd;

	/* Check's runner handler would kill our whole process group. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < M_LAST; i++) {
		pfd[i].fd = lfds[i];
		pfd[i].events = POLLIN;
	}
	for (;;) {
		if (poll(pfd, M_LAST, -1) <= 0)
			continue;
		for (i = 0; i < M_LAST; i++) {
			if (!(pfd[i].revents & POLLIN) ||
			    (fd = accept(lfds[i], NULL, NULL)) == -1)
				continue;
			srv_conn(fd, (enum mode)i, ctx);
			close(fd);
		}
	}
}

static void
stls_setup(void)
{
	SSL_CTX		*ctx;
	struct tlscert	 leaf;
	int		 lfds[M_LAST], i;

	snprintf(pki, sizeof(pki), "%s", testutil_tmpdir());
	pki_make();
	tlscert_make(&leaf, TLSCERT_EC, "mail.example.com", &inter, false,
	    -DAY, 45 * DAY + 3600, "DNS:mail.example.com");
	ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(ctx, leaf.cert);
	SSL_CTX_use_PrivateKey(ctx, leaf.key);
	X509_up_ref(inter.cert);
	SSL_CTX_add_extra_chain_cert(ctx, inter.cert);
	for (i = 0; i < M_LAST; i++)
		lfds[i] = testutil_listen_tcp(AF_INET, 16, &stls_ports[i]);
	if ((stls_pid = fork()) == 0)
		srv_main(lfds, ctx);
	for (i = 0; i < M_LAST; i++)
		close(lfds[i]);
	SSL_CTX_free(ctx);
	tlscert_free(&leaf);
}

static void
stls_teardown(void)
{
	int	status;

	if (stls_pid > 0) {
		kill(stls_pid, SIGTERM);
		waitpid(stls_pid, &status, 0);
		stls_pid = -1;
	}
	tlscert_free(&root);
	tlscert_free(&inter);
	tlscert_free(&early);
	nftw(pki, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static const struct {
	enum mode	 mode;
	const char	*proto;
	enum probe_status status;
	const char	*message;
} stls_cases[] = {
	{ M_SMTP, "smtp", PROBE_OK, "" },
	{ M_IMAP, "imap", PROBE_OK, "" },
	{ M_POP3, "pop3", PROBE_OK, "" },
	{ M_FTP, "ftp", PROBE_OK, "" },
	{ M_POSTGRES, "postgres", PROBE_OK, "" },
	{ M_SMTP_NOTLS, "smtp", PROBE_TLS_HANDSHAKE_FAILED, "starttls smtp: "
	    "server does not offer STARTTLS (EHLO reply ends): "
	    "\"250 8BITMIME\"" },
	{ M_SMTP_INJECT, "smtp", PROBE_TLS_HANDSHAKE_FAILED, "starttls smtp: "
	    "server sent 14 bytes after agreeing to TLS (plaintext "
	    "injection?)" },
	{ M_POSTGRES_NO, "postgres", PROBE_TLS_HANDSHAKE_FAILED, "starttls "
	    "postgres: server does not offer TLS (SSLRequest answered 'N')" },
};

START_TEST(test_tls_starttls)
{
	const struct check_conf	*ck;
	struct probe_result	 res;
	char			*keys, *errs;

	keys = xasprintf("host = \"127.0.0.1\"; port = %d; server_name = "
	    "\"mail.example.com\"; ca_file = \"%s/root.pem\"; starttls = "
	    "\"%s\"; expect = { min_days_left = 30; };",
	    stls_ports[stls_cases[_i].mode], pki, stls_cases[_i].proto);
	errs = load(keys);
	ck_assert_msg(cfg != NULL, "%s", errs);
	ck = &cfg->checks[0];
	run_check(ck, &res);
	assert_result(&res, stls_cases[_i].status, stls_cases[_i].message);
	if (stls_cases[_i].status == PROBE_OK) {
		ck_assert_int_eq(res.tls.days_left, 45);
		ck_assert_str_eq(res.tls.subject,
		    "CN=mail.example.com,O=sonde tests");
		ck_assert_int_ge(res.phase[PROBE_PHASE_PROCESSING], 0);
	}
	free(keys);
	free(errs);
}
END_TEST

/* ---- config ----------------------------------------------------------- */

static const struct {
	const char	*keys;
	const char	*errors;
} conf_cases[] = {
	{ "", "sonde.conf:2: check is missing required key 'host'" },
	{ "host = \"a:443\";", "sonde.conf:3: 'host' \"a:443\" is not a host "
	    "name or address (the port goes in 'port')" },
	{ "host = \"a\"; ca_file = \"/nonexistent.pem\";", "sonde.conf:3: "
	    "ca_file /nonexistent.pem: No such file or directory" },
	{ "host = \"a\"; min_version = \"1.4\";", "sonde.conf:3: "
	    "'min_version' must be one of \"1.0\", \"1.1\", \"1.2\" or "
	    "\"1.3\", got \"1.4\" (did you mean \"1.0\"?)" },
	{ "host = \"a\"; min_version = \"1.3\"; max_version = \"1.2\";",
	    "sonde.conf:3: 'max_version' is below 'min_version'" },
	{ "host = \"a\"; starttls = \"smtps\";", "sonde.conf:3: 'starttls' "
	    "must be one of \"none\", \"smtp\", \"imap\", \"pop3\", \"ftp\" or "
	    "\"postgres\", got \"smtps\" (did you mean \"smtp\"?)" },
	{ "host = \"a\"; client_key = \"/k\";", "sonde.conf:3: 'client_key' "
	    "needs 'client_cert'" },
	{ "host = \"a\"; expect = { min_days = 3; };", "sonde.conf:3: "
	    "unknown key 'min_days' in expect" },
	{ "host = \"a\"; expect = { min_days_left = -1; };", "sonde.conf:3: "
	    "'min_days_left' must be between 0 and 3650, got -1" },
};

START_TEST(test_tls_conf_errors)
{
	char	*errs = load(conf_cases[_i].keys);

	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(errs, conf_cases[_i].errors);
	free(errs);
}
END_TEST

START_TEST(test_tls_conf_defaults)
{
	char	*errs = load("host = \"example.com\";");

	ck_assert_msg(cfg != NULL, "%s", errs);
	ck_assert_str_eq(cfg->checks[0].target, "example.com:443");
	free(errs);
	errs = load("host = \"example.com\"; starttls = \"smtp\";");
	ck_assert_str_eq(cfg->checks[0].target, "example.com:25");
	free(errs);
	/* Two checks with one configuration share one context. */
	errs = load("host = \"a.example\"; }, { name = \"u\"; "
	    "type = \"tls\"; host = \"b.example\";");
	ck_assert_msg(cfg != NULL, "%s", errs);
	ck_assert_uint_eq(tlsverify_ctx_count(), 1);
	free(errs);
}
END_TEST

/*
 * A private key (client_key, or client_cert holding it) others may write
 * is refused at load, before OpenSSL reads it; its path, never its
 * content, is in the error.
 */
START_TEST(test_tls_conf_key_mode)
{
	char	*key, *keys, *errs, *want;

	key = testutil_write_file(dir, "k.pem", "-----BEGIN PRIVATE KEY-----\n"
	    "s3cret\n");
	ck_assert_int_eq(chmod(key, 0666), 0);
	keys = xasprintf("host = \"a\"; client_cert = \"%s\"; client_key = "
	    "\"%s\";", key, key);
	errs = load(keys);
	ck_assert_ptr_null(cfg);
	want = xasprintf("sonde.conf:3: 'client_key' %s: writable by other "
	    "users (mode 0666); chmod go-w", key);
	ck_assert_str_eq(errs, want);
	free(errs);
	free(keys);
	free(want);
	keys = xasprintf("host = \"a\"; client_cert = \"%s\";", key);
	errs = load(keys);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(errs, "'client_cert' ") != NULL &&
	    strstr(errs, "writable by other users") != NULL &&
	    strstr(errs, "s3cret") == NULL, "%s", errs);
	free(errs);
	free(keys);
	free(key);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite	*s = suite_create("tls");
	TCase	*tc;

	tc = tcase_create("nginx");
	tcase_add_unchecked_fixture(tc, nginx_setup, nginx_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_tls_valid_chain_ecdsa);
	tcase_add_test(tc, test_tls_valid_chain_rsa);
	tcase_add_test(tc, test_tls_expired);
	tcase_add_test(tc, test_tls_not_yet_valid);
	tcase_add_test(tc, test_tls_expiring_soon);
	tcase_add_test(tc, test_tls_intermediate_expires_first);
	tcase_add_test(tc, test_tls_self_signed);
	tcase_add_test(tc, test_tls_wrong_host);
	tcase_add_test(tc, test_tls_missing_intermediate);
	tcase_add_test(tc, test_tls_tls12_only);
	tcase_add_test(tc, test_tls_tls13_only);
	tcase_add_test(tc, test_tls_plaintext_port);
	tcase_add_test(tc, test_tls_ocsp_stapled);
	tcase_add_test(tc, test_tls_refused);
	tcase_add_test(tc, test_tls_silent_server);
	tcase_add_test(tc, test_tls_abort_releases_everything);
	suite_add_tcase(s, tc);

	tc = tcase_create("starttls");
	tcase_add_unchecked_fixture(tc, stls_setup, stls_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_tls_starttls, 0,
	    sizeof(stls_cases) / sizeof(stls_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_tls_conf_errors, 0,
	    sizeof(conf_cases) / sizeof(conf_cases[0]));
	tcase_add_test(tc, test_tls_conf_defaults);
	tcase_add_test(tc, test_tls_conf_key_mode);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(tls_suite());
	int	 failed;

	/* As the daemon does: OpenSSL writes with write(2) (see main.c). */
	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
