// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the controller's store (userspace/controller/store.c) on a
 * scratch database: tokens work once, expire and can be cancelled; devices
 * enroll, revoke and stay revoked; policy versions; the audit log and its
 * filters; data survives a reopen; the file is private. KTAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store.h"
#include "ktap.h"

#define PLAN 47

static char dir[64], path[128];

static void make_token(struct veil_token *t, const char *device, int64_t expires)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->device, sizeof(t->device), "%s", device);
	snprintf(t->owner, sizeof(t->owner), "alice");
	t->role = VEIL_ROLE_CLIENT;
	snprintf(t->groups, sizeof(t->groups), "eng,ops");
	t->expires = expires;
	t->cert_lifetime = 86400;
}

static void hash_of(uint8_t h[32], int seed)
{
	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(seed * 31 + i);
}

static int count_cb(const struct veil_device *dev, void *ctx)
{
	(void)dev;
	(*(int *)ctx)++;
	return 0;
}

static int token_count_cb(const struct veil_token *tok, void *ctx)
{
	(void)tok;
	(*(int *)ctx)++;
	return 0;
}

struct audit_seen {
	int n;
	char last_name[256];
	uint64_t rx;
};

static int audit_cb(const struct veil_audit *a, void *ctx)
{
	struct audit_seen *s = ctx;

	s->n++;
	snprintf(s->last_name, sizeof(s->last_name), "%s", a->name);
	s->rx = a->rx_bytes;
	return 0;
}

static int stop_cb(const struct veil_audit *a, void *ctx)
{
	(void)a;
	(void)ctx;
	return 7;
}

static void test_tokens(struct veil_store *st)
{
	struct veil_token t, got;
	uint8_t h[32];
	int64_t now = time(NULL);
	int cnt = 0;

	make_token(&t, "laptop1", now + 3600);
	hash_of(h, 1);
	CHECK(veil_store_token_add(st, h, &t) == 0, "a token is added");
	hash_of(h, 2);
	CHECK(veil_store_token_add(st, h, &t) == -EEXIST &&
	      strstr(veil_store_errmsg(st), "pending"),
	      "a second token for a device with a pending one is refused");
	CHECK(veil_store_token_list(st, token_count_cb, &cnt) == 0 && cnt == 1,
	      "the pending token is listed");

	hash_of(h, 1);
	memset(&got, 0, sizeof(got));
	CHECK(veil_store_token_consume(st, h, &got) == 0 && !strcmp(got.device, "laptop1") &&
	      !strcmp(got.owner, "alice") && got.role == VEIL_ROLE_CLIENT &&
	      !strcmp(got.groups, "eng,ops") && got.expires == now + 3600 &&
	      got.cert_lifetime == 86400, "the token is taken with its fields");
	CHECK(veil_store_token_consume(st, h, &got) == -EALREADY &&
	      strstr(veil_store_errmsg(st), "already used"), "a reused token is refused");
	hash_of(h, 99);
	CHECK(veil_store_token_consume(st, h, &got) == -ENOENT &&
	      strstr(veil_store_errmsg(st), "unknown"), "an unknown token is refused");

	make_token(&t, "expired1", now - 1);
	hash_of(h, 3);
	CHECK(veil_store_token_add(st, h, &t) == 0 &&
	      veil_store_token_consume(st, h, &got) == -ETIMEDOUT &&
	      strstr(veil_store_errmsg(st), "expired"), "an expired token is refused");
	make_token(&t, "expired1", now + 60);
	hash_of(h, 4);
	CHECK(veil_store_token_add(st, h, &t) == 0, "a new token replaces an expired unused one");
	hash_of(h, 3);
	CHECK(veil_store_token_consume(st, h, &got) == -ENOENT, "and the expired one is gone");

	CHECK(veil_store_token_cancel(st, "expired1") == 0, "a pending token is cancelled");
	hash_of(h, 4);
	CHECK(veil_store_token_consume(st, h, &got) == -ENOENT, "a cancelled token is refused");
	CHECK(veil_store_token_cancel(st, "nothing") == -ENOENT, "cancelling nothing is -ENOENT");
}

static void test_devices(struct veil_store *st)
{
	struct veil_device dev;
	struct veil_token t;
	uint8_t h[32];
	int64_t now = time(NULL);
	int cnt = 0;

	make_token(&t, "laptop1", now + 3600);
	CHECK(veil_store_device_enroll(st, &t, "0a1b2c", now + 86400, "PEM1") == 0,
	      "a device is enrolled");
	CHECK(veil_store_device_get(st, "laptop1", &dev) == 0 && dev.id > 0 &&
	      !strcmp(dev.owner, "alice") && !strcmp(dev.serial, "0a1b2c") &&
	      dev.not_after == now + 86400 && dev.enrolled >= now && !dev.revoked,
	      "it reads back");
	CHECK(veil_store_device_get(st, "nope", &dev) == -ENOENT &&
	      strstr(veil_store_errmsg(st), "nope"), "an unknown device is -ENOENT, named");
	hash_of(h, 5);
	CHECK(veil_store_token_add(st, h, &t) == -EEXIST &&
	      strstr(veil_store_errmsg(st), "already exists"),
	      "a token for an existing device is refused");
	CHECK(veil_store_device_by_serial(st, "0a1b2c", &dev) == 0 && !strcmp(dev.name, "laptop1"),
	      "a device is found by its serial");
	CHECK(veil_store_device_by_serial(st, "ffff", &dev) == -ENOENT, "an unknown serial is -ENOENT");
	CHECK(veil_store_serial_revoked(st, "0a1b2c") == 0, "a fresh serial is good");
	CHECK(veil_store_serial_revoked(st, "ffff") == -ENOENT, "an unknown serial is not good");

	make_token(&t, "server1", now + 3600);
	t.role = VEIL_ROLE_SERVER;
	t.groups[0] = '\0';
	CHECK(veil_store_device_enroll(st, &t, "1111", now + 86400, "PEM2") == 0 &&
	      veil_store_device_enroll(st, &t, "2222", now + 86400, "PEM3") == 0 &&
	      veil_store_serial_revoked(st, "1111") == 1 &&
	      veil_store_serial_revoked(st, "2222") == 0,
	      "a re-enrollment retires the old certificate");
	CHECK(veil_store_device_list(st, count_cb, &cnt) == 0 && cnt == 2, "two devices listed");

	CHECK(veil_store_device_revoke(st, "laptop1", &dev) == 0 && dev.revoked &&
	      dev.revoked_at >= now, "a device is revoked");
	CHECK(veil_store_serial_revoked(st, "0a1b2c") == 1, "then its serial is revoked");
	CHECK(veil_store_device_get(st, "laptop1", &dev) == 0 && dev.revoked,
	      "and the device reads back revoked");
	CHECK(veil_store_device_revoke(st, "laptop1", &dev) == -EALREADY,
	      "revoking twice is -EALREADY");
	CHECK(veil_store_device_revoke(st, "ghost", &dev) == -ENOENT,
	      "revoking an unknown device is -ENOENT");
}

static void test_policy_audit(struct veil_store *st)
{
	struct audit_seen seen = { 0 };
	struct veil_audit a;
	int64_t v = 0, now_ms = (int64_t)time(NULL) * 1000;
	char *text = NULL;

	CHECK(veil_store_policy_get(st, &text, &v) == -ENOENT && !text &&
	      strstr(veil_store_errmsg(st), "policy load"), "no policy yet is -ENOENT with a hint");
	CHECK(veil_store_policy_set(st, "{\"a\":1}", &v) == 0 && v == 1, "policy version 1");
	CHECK(veil_store_policy_set(st, "{\"a\":2}", &v) == 0 && v == 2, "policy version 2");
	CHECK(veil_store_policy_get(st, &text, &v) == 0 && v == 2 && !strcmp(text, "{\"a\":2}"),
	      "the newest policy is read back");
	free(text);

	memset(&a, 0, sizeof(a));
	a.kind = VEIL_AUDIT_RESOLVE;
	snprintf(a.device, sizeof(a.device), "laptop1");
	snprintf(a.name, sizeof(a.name), "old.corp");
	a.time_ms = now_ms - 7200 * 1000;
	CHECK(veil_store_audit_add(st, &a) == 0, "an old audit record is written");
	a.time_ms = 0;
	snprintf(a.name, sizeof(a.name), "new.corp");
	a.rx_bytes = 1ull << 40;
	CHECK(veil_store_audit_add(st, &a) == 0, "a record dated now is written");
	snprintf(a.device, sizeof(a.device), "server1");
	CHECK(veil_store_audit_add(st, &a) == 0, "a record of another device is written");
	CHECK(veil_store_audit_list(st, 0, NULL, audit_cb, &seen) == 0 && seen.n == 3,
	      "all records are listed");
	memset(&seen, 0, sizeof(seen));
	CHECK(veil_store_audit_list(st, now_ms - 3600 * 1000, "laptop1", audit_cb, &seen) == 0 &&
	      seen.n == 1 && !strcmp(seen.last_name, "new.corp") && seen.rx == 1ull << 40,
	      "since and device filters apply, 64-bit counters kept");
	CHECK(veil_store_audit_list(st, 0, NULL, stop_cb, NULL) == 7,
	      "a callback's non-zero return stops the walk");
	CHECK(!strcmp(veil_audit_kind_name(VEIL_AUDIT_TUNNEL_DOWN), "TUNNEL_DOWN") &&
	      !strcmp(veil_role_name(VEIL_ROLE_ADMIN), "admin"), "kind and role names");
}

/* Children race to take one token: exactly one wins. */
static void test_race(struct veil_store *st)
{
	struct veil_token t;
	uint8_t h[32];
	int i, status, wins = 0, already = 0;
	pid_t pids[4];

	make_token(&t, "raced", time(NULL) + 3600);
	hash_of(h, 42);
	if (veil_store_token_add(st, h, &t)) {
		CHECK(0, "race: token added");
		return;
	}
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct veil_store *s2;
			struct veil_token got;
			int r;

			alarm(20);
			if (veil_store_open(path, &s2))
				_exit(3);
			r = veil_store_token_consume(s2, h, &got);
			veil_store_close(s2);
			_exit(r == 0 ? 0 : r == -EALREADY ? 1 : 2);
		}
	}
	for (i = 0; i < 4; i++) {
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status)) {
			wins += WEXITSTATUS(status) == 0;
			already += WEXITSTATUS(status) == 1;
		}
	}
	CHECK(wins == 1 && already == 3,
	      "four processes on one database take one token exactly once");
}

int main(void)
{
	struct veil_store *st;
	struct stat sb;
	char wal[160], other[160];
	sqlite3 *db;
	FILE *f;
	int cnt = 0;

	ktap_plan(PLAN);
	snprintf(dir, sizeof(dir), "/tmp/veil-store-test.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/controller.db", dir);
	umask(0);
	CHECK(veil_store_open(path, &st) == 0, "a new store opens");
	if (!st) {
		printf("Bail out! %s\n", veil_store_errmsg(NULL));
		return 1;
	}
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	      "the database file is mode 0600 even with umask 0");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	CHECK(stat(wal, &sb) == 0 && (sb.st_mode & 0777) == 0600, "it runs in WAL mode, WAL file 0600");
	CHECK(veil_store_schema_version(st) == 1, "schema version 1");

	test_tokens(st);
	test_devices(st);
	test_policy_audit(st);
	test_race(st);
	veil_store_close(st);

	CHECK(veil_store_open(path, &st) == 0 && veil_store_schema_version(st) == 1 &&
	      veil_store_device_list(st, count_cb, &cnt) == 0 && cnt == 2 &&
	      veil_store_serial_revoked(st, "0a1b2c") == 1,
	      "a reopened store keeps its version and data");
	veil_store_close(st);

	/* A store from a newer veil-controller is refused, not rewritten. */
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	CHECK(veil_store_open(path, &st) == -EPROTO && !st &&
	      strstr(veil_store_errmsg(NULL), "newer"), "a newer schema is refused");

	snprintf(other, sizeof(other), "%s/junk.db", dir);
	f = fopen(other, "w");
	if (f) {
		fputs("this is not a database, but long enough to have a header\n"
		      "................................................................\n", f);
		fclose(f);
	}
	CHECK(veil_store_open(other, &st) < 0 && strstr(veil_store_errmsg(NULL), "junk.db") &&
	      strstr(veil_store_errmsg(NULL), "not a veil controller database"),
	      "a file that is not a database is refused, named, with advice");
	snprintf(other, sizeof(other), "%s/missing/dir.db", dir);
	CHECK(veil_store_open(other, &st) == -ENOENT && strstr(veil_store_errmsg(NULL), "writable"),
	      "a missing directory is reported with advice");

	snprintf(other, sizeof(other), "rm -rf '%s'", dir);
	if (system(other))
		printf("# could not remove %s\n", dir);
	return ktap_done_planned(PLAN);
}
