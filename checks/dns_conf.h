/*
 * dns_conf: the DNS check kind's configuration: the keys of a dns check,
 * read and validated at load into a struct dns_conf (query already
 * encoded, regexes compiled, servers parsed).  Internal to checks/dns.c;
 * split out so that each file stays readable.
 */
#ifndef SONDE_DNS_CONF_H
#define SONDE_DNS_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "probe.h"

#define DNS_EDNS_PAYLOAD	1232	/* RFC 6891; the 2020 flag day's size */
#define DNS_MAX_SERVERS		4
#define DNS_MAX_EXPECT		16	/* entries in one expect list */

struct check_conf;
struct confread;
struct config_setting_t;
struct pattern;

enum dns_mode {
	DNS_MATCH_ONE,
	DNS_MATCH_ALL,
	DNS_MATCH_NONE
};

/* Arrays sized to what the config gives (10,000 checks are kept at once). */
struct dns_patterns {
	struct pattern	**p;		/* n, at most DNS_MAX_EXPECT */
	int		  n;
};

struct dns_server {
	char		*host;		/* a name, or NULL for a literal */
	char		 addr[PROBE_ADDRESS_MAX];	/* "ip:port" */
	uint16_t	 port;
};

struct dns_conf {
	uint8_t			*qbuf;		/* the encoded query */
	int			 qlen;
	char			*qname;		/* "www.example.com." */
	uint16_t		 qtype;
	bool			 tcp;
	bool			 recursion;
	int			 tries;
	int			 nservers;	/* 0: the system's */
	bool			 names;		/* some server is a name */
	char			*servers;	/* csv when all literal */
	struct dns_server	*server;	/* nservers, <= DNS_MAX_SERVERS */
	/* expect */
	int			 rcode;
	int			 aa;		/* -1: any */
	int64_t			 min_answers;	/* -1: none */
	int64_t			 max_answers;
	int64_t			 serial_min;	/* -1: none */
	enum dns_mode		 mode;
	struct dns_patterns	 answer;
	struct dns_patterns	 authority;
	struct dns_patterns	 additional;
	char			**include;	/* ninclude, <= DNS_MAX_EXPECT */
	int			 ninclude;
};

/* The keys a dns check accepts, NULL-terminated. */
extern const char *const dns_conf_keys[];

/*
 * Reads a dns check's keys (probe_ops.conf_parse): sets check->kind_conf
 * (a new struct dns_conf, freed with dns_conf_free) and check->target.
 * Returns 0, or -1 with every error reported through cr.
 */
int	dns_conf_parse(struct confread *cr, const struct config_setting_t *group,
	    struct check_conf *check);
/* Frees a struct dns_conf; NULL is a no-op. */
void	dns_conf_free(void *kind_conf);

#endif /* SONDE_DNS_CONF_H */
