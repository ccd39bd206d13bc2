/* SPDX-License-Identifier: ISC */
/*
 * fuzz_outbox: outbox record parsing (outbox_decode() in src/outbox.c,
 * what sonde runs on every file of state_dir/outbox at startup) on
 * fuzzed record text.
 *
 * Asserts: a record that decodes has at least one item, each a valid
 * kind with every string terminated inside its field, at most
 * NOTIFY_LABELS_MAX labels, times a channel can subtract (at, since and
 * created >= 0) and failed=bad/of with bad <= of <= 64; it encodes
 * again (outbox_encode(), what a send would rewrite) with every item
 * kept; and that encoding decodes to the same record (re-encoded, the
 * same text): what is read back is exactly what was written, so a
 * record never changes meaning by being read and rewritten.
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "notify.h"
#include "outbox.h"

static void
fuzz_terminated(const char *s, size_t size, const char *what)
{
	FUZZ_ASSERT(memchr(s, '\0', size) != NULL, "%s not terminated", what);
}

static void
fuzz_items_sane(const struct notify_item *items, size_t n)
{
	const struct notify_item	*it;
	size_t				 i, l;

	FUZZ_ASSERT(n >= 1, "a record without items");
	for (i = 0; i < n; i++) {
		it = &items[i];
		FUZZ_ASSERT(it->kind >= 0 && it->kind < NOTIFY_KIND_LAST,
		    "kind %d", (int)it->kind);
		fuzz_terminated(it->agent, sizeof(it->agent), "agent");
		fuzz_terminated(it->rule, sizeof(it->rule), "rule");
		fuzz_terminated(it->check, sizeof(it->check), "check");
		fuzz_terminated(it->target, sizeof(it->target), "target");
		fuzz_terminated(it->message, sizeof(it->message), "message");
		fuzz_terminated(it->phase, sizeof(it->phase), "phase");
		FUZZ_ASSERT(it->nlabels <= NOTIFY_LABELS_MAX, "%u labels",
		    it->nlabels);
		/*
		 * Channels subtract these (slack: at - since; the outbox:
		 * now - created) and print "failed=bad/of".
		 */
		FUZZ_ASSERT(it->at >= 0 && it->since >= 0, "at %lld since "
		    "%lld", (long long)it->at, (long long)it->since);
		FUZZ_ASSERT(it->bad <= it->of && it->of <= 64, "failed=%u/%u",
		    it->bad, it->of);
		for (l = 0; l < it->nlabels; l++) {
			fuzz_terminated(it->labels[l].key,
			    sizeof(it->labels[l].key), "label key");
			fuzz_terminated(it->labels[l].value,
			    sizeof(it->labels[l].value), "label value");
		}
	}
}

/* Decodes txt (must succeed) and encodes it again: a new string. */
static char *
fuzz_round(const char *txt, size_t *nitems)
{
	struct notify_item	*items = NULL;
	uint64_t		 seq;
	int64_t			 created;
	char			 channel[64], err[256], *enc;
	size_t			 n;

	FUZZ_ASSERT(outbox_decode(txt, &seq, channel, sizeof(channel),
	    &created, &items, &n, err, sizeof(err)) == 0, "its own encoding "
	    "does not decode: %s: %s", err, txt);
	enc = outbox_encode(seq, channel, created, items, n);
	FUZZ_ASSERT(enc != NULL, "a decoded record does not encode");
	*nitems = n;
	free(items);
	return enc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notify_item	*items = NULL;
	uint64_t		 seq;
	int64_t			 created;
	char			 channel[64], err[256];
	char			*txt, *enc, *enc2;
	size_t			 n, n2;

	txt = malloc(size + 1);
	memcpy(txt, data, size);
	txt[size] = '\0';
	if (outbox_decode(txt, &seq, channel, sizeof(channel), &created,
	    &items, &n, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(items == NULL && n == 0 && err[0] != '\0',
		    "a failed decode left items or no reason");
		free(txt);
		return 0;
	}
	fuzz_terminated(channel, sizeof(channel), "channel");
	FUZZ_ASSERT(created >= 0, "created %lld", (long long)created);
	fuzz_items_sane(items, n);
	enc = outbox_encode(seq, channel, created, items, n);
	FUZZ_ASSERT(enc != NULL, "a decoded record does not encode: %s",
	    txt);
	enc2 = fuzz_round(enc, &n2);
	FUZZ_ASSERT(n2 == n, "%zu items, %zu after a rewrite", n, n2);
	FUZZ_ASSERT(strcmp(enc, enc2) == 0, "read back, it changes:\n%s\n%s",
	    enc, enc2);
	free(enc2);
	free(enc);
	free(items);
	free(txt);
	return 0;
}
