// SPDX-License-Identifier: GPL-2.0
/*
 * Admin commands on the store, shared by the local command line and by
 * admin sessions (the server runs the same function and returns what it
 * printed). Output goes to the caller's streams only: text tables for
 * people, JSON (-j) with the same fields for scripts.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "admin.h"
#include "pki.h"
#include "policy.h"
#include "server.h"
#include "token.h"

#define POLICY_FILE_MAX		(1 << 20)
#define DEFAULT_EXPIRES		(24 * 3600)
#define DEFAULT_CERT_LIFETIME	(90 * 86400)
#define MAX_EXPIRES		(90 * 86400)
#define MAX_CERT_LIFETIME	(3650LL * 86400)

static void usage(FILE *f)
{
	fprintf(f,
		"Admin commands: veil-controller [ -j ] [ --remote [ HOST:PORT ] ] COMMAND\n"
		"where  COMMAND := { device list | device show NAME | device revoke NAME |\n"
		"                    app list |\n"
		"                    policy show | policy check FILE | policy load FILE |\n"
		"                    audit show [ --since WHEN ] [ --device NAME ] |\n"
		"                    enroll add NAME --owner USER --role ROLE [ --groups G,G ]\n"
		"                               [ --expires DURATION ] [ --cert-lifetime DURATION ] |\n"
		"                    session list }\n"
		"       ROLE := { client | server | admin }\n"
		"       DURATION := NUMBER{s|m|h|d|w}, e.g. 30m, 24h, 90d\n"
		"       WHEN := { DURATION (that long ago) | YYYY-MM-DD[THH:MM:SS[Z]] (UTC) |\n"
		"                 UNIX-SECONDS }\n"
		"NAME and USER: 1 to 63 of a-z 0-9 . _ - (USER may also hold @).\n");
}

static int usage_err(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_err(FILE *err, const char *fmt, ...)
{
	va_list ap;

	fprintf(err, "Error: ");
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fprintf(err, "\n");
	usage(err);
	return 2;
}

/* Names: [a-z0-9._-]{1,63}; owners may also hold '@'. */
static bool name_ok(const char *s, bool at)
{
	size_t i, len = strlen(s);

	if (!len || len >= VEIL_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || (at && c == '@')))
			return false;
	}
	return true;
}

static bool groups_ok(const char *s)
{
	char buf[VEIL_GROUPS_MAX], *save = NULL, *g;
	size_t len = strlen(s);

	if (len >= sizeof(buf) || (len && (s[0] == ',' || s[len - 1] == ',' || strstr(s, ",,"))))
		return false;
	memcpy(buf, s, len + 1);
	for (g = strtok_r(buf, ",", &save); g; g = strtok_r(NULL, ",", &save))
		if (!name_ok(g, false))
			return false;
	return true;
}

/* "90", "30s", "30m", "24h", "90d", "2w" -> seconds (bare numbers only if @bare). */
static int parse_duration(const char *s, bool bare, int64_t *out)
{
	char *end;
	unsigned long long v;
	int64_t mult;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v > 1000000000ULL)
		return -EINVAL;
	switch (*end) {
	case '\0':
		if (!bare)
			return -EINVAL;
		mult = 1;
		break;
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 7 * 86400; break;
	default:
		return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	*out = (int64_t)v * mult;
	return 0;
}

/* --since: a duration ago, an ISO 8601 date/time (UTC), or unix seconds. */
static int parse_since(const char *s, int64_t *since_ms)
{
	static const char *const formats[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
		"%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
	};
	struct tm tm;
	int64_t d;
	size_t i;
	char *end;

	if (!parse_duration(s, false, &d)) {
		*since_ms = ((int64_t)time(NULL) - d) * 1000;
		return 0;
	}
	if (strspn(s, "0123456789") == strlen(s) && *s) {
		errno = 0;
		d = (int64_t)strtoll(s, &end, 10);
		if (errno)
			return -EINVAL;
		*since_ms = d * 1000;
		return 0;
	}
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, formats[i], &tm);
		if (end && !*end) {
			*since_ms = (int64_t)timegm(&tm) * 1000;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *iso_time(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!t || !gmtime_r(&tt, &tm)) {
		snprintf(buf, size, "-");
		return buf;
	}
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const char *iso_time_ms(int64_t ms, char *buf, size_t size)
{
	char s[32];

	iso_time(ms / 1000, s, sizeof(s));
	if (strlen(s) == 20)	/* "...:SSZ" -> "...:SS.mmmZ" */
		snprintf(buf, size, "%.19s.%03dZ", s, (int)(ms % 1000));
	else
		snprintf(buf, size, "%s", s);
	return buf;
}

static void json_print(FILE *out, json_object *o)
{
	fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
}

static json_object *json_groups(const char *groups)
{
	char buf[VEIL_GROUPS_MAX], *save = NULL, *g;
	json_object *a = json_object_new_array();

	snprintf(buf, sizeof(buf), "%s", groups);
	for (g = strtok_r(buf, ",", &save); g; g = strtok_r(NULL, ",", &save))
		json_object_array_add(a, json_object_new_string(g));
	return a;
}

/* A text table: rows of cells, printed with each column as wide as it needs. */
#define TABLE_COLS 8

struct table {
	size_t ncols, nrows, cap;
	char **cells;	/* nrows * ncols, row-major */
};

static int table_add(struct table *t, ...)
{
	va_list ap;
	size_t i;
	char **c;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		c = realloc(t->cells, cap * t->ncols * sizeof(*c));
		if (!c)
			return -ENOMEM;
		t->cells = c;
		t->cap = cap;
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncols + i] = strdup(s && *s ? s : "-");
	}
	va_end(ap);
	t->nrows++;	/* even when incomplete: table_free() frees what is there */
	for (i = 0; i < t->ncols; i++)
		if (!t->cells[(t->nrows - 1) * t->ncols + i])
			return -ENOMEM;
	return 0;
}

static void table_print(struct table *t, FILE *out)
{
	size_t w[TABLE_COLS] = { 0 }, r, i, len;

	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			len = strlen(t->cells[r * t->ncols + i]);
			if (len > w[i])
				w[i] = len;
		}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			if (i + 1 == t->ncols)
				fprintf(out, "%s\n", t->cells[r * t->ncols + i]);
			else
				fprintf(out, "%-*s  ", (int)w[i], t->cells[r * t->ncols + i]);
		}
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

static int store_err(struct veil_admin_ctx *ctx, FILE *err)
{
	fprintf(err, "Error: %s.\n", veil_store_errmsg(ctx->store));
	return 1;
}

static const char *device_state(const struct veil_device *d, int64_t now)
{
	if (d->revoked)
		return "revoked";
	if (d->not_after && d->not_after <= now)
		return "expired";
	return "active";
}

/* device list */

struct list_ctx {
	struct table *t;
	json_object *arr;
	int64_t now;
	int ret;
};

static json_object *device_json(const struct veil_device *d, int64_t now)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "owner", json_object_new_string(d->owner));
	json_object_object_add(o, "role", json_object_new_string(veil_role_name(d->role)));
	json_object_object_add(o, "groups", json_groups(d->groups));
	json_object_object_add(o, "serial", d->serial[0] ? json_object_new_string(d->serial) : NULL);
	json_object_object_add(o, "enrolled", json_object_new_int64(d->enrolled));
	json_object_object_add(o, "expires", json_object_new_int64(d->not_after));
	json_object_object_add(o, "state", json_object_new_string(device_state(d, now)));
	if (d->revoked)
		json_object_object_add(o, "revoked_at", json_object_new_int64(d->revoked_at));
	return o;
}

static json_object *pending_json(const struct veil_token *tok, int64_t now)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(tok->device));
	json_object_object_add(o, "owner", json_object_new_string(tok->owner));
	json_object_object_add(o, "role", json_object_new_string(veil_role_name(tok->role)));
	json_object_object_add(o, "groups", json_groups(tok->groups));
	json_object_object_add(o, "serial", NULL);
	json_object_object_add(o, "enrolled", json_object_new_int64(0));
	json_object_object_add(o, "expires", json_object_new_int64(tok->expires));
	json_object_object_add(o, "state", json_object_new_string(tok->expires > now ? "pending" :
								   "token-expired"));
	return o;
}

static int list_device_cb(const struct veil_device *d, void *data)
{
	struct list_ctx *l = data;
	char exp[32];

	if (l->arr)
		return json_object_array_add(l->arr, device_json(d, l->now)) ? -ENOMEM : 0;
	return table_add(l->t, d->name, d->owner, veil_role_name(d->role), d->groups, d->serial,
			 iso_time(d->not_after, exp, sizeof(exp)), device_state(d, l->now));
}

static int list_token_cb(const struct veil_token *tok, void *data)
{
	struct list_ctx *l = data;
	char exp[32];

	if (l->arr)
		return json_object_array_add(l->arr, pending_json(tok, l->now)) ? -ENOMEM : 0;
	return table_add(l->t, tok->device, tok->owner, veil_role_name(tok->role), tok->groups,
			 "-", iso_time(tok->expires, exp, sizeof(exp)),
			 tok->expires > l->now ? "pending" : "token-expired");
}

static int device_list(struct veil_admin_ctx *ctx, FILE *out, FILE *err)
{
	struct table t = { .ncols = 7 };
	struct list_ctx l = { .t = &t, .now = time(NULL) };
	int ret;

	if (ctx->json)
		l.arr = json_object_new_array();
	else
		table_add(&t, "NAME", "OWNER", "ROLE", "GROUPS", "SERIAL", "EXPIRES", "STATE");
	ret = veil_store_device_list(ctx->store, list_device_cb, &l);
	if (!ret)
		ret = veil_store_token_list(ctx->store, list_token_cb, &l);
	if (ret == -ENOMEM)
		fprintf(err, "Error: out of memory while listing devices.\n");
	else if (ret)
		store_err(ctx, err);
	else if (l.arr)
		json_print(out, l.arr);
	else if (t.nrows > 1)
		table_print(&t, out);
	json_object_put(l.arr);
	table_free(&t);
	return ret ? 1 : 0;
}

/* A pending enrollment token for @name, if any. */
struct find_token {
	const char *name;
	struct veil_token tok;
	bool found;
};

static int find_token_cb(const struct veil_token *tok, void *data)
{
	struct find_token *f = data;

	if (strcmp(tok->device, f->name))
		return 0;
	f->tok = *tok;
	f->found = true;
	return 0;
}

static int device_show(struct veil_admin_ctx *ctx, const char *name, FILE *out, FILE *err)
{
	struct find_token f = { .name = name };
	struct veil_device d;
	int64_t now = time(NULL);
	char t1[32], t2[32];
	json_object *o;
	int ret;

	ret = veil_store_device_get(ctx->store, name, &d);
	if (ret == -ENOENT) {
		if (veil_store_token_list(ctx->store, find_token_cb, &f))
			return store_err(ctx, err);
		if (!f.found) {
			fprintf(err, "Error: no device named \"%s\" (see \"device list\").\n", name);
			return 1;
		}
		if (ctx->json) {
			o = pending_json(&f.tok, now);
			json_print(out, o);
			json_object_put(o);
			return 0;
		}
		fprintf(out, "device %s\n  owner %s  role %s  groups %s\n"
			"  state %s (not enrolled yet; its token expires %s)\n", name,
			f.tok.owner, veil_role_name(f.tok.role), *f.tok.groups ? f.tok.groups : "-",
			f.tok.expires > now ? "pending" : "token-expired",
			iso_time(f.tok.expires, t1, sizeof(t1)));
		return 0;
	} else if (ret) {
		return store_err(ctx, err);
	}
	if (ctx->json) {
		o = device_json(&d, now);
		json_print(out, o);
		json_object_put(o);
		return 0;
	}
	fprintf(out, "device %s\n  owner %s  role %s  groups %s\n  state %s\n"
		"  serial %s\n  enrolled %s  expires %s\n", d.name, d.owner,
		veil_role_name(d.role), *d.groups ? d.groups : "-", device_state(&d, now),
		*d.serial ? d.serial : "-", iso_time(d.enrolled, t1, sizeof(t1)),
		iso_time(d.not_after, t2, sizeof(t2)));
	if (d.revoked)
		fprintf(out, "  revoked %s\n", iso_time(d.revoked_at, t1, sizeof(t1)));
	return 0;
}

static void audit(struct veil_admin_ctx *ctx, enum veil_audit_kind kind, const char *device,
		  const char *user, const char *name, const char *reason, FILE *err)
{
	struct veil_audit a;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	a.allowed = true;
	snprintf(a.device, sizeof(a.device), "%s", device ? device : "");
	snprintf(a.user, sizeof(a.user), "%s", user ? user : "");
	snprintf(a.name, sizeof(a.name), "%s", name ? name : "");
	snprintf(a.reason, sizeof(a.reason), "%s", reason);
	if (veil_store_audit_add(ctx->store, &a))
		fprintf(err, "Warning: the change was made but not audited: %s.\n",
			veil_store_errmsg(ctx->store));
}

static const char *actor(const struct veil_admin_ctx *ctx)
{
	return ctx->actor && *ctx->actor ? ctx->actor : "local";
}

static int device_revoke(struct veil_admin_ctx *ctx, const char *name, FILE *out, FILE *err)
{
	struct veil_device d;
	char reason[128];
	int ret;

	ret = veil_store_device_revoke(ctx->store, name, &d);
	if (ret == -ENOENT) {
		/* Not enrolled: withdraw its pending token, if it has one. */
		ret = veil_store_token_cancel(ctx->store, name);
		if (ret == -ENOENT) {
			fprintf(err, "Error: no device or pending enrollment named \"%s\" "
				"(see \"device list\").\n", name);
			return 1;
		} else if (ret) {
			return store_err(ctx, err);
		}
		snprintf(reason, sizeof(reason), "pending enrollment token cancelled by %s",
			 actor(ctx));
		audit(ctx, VEIL_AUDIT_REVOKE, name, NULL, "token", reason, err);
		fprintf(out, "Cancelled the pending enrollment token of \"%s\".\n", name);
		return 0;
	} else if (ret == -EALREADY) {
		fprintf(err, "Error: device \"%s\" is already revoked.\n", name);
		return 1;
	} else if (ret) {
		return store_err(ctx, err);
	}
	snprintf(reason, sizeof(reason), "revoked by %s", actor(ctx));
	audit(ctx, VEIL_AUDIT_REVOKE, d.name, d.owner, d.serial, reason, err);
	ctx->changed = true;
	fprintf(out, "Revoked device \"%s\" (certificate %s): its sessions are cut and it "
		"cannot connect again.\n", d.name, *d.serial ? d.serial : "-");
	return 0;
}

static int do_device(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err)
{
	if (argc < 1 || !strcmp(argv[0], "list")) {
		if (argc > 1)
			return usage_err(err, "\"device list\" takes no arguments.");
		return device_list(ctx, out, err);
	}
	if (!strcmp(argv[0], "show") || !strcmp(argv[0], "revoke")) {
		if (argc != 2)
			return usage_err(err, "\"device %s\" needs one device name.", argv[0]);
		if (!name_ok(argv[1], false))
			return usage_err(err, "\"%s\" is not a device name.", argv[1]);
		return argv[0][0] == 's' ? device_show(ctx, argv[1], out, err) :
					   device_revoke(ctx, argv[1], out, err);
	}
	return usage_err(err, "\"device %s\" is unknown.", argv[0]);
}

/* Policy */

static struct veil_policy *running_policy(struct veil_admin_ctx *ctx, FILE *err, int *ret)
{
	struct veil_policy_error perr;
	struct veil_policy *p;
	int64_t version;
	char *text;

	*ret = veil_store_policy_get(ctx->store, &text, &version);
	if (*ret)
		return NULL;
	memset(&perr, 0, sizeof(perr));
	p = veil_policy_parse(text, strlen(text), &perr);
	free(text);
	if (!p) {
		fprintf(err, "Error: the stored policy (version %" PRId64 ") does not parse: %s "
			"(load a corrected one with \"policy load FILE\").\n", version, perr.msg);
		*ret = -EINVAL;
	}
	return p;
}

struct app_ctx {
	struct table *t;
	json_object *arr;
};

static int app_cb(const char *app, const char *const *names, size_t n_names, const char *server,
		  const char *target, const char *ports, void *data)
{
	struct app_ctx *a = data;
	char list[1024] = "";
	size_t used = 0, i;
	json_object *o, *arr;

	if (a->arr) {
		o = json_object_new_object();
		arr = json_object_new_array();
		for (i = 0; i < n_names; i++)
			json_object_array_add(arr, json_object_new_string(names[i]));
		json_object_object_add(o, "app", json_object_new_string(app));
		json_object_object_add(o, "names", arr);
		json_object_object_add(o, "server", json_object_new_string(server ? server : ""));
		json_object_object_add(o, "target", json_object_new_string(target ? target : ""));
		json_object_object_add(o, "ports", json_object_new_string(ports ? ports : ""));
		return json_object_array_add(a->arr, o) ? -ENOMEM : 0;
	}
	for (i = 0; i < n_names && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "",
					 names[i]);
	return table_add(a->t, app, list, server, target, ports);
}

static int app_list(struct veil_admin_ctx *ctx, FILE *out, FILE *err)
{
	struct table t = { .ncols = 5 };
	struct app_ctx a = { .t = &t };
	struct veil_policy *p;
	int ret;

	p = running_policy(ctx, err, &ret);
	if (ret == -ENOENT) {
		if (ctx->json)
			fprintf(out, "[]\n");
		fprintf(err, "No policy is loaded, so there are no apps (load one with "
			"\"veil-controller policy load FILE\").\n");
		return 0;
	} else if (ret == -EINVAL) {
		return 1;
	} else if (ret) {
		return store_err(ctx, err);
	}
	if (ctx->json)
		a.arr = json_object_new_array();
	else
		table_add(&t, "APP", "NAMES", "SERVER", "TARGET", "PORTS");
	ret = veil_policy_apps(p, app_cb, &a);
	if (ret) {
		fprintf(err, "Error: listing the policy's apps failed: %s.\n", strerror(-ret));
	} else if (a.arr) {
		json_print(out, a.arr);
	} else {
		table_print(&t, out);
	}
	json_object_put(a.arr);
	table_free(&t);
	veil_policy_free(p);
	return ret ? 1 : 0;
}

static int do_app(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err)
{
	if (argc < 1 || (!strcmp(argv[0], "list") && argc == 1))
		return app_list(ctx, out, err);
	return usage_err(err, "\"app %s\" is unknown.", argv[0]);
}

static int policy_show(struct veil_admin_ctx *ctx, FILE *out, FILE *err)
{
	json_object *o, *doc;
	int64_t version;
	char *text;
	int ret;

	ret = veil_store_policy_get(ctx->store, &text, &version);
	if (ret == -ENOENT) {
		fprintf(err, "No policy is loaded: every request is denied (load one with "
			"\"veil-controller policy load FILE\").\n");
		return 1;
	} else if (ret) {
		return store_err(ctx, err);
	}
	if (ctx->json) {
		o = json_object_new_object();
		doc = json_tokener_parse(text);
		json_object_object_add(o, "version", json_object_new_int64(version));
		json_object_object_add(o, "policy", doc ? doc : json_object_new_string(text));
		json_print(out, o);
		json_object_put(o);
	} else {
		fprintf(out, "# policy version %" PRId64 "\n%s", version, text);
		if (*text && text[strlen(text) - 1] != '\n')
			fputc('\n', out);
	}
	free(text);
	return 0;
}

/* Read a policy file whole (at most POLICY_FILE_MAX bytes). */
static char *read_file(const char *path, size_t *len, FILE *err)
{
	struct stat sb;
	char *buf;
	ssize_t r;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(err, "Error: cannot read %s: %s.\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fprintf(err, "Error: %s is not a regular file.\n", path);
		close(fd);
		return NULL;
	}
	if (sb.st_size > POLICY_FILE_MAX) {
		fprintf(err, "Error: %s is larger than %d bytes: not a policy.\n", path,
			POLICY_FILE_MAX);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		fprintf(err, "Error: out of memory reading %s.\n", path);
		close(fd);
		return NULL;
	}
	while (got < (size_t)sb.st_size) {
		r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(err, "Error: cannot read %s: %s.\n", path,
				r < 0 ? strerror(errno) : "it shrank while being read");
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

static int policy_check_load(struct veil_admin_ctx *ctx, const char *file, bool load, FILE *out,
			     FILE *err)
{
	struct veil_policy_error perr;
	struct veil_policy *p;
	char reason[300], vname[32], *text;
	int64_t version;
	size_t len;
	int ret;

	if (ctx->input) {
		if (ctx->input_len > POLICY_FILE_MAX) {
			fprintf(err, "Error: %s is larger than %d bytes: not a policy.\n", file,
				POLICY_FILE_MAX);
			return 1;
		}
		text = strndup(ctx->input, ctx->input_len);
		len = ctx->input_len;
		if (!text) {
			fprintf(err, "Error: out of memory.\n");
			return 1;
		}
	} else if (ctx->remote) {
		fprintf(err, "Error: no content was sent for %s.\n", file);
		return 1;
	} else {
		text = read_file(file, &len, err);
		if (!text)
			return 1;
	}
	if (strlen(text) != len) {
		fprintf(err, "%s: the file holds a NUL byte: not a policy.\n", file);
		free(text);
		return 1;
	}
	memset(&perr, 0, sizeof(perr));
	p = veil_policy_parse(text, len, &perr);
	if (!p) {
		if (perr.line > 0)
			fprintf(err, "%s:%d:%d: %s\n", file, perr.line, perr.column, perr.msg);
		else
			fprintf(err, "%s: %s\n", file, perr.msg[0] ? perr.msg : "invalid policy");
		free(text);
		return 1;
	}
	veil_policy_free(p);
	if (!load) {
		fprintf(out, "%s: the policy is valid.\n", file);
		free(text);
		return 0;
	}
	ret = veil_store_policy_set(ctx->store, text, &version);
	free(text);
	if (ret)
		return store_err(ctx, err);
	snprintf(vname, sizeof(vname), "version %" PRId64, version);
	snprintf(reason, sizeof(reason), "loaded by %s from %s", actor(ctx), file);
	audit(ctx, VEIL_AUDIT_POLICY, NULL, NULL, vname, reason, err);
	ctx->changed = true;
	fprintf(out, "Loaded %s as policy version %" PRId64 ".\n", file, version);
	return 0;
}

static int do_policy(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err)
{
	if (argc < 1 || (!strcmp(argv[0], "show") && argc == 1))
		return policy_show(ctx, out, err);
	if (!strcmp(argv[0], "check") || !strcmp(argv[0], "load")) {
		if (argc != 2)
			return usage_err(err, "\"policy %s\" needs one FILE.", argv[0]);
		return policy_check_load(ctx, argv[1], argv[0][0] == 'l', out, err);
	}
	return usage_err(err, "\"policy %s\" is unknown.", argv[0]);
}

/* audit show */

struct audit_ctx {
	FILE *out;
	bool json;
	size_t count;
};

static int audit_cb(const struct veil_audit *a, void *data)
{
	struct audit_ctx *c = data;
	char when[40], extra[64] = "";
	json_object *o;

	iso_time_ms(a->time_ms, when, sizeof(when));
	if (c->json) {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(a->id));
		json_object_object_add(o, "time", json_object_new_string(when));
		json_object_object_add(o, "time_ms", json_object_new_int64(a->time_ms));
		json_object_object_add(o, "kind", json_object_new_string(veil_audit_kind_name(a->kind)));
		json_object_object_add(o, "device", json_object_new_string(a->device));
		json_object_object_add(o, "user", json_object_new_string(a->user));
		json_object_object_add(o, "name", json_object_new_string(a->name));
		json_object_object_add(o, "allowed", json_object_new_boolean(a->allowed));
		json_object_object_add(o, "reason", json_object_new_string(a->reason));
		json_object_object_add(o, "rx_bytes", json_object_new_uint64(a->rx_bytes));
		json_object_object_add(o, "tx_bytes", json_object_new_uint64(a->tx_bytes));
		fprintf(c->out, "%s%s", c->count ? ",\n" : "[",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		if (!c->count)
			fprintf(c->out, "%-24s %-11s %-16s %-12s %-5s %-28s %s\n", "TIME", "KIND",
				"DEVICE", "USER", "OK", "NAME", "REASON");
		if (a->rx_bytes || a->tx_bytes)
			snprintf(extra, sizeof(extra), " (rx %" PRIu64 " tx %" PRIu64 ")",
				 a->rx_bytes, a->tx_bytes);
		fprintf(c->out, "%-24s %-11s %-16s %-12s %-5s %-28s %s%s\n", when,
			veil_audit_kind_name(a->kind), *a->device ? a->device : "-",
			*a->user ? a->user : "-", a->allowed ? "yes" : "no",
			*a->name ? a->name : "-", a->reason, extra);
	}
	c->count++;
	return 0;
}

static int do_audit(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err)
{
	struct audit_ctx c = { .out = out, .json = ctx->json };
	const char *device = NULL;
	int64_t since = 0;
	int i, ret;

	if (argc < 1 || strcmp(argv[0], "show"))
		return usage_err(err, "\"audit %s\" is unknown.", argc ? argv[0] : "");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--since") && i + 1 < argc) {
			if (parse_since(argv[++i], &since))
				return usage_err(err, "\"%s\" is not a time: give a duration "
						 "(1h, 30m, 2d), YYYY-MM-DDTHH:MM:SSZ or unix "
						 "seconds.", argv[i]);
		} else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			device = argv[++i];
			if (!name_ok(device, false))
				return usage_err(err, "\"%s\" is not a device name.", device);
		} else {
			return usage_err(err, "\"audit show\" does not take \"%s\"%s.", argv[i],
					 i + 1 == argc && argv[i][0] == '-' ? " without a value" : "");
		}
	}
	ret = veil_store_audit_list(ctx->store, since, device, audit_cb, &c);
	if (c.json)
		fprintf(out, "%s]\n", c.count ? "" : "[");
	if (ret)
		return store_err(ctx, err);
	return 0;
}

/* enroll add */

/* One "key=value" line of STATE_DIR/controller.conf. */
static int conf_get(const char *dir, const char *key, char *val, size_t size, FILE *err)
{
	char path[4096], line[512];
	size_t klen = strlen(key), len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/controller.conf", dir);
	f = fopen(path, "re");
	if (!f) {
		fprintf(err, "Error: cannot read %s: %s (run \"veil-controller init\").\n", path,
			strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		len = strcspn(line, "\r\n");
		line[len] = '\0';
		if (!strncmp(line, key, klen) && line[klen] == '=') {
			fclose(f);
			len = strlen(line + klen + 1);
			if (len >= size) {
				fprintf(err, "Error: the \"%s=\" line of %s is too long.\n", key,
					path);
				return -EINVAL;
			}
			memcpy(val, line + klen + 1, len + 1);
			return 0;
		}
	}
	fclose(f);
	fprintf(err, "Error: %s has no \"%s=\" line (add one, e.g. \"address=ctl.example.com:4443\").\n",
		path, key);
	return -ENOENT;
}

static int ca_fingerprint(const char *dir, char fpr[VEIL_FPR_LEN + 1], FILE *err)
{
	char path[4096];
	X509 *x;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	f = fopen(path, "re");
	if (!f) {
		fprintf(err, "Error: cannot read the CA certificate %s: %s (run \"veil-controller "
			"init\").\n", path, strerror(errno));
		return -errno;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x) {
		fprintf(err, "Error: %s is not a PEM certificate: restore it from a backup.\n", path);
		return -EINVAL;
	}
	veil_cert_fingerprint(x, fpr);
	X509_free(x);
	return 0;
}

static int random_bytes(uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t r;

	while (got < len) {
		r = getrandom(buf + got, len - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		got += (size_t)r;
	}
	return 0;
}

static int enroll_add(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err)
{
	struct veil_enroll_token et;
	struct veil_token tok;
	uint8_t hash[32];
	char token[1024], exp[32];
	const char *owner = NULL, *role = NULL, *groups = "";
	int64_t expires = DEFAULT_EXPIRES, lifetime = DEFAULT_CERT_LIFETIME;
	json_object *o;
	int i, ret;

	if (argc < 1 || argv[0][0] == '-')
		return usage_err(err, "\"enroll add\" needs a device NAME first.");
	if (!name_ok(argv[0], false))
		return usage_err(err, "\"%s\" is not a device name (1 to 63 of a-z 0-9 . _ -).",
				 argv[0]);
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			return usage_err(err, "\"%s\" needs a value.", opt);
		i++;
		if (!strcmp(opt, "--owner")) {
			owner = val;
		} else if (!strcmp(opt, "--role")) {
			role = val;
		} else if (!strcmp(opt, "--groups")) {
			groups = val;
		} else if (!strcmp(opt, "--expires")) {
			if (parse_duration(val, true, &expires) || expires < 60 ||
			    expires > MAX_EXPIRES)
				return usage_err(err, "--expires \"%s\": give a duration from 1m "
						 "to 90d (e.g. 24h).", val);
		} else if (!strcmp(opt, "--cert-lifetime")) {
			if (parse_duration(val, true, &lifetime) || lifetime < 3600 ||
			    lifetime > MAX_CERT_LIFETIME)
				return usage_err(err, "--cert-lifetime \"%s\": give a duration "
						 "from 1h to 3650d (e.g. 90d).", val);
		} else {
			return usage_err(err, "\"enroll add\" does not take \"%s\".", opt);
		}
	}
	if (!owner || !role)
		return usage_err(err, "\"enroll add\" needs --owner USER and --role ROLE.");
	memset(&tok, 0, sizeof(tok));
	if (!name_ok(owner, true))
		return usage_err(err, "\"%s\" is not a user name (1 to 63 of a-z 0-9 . _ - @).",
				 owner);
	if (veil_role_parse(role, &tok.role))
		return usage_err(err, "\"%s\" is not a role: client, server or admin.", role);
	if (!groups_ok(groups))
		return usage_err(err, "--groups \"%s\": give group names (a-z 0-9 . _ -) "
				 "separated by commas.", groups);
	snprintf(tok.device, sizeof(tok.device), "%s", argv[0]);
	snprintf(tok.owner, sizeof(tok.owner), "%s", owner);
	snprintf(tok.groups, sizeof(tok.groups), "%s", groups);
	tok.expires = (int64_t)time(NULL) + expires;
	tok.cert_lifetime = lifetime;

	memset(&et, 0, sizeof(et));
	if (conf_get(ctx->state_dir, "address", et.address, sizeof(et.address), err) ||
	    ca_fingerprint(ctx->state_dir, et.ca_fpr, err))
		return 1;
	ret = random_bytes(et.secret, sizeof(et.secret));
	if (ret) {
		fprintf(err, "Error: no random bytes from the kernel: %s.\n", strerror(-ret));
		return 1;
	}
	if (EVP_Digest(et.secret, sizeof(et.secret), hash, NULL, EVP_sha256(), NULL) != 1) {
		explicit_bzero(&et, sizeof(et));
		fprintf(err, "Error: hashing the token's secret failed.\n");
		return 1;
	}
	ret = veil_token_format(&et, token, sizeof(token));
	explicit_bzero(&et, sizeof(et));
	if (ret < 0) {
		fprintf(err, "Error: the controller address in %s/controller.conf is not "
			"HOST:PORT or [IPv6]:PORT: fix its \"address=\" line.\n", ctx->state_dir);
		return 1;
	}
	ret = veil_store_token_add(ctx->store, hash, &tok);
	if (ret) {
		explicit_bzero(token, sizeof(token));
		return store_err(ctx, err);
	}
	iso_time(tok.expires, exp, sizeof(exp));
	if (ctx->json) {
		o = json_object_new_object();
		json_object_object_add(o, "device", json_object_new_string(tok.device));
		json_object_object_add(o, "owner", json_object_new_string(tok.owner));
		json_object_object_add(o, "role", json_object_new_string(veil_role_name(tok.role)));
		json_object_object_add(o, "groups", json_groups(tok.groups));
		json_object_object_add(o, "expires", json_object_new_int64(tok.expires));
		json_object_object_add(o, "cert_lifetime", json_object_new_int64(tok.cert_lifetime));
		json_object_object_add(o, "token", json_object_new_string(token));
		json_print(out, o);
		json_object_put(o);
	} else {
		fprintf(out, "%s\n", token);
		fprintf(err, "Token for device \"%s\" (owner %s, role %s), usable once until %s.\n"
			"On the device, run: veil enroll TOKEN\n", tok.device, tok.owner,
			veil_role_name(tok.role), exp);
	}
	explicit_bzero(token, sizeof(token));
	return 0;
}

static int do_enroll(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err)
{
	if (argc >= 1 && !strcmp(argv[0], "add"))
		return enroll_add(ctx, argc - 1, argv + 1, out, err);
	return usage_err(err, "\"enroll %s\" is unknown.", argc ? argv[0] : "");
}

static int do_session(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err)
{
	int ret;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "list")))
		return usage_err(err, "\"session %s\" is unknown.", argv[0]);
	if (ctx->remote) {
		fprintf(err, "Error: \"session list\" is answered by the server itself.\n");
		return 1;
	}
	ret = veil_server_query_sessions(ctx->state_dir, ctx->json, out, err);
	if (ret == -ENOENT || ret == -ECONNREFUSED) {
		fprintf(err, "Error: no controller is running on %s (start it with "
			"\"veil-controller serve\").\n", ctx->state_dir);
		return 1;
	}
	if (ret < 0) {
		fprintf(err, "Error: asking the running controller failed: %s.\n", strerror(-ret));
		return 1;
	}
	return ret;
}

int veil_admin_exec(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err)
{
	static const struct {
		const char *name;
		int (*fn)(struct veil_admin_ctx *ctx, int argc, char **argv, FILE *out, FILE *err);
	} objects[] = {
		{ "device", do_device },
		{ "app", do_app },
		{ "policy", do_policy },
		{ "audit", do_audit },
		{ "enroll", do_enroll },
		{ "session", do_session },
	};
	size_t i;

	if (argc < 1)
		return usage_err(err, "no command given.");
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		usage(out);
		return 0;
	}
	for (i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		if (!strcmp(argv[0], objects[i].name))
			return objects[i].fn(ctx, argc - 1, argv + 1, out, err);
	fprintf(err, "Command \"%s\" is unknown, try \"veil-controller help\".\n", argv[0]);
	return 2;
}
