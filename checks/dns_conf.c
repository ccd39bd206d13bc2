/* SPDX-License-Identifier: ISC */
/*
 * dns_conf: reads and validates the keys of a dns check (query, record,
 * server, transport, recursion, tries, expect) into a struct dns_conf in
 * canonical form: the query encoded once at load (ares_create_query, with
 * an EDNS OPT record), regexes compiled, servers parsed into "ip:port" or
 * names to resolve at run time.  Errors go through confread as
 * "file:line: message".  It owns the struct dns_conf it returns; the run
 * (checks/dns.c) only reads it.
 */
#include "autoconf.h"

#include <ares.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "config.h"
#include "confread.h"
#include "dns_conf.h"
#include "dnswire.h"
#include "pattern.h"
#include "probe.h"
#include "resolver.h"
#include "xmalloc.h"

const char *const dns_conf_keys[] = {
	"query", "record", "server", "transport", "recursion", "tries",
	"expect", NULL
};
static const char *const dns_expect_keys[] = {
	"rcode", "answers_include", "answer", "answer_match", "min_answers",
	"max_answers", "authoritative", "authority", "additional",
	"serial_min", NULL
};
static const char *const dns_transports[] = { "udp", "tcp", NULL };
static const char *const dns_modes[] = { "one", "all", "none", NULL };


static void
dns_patterns_free(struct dns_patterns *ps)
{
	int	i;

	for (i = 0; i < ps->n; i++)
		pattern_free(ps->p[i]);
	free(ps->p);
	ps->p = NULL;
	ps->n = 0;
}

void
dns_conf_free(void *kind_conf)
{
	struct dns_conf	*dc = kind_conf;
	int		 i;

	if (dc == NULL)
		return;
	free(dc->qbuf);
	free(dc->qname);
	free(dc->servers);
	for (i = 0; i < dc->nservers; i++)
		free(dc->server[i].host);
	free(dc->server);
	dns_patterns_free(&dc->answer);
	dns_patterns_free(&dc->authority);
	dns_patterns_free(&dc->additional);
	for (i = 0; i < dc->ninclude; i++)
		free(dc->include[i]);
	free(dc->include);
	free(dc);
}

/*
 * Reads key as one string or a list of strings, at most max; calls
 * item(cr, setting, string, arg) for each.  Returns the count, or -1.
 */
static int
dns_conf_strings(struct confread *cr, const config_setting_t *group,
    const char *key, int max,
    void (*item)(struct confread *, const config_setting_t *, const char *,
    void *), void *arg)
{
	const config_setting_t	*s, *e;
	int			 i, n;

	if (group == NULL ||
	    (s = config_setting_get_member(group, key)) == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		item(cr, s, config_setting_get_string(s), arg);
		return 1;
	}
	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		confread_error(cr, s, "'%s' must be a string or a list of "
		    "strings, got %s", key, confread_type_name(s));
		return -1;
	}
	if ((n = config_setting_length(s)) > max || n == 0) {
		confread_error(cr, s, "'%s' must have 1 to %d entries, got %d",
		    key, max, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			confread_error(cr, e, "'%s' entry %d must be a "
			    "string, got %s", key, i + 1,
			    confread_type_name(e));
			return -1;
		}
		item(cr, e, config_setting_get_string(e), arg);
	}
	return n;
}

static void
dns_conf_pattern(struct confread *cr, const config_setting_t *s,
    const char *re, void *arg)
{
	struct dns_patterns	*ps = arg;
	struct pattern		*p;
	char			 err[256] = "";

	if ((p = pattern_new(re, err, sizeof(err))) == NULL) {
		confread_error(cr, s, "'%s': bad regex: %s",
		    config_setting_name(s) != NULL ? config_setting_name(s) :
		    config_setting_name(config_setting_parent(s)), err);
		return;
	}
	ps->p = xreallocarray(ps->p, (size_t)ps->n + 1, sizeof(*ps->p));
	ps->p[ps->n++] = p;
}

static void
dns_conf_include(struct confread *cr, const config_setting_t *s,
    const char *rdata, void *arg)
{
	struct dns_conf	*dc = arg;

	if (rdata[0] == '\0') {
		confread_error(cr, s, "'answers_include' entries must not "
		    "be empty");
		return;
	}
	dc->include = xreallocarray(dc->include, (size_t)dc->ninclude + 1,
	    sizeof(*dc->include));
	dc->include[dc->ninclude++] = xstrdup(rdata);
}

/* "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53", "ns1.example". */
static void
dns_conf_server(struct confread *cr, const config_setting_t *s,
    const char *spec, void *arg)
{
	struct dns_conf		*dc = arg;
	struct dns_server	*sv;
	struct sockaddr_storage	 ss;
	char			 host[256], *colon, *end;
	unsigned long		 port = 53;

	dc->server = xreallocarray(dc->server, (size_t)dc->nservers + 1,
	    sizeof(*dc->server));
	sv = &dc->server[dc->nservers];
	memset(sv, 0, sizeof(*sv));
	snprintf(host, sizeof(host), "%s", spec);
	if (host[0] == '[' && (end = strchr(host, ']')) != NULL) {
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			goto bad;
		end[1] = '\0';
	} else if ((colon = strchr(host, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL)
		colon = NULL;	/* a bare IPv6 literal */
	if (colon != NULL) {
		*colon++ = '\0';
		port = strtoul(colon, &end, 10);
		if (*colon == '\0' || *end != '\0' || port == 0 ||
		    port > 65535)
			goto bad;
	}
	sv->port = (uint16_t)port;
	if (resolver_literal(host, &ss) != AF_UNSPEC) {
		resolver_addr_str(&ss, sv->addr, sizeof(sv->addr));
		/* resolver_addr_str() printed port 0; put ours. */
		snprintf(strrchr(sv->addr, ':') + 1, 6, "%lu", port);
	} else if (host[0] == '\0' || strpbrk(host, "[]/ ") != NULL)
		goto bad;
	else {
		sv->host = xstrdup(host);
		dc->names = true;
	}
	dc->nservers++;
	return;
bad:
	confread_error(cr, s, "'server' \"%s\" is not host, host:port, "
	    "ip, ip:port or [ipv6]:port", spec);
}

static void
dns_conf_expect(struct confread *cr, const config_setting_t *group,
    struct dns_conf *dc)
{
	const config_setting_t	*ex = NULL, *s;
	char			*rc = NULL;
	bool			 aa;
	int			 mode = DNS_MATCH_ONE;

	if (confread_group(cr, group, "expect", false, &ex) != 1)
		return;
	confread_check_keys(cr, ex, dns_expect_keys, "expect");
	if (confread_string(cr, ex, "rcode", false, &rc) == 1 &&
	    (dc->rcode = dnswire_rcode_parse(rc)) == -1) {
		s = config_setting_get_member(ex, "rcode");
		confread_error(cr, s, "'rcode' \"%s\" is not an rcode "
		    "(NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... or RCODE<n>)",
		    rc);
	}
	free(rc);
	if (confread_bool(cr, ex, "authoritative", false, &aa) == 1)
		dc->aa = aa;
	confread_int(cr, ex, "min_answers", false, 0, 65535, &dc->min_answers);
	confread_int(cr, ex, "max_answers", false, 0, 65535, &dc->max_answers);
	confread_int(cr, ex, "serial_min", false, 0, UINT32_MAX,
	    &dc->serial_min);
	confread_enum(cr, ex, "answer_match", false, dns_modes, &mode);
	dc->mode = (enum dns_mode)mode;
	dns_conf_strings(cr, ex, "answer", DNS_MAX_EXPECT, dns_conf_pattern,
	    &dc->answer);
	dns_conf_strings(cr, ex, "authority", DNS_MAX_EXPECT, dns_conf_pattern,
	    &dc->authority);
	dns_conf_strings(cr, ex, "additional", DNS_MAX_EXPECT,
	    dns_conf_pattern, &dc->additional);
	dns_conf_strings(cr, ex, "answers_include", DNS_MAX_EXPECT,
	    dns_conf_include, dc);
	if (dc->min_answers > dc->max_answers && dc->max_answers != -1)
		confread_error(cr, ex, "'min_answers' %lld is above "
		    "'max_answers' %lld", (long long)dc->min_answers,
		    (long long)dc->max_answers);
}

/* Encodes the query once; the ID is replaced by ares_send(). */
static void
dns_conf_query(struct confread *cr, const config_setting_t *group,
    struct dns_conf *dc, const char *name)
{
	unsigned char	*buf = NULL;
	int		 len = 0, rc;
	size_t		 n = strlen(name);

	rc = ares_create_query(name, DNSWIRE_CLASS_IN, dc->qtype, 0,
	    dc->recursion, &buf, &len, DNS_EDNS_PAYLOAD);
	if (rc != ARES_SUCCESS || n == 0) {
		confread_error(cr, config_setting_get_member(group, "query"),
		    "'query' \"%s\" is not a domain name (%s)", name,
		    n == 0 ? "empty" : ares_strerror(rc));
		if (buf != NULL)
			ares_free_string(buf);
		return;
	}
	dc->qbuf = xmalloc((size_t)len);
	memcpy(dc->qbuf, buf, (size_t)len);
	dc->qlen = len;
	ares_free_string(buf);
	dc->qname = name[n - 1] == '.' ? xstrdup(name) :
	    xasprintf("%s.", name);
}

static void
dns_conf_servers(struct confread *cr, const config_setting_t *group,
    struct dns_conf *dc)
{
	size_t	len = 0;
	int	i;

	dns_conf_strings(cr, group, "server", DNS_MAX_SERVERS,
	    dns_conf_server, dc);
	if (dc->names || dc->nservers == 0)
		return;
	dc->servers = xcalloc(DNS_MAX_SERVERS, PROBE_ADDRESS_MAX + 1);
	for (i = 0; i < dc->nservers; i++)
		len += (size_t)snprintf(dc->servers + len,
		    DNS_MAX_SERVERS * (PROBE_ADDRESS_MAX + 1) - len, "%s%s",
		    i > 0 ? "," : "", dc->server[i].addr);
}

/* "www.example.com. MX @127.0.0.1:5353,..." or "... @system". */
static void
dns_conf_target(struct check_conf *check, const struct dns_conf *dc,
    const config_setting_t *group)
{
	const config_setting_t	*s = config_setting_get_member(group,
				    "server");
	char			 tb[16];
	char			 spec[512] = "";
	size_t			 len = 0;
	int			 i;

	for (i = 0; s != NULL && i < dc->nservers; i++)
		len += (size_t)snprintf(spec + len, sizeof(spec) - len,
		    "%s%s", i > 0 ? "," : "", config_setting_type(s) ==
		    CONFIG_TYPE_STRING ? config_setting_get_string(s) :
		    config_setting_get_string_elem(s, (unsigned)i));
	check->target = xasprintf("%s %s @%s", dc->qname,
	    dnswire_type_str(dc->qtype, tb, sizeof(tb)),
	    dc->nservers > 0 ? spec : "system");
}

int
dns_conf_parse(struct confread *cr, const config_setting_t *group,
    struct check_conf *check)
{
	struct dns_conf	*dc;
	char		*query = NULL, *record = NULL;
	int		 nerrors = cr->nerrors, transport = 0, type;
	int64_t		 tries = 2;
	bool		 rd = true;

	dc = xcalloc(1, sizeof(*dc));
	dc->aa = -1;
	dc->min_answers = dc->max_answers = dc->serial_min = -1;
	dc->qtype = DNSWIRE_TYPE_A;
	confread_string(cr, group, "query", true, &query);
	if (confread_string(cr, group, "record", false, &record) == 1) {
		if ((type = dnswire_type_parse(record)) <= 0 || type == 41)
			confread_error(cr, config_setting_get_member(group,
			    "record"), "'record' \"%s\" is not a record type "
			    "(A, AAAA, MX, ..., TYPE<n> or a number)", record);
		else
			dc->qtype = (uint16_t)type;
	}
	confread_enum(cr, group, "transport", false, dns_transports,
	    &transport);
	confread_bool(cr, group, "recursion", false, &rd);
	confread_int(cr, group, "tries", false, 1, 5, &tries);
	dc->tcp = transport == 1;
	dc->recursion = rd;
	dc->tries = (int)tries;
	dns_conf_servers(cr, group, dc);
	dns_conf_expect(cr, group, dc);
	if (query != NULL)
		dns_conf_query(cr, group, dc, query);
	free(query);
	free(record);
	if (cr->nerrors != nerrors) {
		dns_conf_free(dc);
		return -1;
	}
	dns_conf_target(check, dc, group);
	check->kind_conf = dc;
	return 0;
}

