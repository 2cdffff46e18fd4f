/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KTAP harness shared by the unit tests in tests/unit/ and
 * tests/controller/: CHECK() prints one numbered test point, and on failure
 * a diagnostic line with the file, line and condition.
 *
 *	ktap_plan(N);			"TAP version 13" and "1..N"
 *	CHECK(cond, "name");		"ok K name" or "not ok K name"
 *	return ktap_done_planned(N);	notes a point count other than N
 *	return ktap_done_totals();	prints the pass/fail totals
 *
 * Each helper returns the program's exit status: 0 when every point passed.
 */
#ifndef VEIL_TESTS_KTAP_H
#define VEIL_TESTS_KTAP_H

#include <stdio.h>

static int ktap_n, ktap_failed;

#define CHECK(cond, name)						\
	do {								\
		ktap_n++;						\
		if (cond) {						\
			printf("ok %d %s\n", ktap_n, name);		\
		} else {						\
			printf("not ok %d %s\n# %s:%d: %s\n", ktap_n,	\
			       name, __FILE__, __LINE__, #cond);	\
			ktap_failed++;					\
		}							\
	} while (0)

static inline void ktap_plan(int plan)
{
	printf("TAP version 13\n1..%d\n", plan);
}

/* Fails, with a note, when the program ran other than @plan points. */
static inline int ktap_done_planned(int plan)
{
	if (ktap_n != plan)
		printf("# planned %d points, ran %d\n", plan, ktap_n);
	return ktap_failed || ktap_n != plan;
}

static inline int ktap_done_totals(void)
{
	printf("# totals: pass:%d fail:%d skip:0\n", ktap_n - ktap_failed, ktap_failed);
	return ktap_failed ? 1 : 0;
}

#endif /* VEIL_TESTS_KTAP_H */
