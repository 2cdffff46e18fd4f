// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the anti-replay window and the data header (kmod/replay.c,
 * the same file the module builds). KTAP output.
 */
#include <stdio.h>
#include <string.h>

#include <linux/veil.h>

#include "replay.h"
#include "ktap.h"

static void test_window(void)
{
	struct veil_replay r;
	bool all = true;
	u64 i;

	veil_replay_init(&r);
	CHECK(veil_replay_accept(&r, 0), "counter 0 is accepted first");
	CHECK(!veil_replay_accept(&r, 0), "counter 0 twice is refused");
	for (i = 1; i < 20000; i++)
		all &= veil_replay_accept(&r, i);
	CHECK(all, "20000 increasing counters are accepted");
	for (i = 0; i < 20000; i++)
		all &= !veil_replay_accept(&r, i);
	CHECK(all, "each of them replayed is refused");

	veil_replay_init(&r);
	CHECK(veil_replay_accept(&r, 10000), "a jump ahead is accepted");
	CHECK(veil_replay_accept(&r, 10000 - 2048), "2048 behind the newest is accepted");
	CHECK(veil_replay_accept(&r, 10000 - VEIL_REPLAY_WINDOW + 1),
	      "the oldest counter inside the window is accepted");
	CHECK(!veil_replay_accept(&r, 10000 - VEIL_REPLAY_WINDOW),
	      "one older than the window is refused");
	CHECK(!veil_replay_fresh(&r, 10000 - 2048), "fresh() sees what accept() recorded");
	CHECK(veil_replay_fresh(&r, 9999), "fresh() does not record");
	CHECK(veil_replay_accept(&r, 9999), "out of order inside the window is accepted");

	/* Reordering: every counter of a shuffled block exactly once. */
	veil_replay_init(&r);
	all = true;
	for (i = 0; i < 4096; i++)
		all &= veil_replay_accept(&r, (i * 2654435761u) % 4096);
	CHECK(all, "a 4096-packet block in shuffled order is accepted");
	CHECK(!veil_replay_accept(&r, 1234), "and none of it twice");

	/* A long jump clears the whole bitmap: old bits must not leak. */
	veil_replay_init(&r);
	veil_replay_accept(&r, 5);
	veil_replay_accept(&r, 5 + 64 * VEIL_REPLAY_WORDS);
	CHECK(veil_replay_accept(&r, 5 + 64 * VEIL_REPLAY_WORDS - 64),
	      "bits of a slid-over word are cleared");

	CHECK(!veil_replay_accept(&r, VEIL_COUNTER_LIMIT), "the counter limit is refused");
	CHECK(veil_replay_accept(&r, VEIL_COUNTER_LIMIT - 1), "the last counter is accepted");
}

static void test_header(void)
{
	u8 p[64] = { 0 };
	struct veil_pkt_hdr h;

	veil_pkt_build(p, 0x01020304, 0x1122334455667788ULL, 0);
	CHECK(p[0] == 0x80 && p[4] == 1 && p[7] == 4 && p[8] == 0x11 && p[15] == 0x88,
	      "header is big endian, type 0x80");
	CHECK(veil_pkt_parse(p, 32, &h) == 0 && h.receiver == 0x01020304 &&
	      h.counter == 0x1122334455667788ULL, "header round-trips");
	CHECK(veil_pkt_parse(p, 31, &h) < 0, "shorter than header + tag is refused");
	p[0] = 0x81;
	CHECK(veil_pkt_parse(p, 32, &h) < 0, "a reserved type is refused");
	p[0] = 0x80;
	p[2] = 1;
	CHECK(veil_pkt_parse(p, 32, &h) < 0, "non-zero reserved flags are refused");
	p[2] = 0;
	p[1] = 0x02;
	CHECK(veil_pkt_parse(p, 32, &h) < 0, "an unknown flag bit is refused");
	veil_pkt_build(p, 7, 1, 1);
	CHECK(p[1] == VEIL_PKT_FLAG_PHASE && veil_pkt_parse(p, 32, &h) == 0 && h.phase == 1,
	      "the key phase round-trips");
	veil_pkt_build(p, 0, 1, 0);
	CHECK(veil_pkt_parse(p, 32, &h) < 0, "receiver index 0 is refused");
}

int main(void)
{
	ktap_plan(24);
	test_window();
	test_header();
	return ktap_done_totals();
}
