/* SPDX-License-Identifier: ISC */
/*
 * dns_minloop: the floor for bench/dns.sh.  Sends COUNT queries for NAME
 * (type A, with an EDNS OPT record like sonde's) to 127.0.0.1:PORT one
 * after another on a fresh non-blocking UDP socket each (as a probe
 * would), waits for each answer with poll(2), and prints the CPU time it
 * used per query.  No parsing beyond the ID: the cheapest honest query.
 *
 * usage: dns_minloop PORT NAME COUNT [RATE]
 *
 * With RATE, query i is sent at i / RATE seconds from the start (a fixed
 * grid, clock_nanosleep to an absolute time), so the loop pays one wakeup
 * per query as a scheduler at that rate does; without it, back to back.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#else
#define _GNU_SOURCE
#endif

#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static size_t
encode(const char *name, uint16_t id, uint8_t *q)
{
	const char	*p = name, *dot;
	size_t		 n = 12, l;

	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01;			/* RD */
	q[5] = 1;			/* QDCOUNT */
	q[11] = 1;			/* ARCOUNT: OPT */
	while (*p != '\0') {
		dot = strchr(p, '.');
		l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		q[n++] = (uint8_t)l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (dot != NULL);
	}
	q[n++] = 0;
	memcpy(q + n, "\0\1\0\1", 4);	/* A, IN */
	n += 4;
	memcpy(q + n, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);	/* OPT 1232 */
	return n + 11;
}

static double	grid_s;		/* 0: none */

/* Sleeps until query i is due: START + i / RATE (none if RATE is 0). */
static void
pace(const struct timespec *start, long i, double rate)
{
	struct timespec	at;
	double		offset;
	long		ns;

	if (rate <= 0)
		return;
	offset = (double)i / rate;
	/* DNS_MINLOOP_GRID_MS: start on sonde's agent.schedule_grid. */
	if (grid_s > 0)
		offset = ceil(offset / grid_s) * grid_s;
	ns = start->tv_nsec + (long)((offset - (double)(long)offset) * 1e9);
	at.tv_sec = start->tv_sec + (time_t)offset + ns / 1000000000L;
	at.tv_nsec = ns % 1000000000L;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) ==
	    EINTR)
		;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	sin;
	struct rusage		ru;
	struct pollfd		pfd;
	struct timespec		t0, t1;
	uint8_t			q[512], a[4096];
	size_t			qlen;
	long			count, i, ok = 0;
	double			cpu, wall, rate;
	int			fd;
	ssize_t			n;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: dns_minloop PORT NAME COUNT [RATE]\n");
		return 2;
	}
	count = atol(argv[3]);
	rate = argc == 5 ? atof(argv[4]) : 0;
	if (getenv("DNS_MINLOOP_GRID_MS") != NULL)
		grid_s = atof(getenv("DNS_MINLOOP_GRID_MS")) / 1000;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		pace(&t0, i, rate);
		qlen = encode(argv[2], (uint16_t)(i * 7919), q);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&sin,
		    sizeof(sin)) == -1 || send(fd, q, qlen, 0) == -1) {
			perror("dns_minloop");
			return 1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) == 1 &&
		    (n = recv(fd, a, sizeof(a), 0)) >= 12 &&
		    a[0] == q[0] && a[1] == q[1])
			ok++;
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	wall = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("queries=%ld answered=%ld cpu_us_per_query=%.1f qps=%.0f\n",
	    count, ok, cpu / (double)count, (double)count / wall);
	return ok == count ? 0 : 1;
}
