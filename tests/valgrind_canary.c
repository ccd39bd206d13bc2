/* SPDX-License-Identifier: ISC */
/*
 * valgrind_canary: a program that loses one block, on purpose.  make
 * check-valgrind runs it through tests/valgrind.sh before the suite and
 * insists that memcheck fails it and that the summary names it: were the
 * harness broken (a wrong option, a suppression too wide), a clean run of
 * the suite would mean nothing.  Not a test of sonde; never in TESTS.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

/* volatile: the compiler must keep the allocation and the lost pointer. */
static char *volatile valgrind_canary;

int
main(void)
{
	valgrind_canary = malloc(32);
	if (valgrind_canary == NULL)
		return 1;
	memset(valgrind_canary, 'x', 32);
	valgrind_canary = NULL;		/* the only pointer: lost */
	return 0;
}
