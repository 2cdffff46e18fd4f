// SPDX-License-Identifier: GPL-2.0
/*
 * Access policy: the JSON document (Documentation/policy.md), its decisions
 * and the part of it each node receives.
 *
 * Loading is three steps over the same text:
 *
 *   1. json-c parses it (strict); a syntax error carries json-c's byte offset.
 *   2. A position scanner walks the text once and records, in document order,
 *      the offset of every value and of every object key. json-c keeps
 *      objects in insertion order, so walking the json-c tree and the
 *      position list side by side gives every value its place. The scanner
 *      also refuses what json-c lets through but JSON does not (single
 *      quotes, NaN, raw control characters) and finds duplicate keys.
 *   3. The document is checked against the format and compiled into lookup
 *      tables: names → app, per app the rules naming it, per rule the set of
 *      users, devices and groups it covers with nested groups expanded.
 *
 * The first error stops the load (longjmp back to veil_policy_parse, which
 * frees everything: the policy lives in one arena).
 */
#include <ctype.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "policy.h"

#define DOC_MAX		(1u << 20)	/* bytes in a document */
#define LIST_MAX	4096		/* entries in any list or map */
#define IDENT_MAX	63		/* user, device, group, app, rule, posture names */
#define NAME_MAX_LEN	253		/* DNS names */
#define TARGET_MAX	255
#define VREQ_MAX	64		/* "6.1-6.12" */
#define VER_PARTS	8
#define DEPTH_MAX	64

/* User input is quoted in messages, cut to this many characters. */
#define Q "%.80s"

/* --- arena: every allocation of a policy, freed at once --- */

#define CHUNK_SIZE	(64u << 10)

struct chunk {
	struct chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct chunk *head;
};

static void *arena_alloc(struct arena *a, size_t size)
{
	struct chunk *c = a->head;
	void *p;

	if (size > ((size_t)1 << 30))
		return NULL;
	size = size ? (size + 15) & ~(size_t)15 : 16;
	if (!c || c->size - c->used < size) {
		size_t cs = size > CHUNK_SIZE ? size : CHUNK_SIZE;

		c = calloc(1, sizeof(*c) + cs);
		if (!c)
			return NULL;
		c->size = cs;
		if (size > CHUNK_SIZE / 4 && a->head) {
			/* Keep the current chunk's free space in use. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = c->data + c->used;
	c->used += size;
	return p;
}

static void arena_free(struct arena *a)
{
	struct chunk *c, *next;

	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* --- string maps: open addressing, keys owned by the policy --- */

struct sent {
	const char *s;		/* NULL: free slot */
	uint32_t h;
	uint32_t v;
	uint8_t tag;
};

struct smap {
	struct sent *e;
	uint32_t mask;		/* capacity - 1; 0 with e == NULL when empty */
	uint32_t n;
};

/* Tags of a rule's subject set. */
#define TAG_USER	'u'
#define TAG_DEVICE	'd'
#define TAG_GROUP	'g'

static uint32_t hash_str(uint8_t tag, const char *s)
{
	uint32_t h = 2166136261u ^ tag;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static bool smap_init(struct arena *a, struct smap *m, size_t n)
{
	uint32_t cap = 8;

	while (cap < 2 * n)
		cap <<= 1;
	m->e = arena_alloc(a, (size_t)cap * sizeof(*m->e));
	m->mask = cap - 1;
	m->n = 0;
	return m->e != NULL;
}

static const struct sent *smap_find(const struct smap *m, uint8_t tag, const char *s)
{
	uint32_t h, i;

	if (!m->e || !s)
		return NULL;
	h = hash_str(tag, s);
	for (i = h & m->mask;; i = (i + 1) & m->mask) {
		const struct sent *e = &m->e[i];

		if (!e->s)
			return NULL;
		if (e->h == h && e->tag == tag && !strcmp(e->s, s))
			return e;
	}
}

/* Adds (tag, s) → v unless present. Returns the entry, NULL when full. */
static struct sent *smap_put(struct smap *m, uint8_t tag, const char *s, uint32_t v, bool *added)
{
	uint32_t h = hash_str(tag, s), i;

	*added = false;
	if (!m->e)
		return NULL;
	for (i = h & m->mask;; i = (i + 1) & m->mask) {
		struct sent *e = &m->e[i];

		if (!e->s) {
			if ((m->n + 1) * 2 > m->mask + 1)
				return NULL;
			*e = (struct sent){ .s = s, .h = h, .v = v, .tag = tag };
			m->n++;
			*added = true;
			return e;
		}
		if (e->h == h && e->tag == tag && !strcmp(e->s, s))
			return e;
	}
}

/* --- ports --- */

struct ports {
	struct veil_port_range r[VEIL_POLICY_MAX_PORTS];
	size_t n;
};

/*
 * Adds a range, keeping the list sorted by (protocol, first port) with
 * overlapping and adjacent ranges merged. -1 when it would not fit.
 */
static int ports_add(struct ports *ps, uint8_t proto, uint16_t first, uint16_t last)
{
	struct veil_port_range out[VEIL_POLICY_MAX_PORTS + 1];
	struct veil_port_range nr = { proto, first, last };
	size_t i, n = 0;
	bool placed = false;

	for (i = 0; i < ps->n; i++) {
		const struct veil_port_range *r = &ps->r[i];

		if (r->proto == proto && (uint32_t)r->first <= (uint32_t)nr.last + 1 &&
		    (uint32_t)nr.first <= (uint32_t)r->last + 1) {
			if (r->first < nr.first)
				nr.first = r->first;
			if (r->last > nr.last)
				nr.last = r->last;
			continue;
		}
		if (!placed && (r->proto > proto || (r->proto == proto && r->first > nr.last))) {
			out[n++] = nr;
			placed = true;
		}
		out[n++] = *r;
	}
	if (!placed)
		out[n++] = nr;
	if (n > VEIL_POLICY_MAX_PORTS)
		return -1;
	memcpy(ps->r, out, n * sizeof(out[0]));
	ps->n = n;
	return 0;
}

static bool ports_cover(const struct ports *ps, const struct veil_port_range *x)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (ps->r[i].proto == x->proto && ps->r[i].first <= x->first &&
		    x->last <= ps->r[i].last)
			return true;
	return false;
}

static int port_text(char *buf, size_t size, const struct veil_port_range *r)
{
	const char *proto = r->proto == IPPROTO_UDP ? "udp" : "tcp";

	if (r->first == r->last)
		return snprintf(buf, size, "%s/%u", proto, r->first);
	return snprintf(buf, size, "%s/%u-%u", proto, r->first, r->last);
}

/* Union into a decision: grants nothing past VEIL_POLICY_MAX_PORTS ranges. */
static void ports_union(struct veil_decision *d, const struct ports *ps)
{
	struct ports u;
	size_t i;

	memcpy(u.r, d->ports, d->n_ports * sizeof(u.r[0]));
	u.n = d->n_ports;
	for (i = 0; i < ps->n; i++)
		if (ports_add(&u, ps->r[i].proto, ps->r[i].first, ps->r[i].last) < 0)
			break;
	memcpy(d->ports, u.r, u.n * sizeof(u.r[0]));
	d->n_ports = u.n;
}

/* --- versions --- */

struct version {
	uint32_t c[VER_PARTS];
};

enum vop { VOP_NONE, VOP_GE, VOP_GT, VOP_LE, VOP_LT, VOP_EQ, VOP_RANGE };

struct vreq {
	enum vop op;
	struct version a, b;
	const char *ta, *tb;	/* the versions as written */
};

/*
 * The numeric head of a version: digits and dots up to the first other
 * character ("6.1.0-26-amd64" → 6.1.0). Missing parts are 0. Returns the
 * length of the head (trailing dots dropped), 0 when it has no digit first.
 */
static size_t version_head(const char *s, struct version *v)
{
	size_t i = 0, end = 0;
	int part = 0;
	uint64_t x = 0;

	memset(v, 0, sizeof(*v));
	if (!s || !isdigit((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i]; i++) {
		if (isdigit((unsigned char)s[i])) {
			x = x * 10 + (uint64_t)(s[i] - '0');
			if (x > UINT32_MAX)
				x = UINT32_MAX;
			if (part < VER_PARTS)
				v->c[part] = (uint32_t)x;
			end = i + 1;
		} else if (s[i] == '.') {
			part++;
			x = 0;
		} else {
			break;
		}
	}
	return end;
}

static int version_cmp(const struct version *a, const struct version *b)
{
	int i;

	for (i = 0; i < VER_PARTS; i++)
		if (a->c[i] != b->c[i])
			return a->c[i] < b->c[i] ? -1 : 1;
	return 0;
}

/* Strict: the whole of s[0..len) is a version, 1 to 8 parts of 1 to 9 digits. */
static bool version_strict(const char *s, size_t len, struct version *v)
{
	size_t i, digits = 0;
	int parts = 1;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		if (isdigit((unsigned char)s[i])) {
			if (++digits > 9)
				return false;
		} else if (s[i] == '.' && digits && i + 1 < len) {
			digits = 0;
			if (++parts > VER_PARTS)
				return false;
		} else {
			return false;
		}
	}
	return version_head(s, v) == len;
}

/* --- the compiled policy --- */

struct group {
	const char *name;		/* first: see suggest() */
	const char **users;
	size_t n_users;
	const char **devices;
	size_t n_devices;
	uint32_t *groups;
	uint32_t *group_pi;		/* where each nested group is named */
	size_t n_groups;
};

struct posture {
	const char *name;
	const char **os;
	size_t n_os;
	struct vreq kernel, veil;
	const char **facts;
	size_t n_facts;
};

struct app {
	const char *name;
	const char **names;		/* sorted */
	size_t n_names;
	const char *server;
	const char *target;
	struct ports ports;
	const char *ports_text;		/* "tcp/22,tcp/443" */
	uint32_t *rules;		/* rules naming this app, document order */
	size_t n_rules;
};

struct rule {
	const char *name;
	uint32_t *apps;
	size_t n_apps;
	struct ports ports;
	bool all_ports;			/* no "ports": all of each app's ports */
	int posture;			/* -1: none */
	struct smap who;		/* TAG_USER/DEVICE/GROUP, nested groups expanded */
};

struct veil_policy {
	struct arena arena;
	const char **zones;		/* sorted */
	size_t n_zones;
	struct group *groups;
	size_t n_groups;
	struct posture *postures;
	size_t n_postures;
	struct app *apps;
	size_t n_apps;
	uint32_t *app_order;		/* app indexes sorted by name */
	struct rule *rules;
	size_t n_rules;
	struct smap names;		/* DNS name → app */
	struct smap app_map;		/* app name → app */
	struct smap group_map;
	struct smap posture_map;
	struct smap rule_map;
};

/* --- the loader --- */

struct pnode {
	uint32_t off;			/* first byte of the value */
	uint32_t key;			/* opening quote of its key in an object, else off */
	uint32_t key_len;		/* raw bytes between the key's quotes */
	uint32_t size;			/* nodes in this subtree, itself included */
	uint32_t n;			/* children */
};

struct parser {
	const char *text;
	size_t len;
	struct pnode *pn;
	uint32_t n_pn, cap_pn;
	struct veil_policy *p;
	struct arena *a;		/* the policy's */
	struct arena tmp;		/* freed when loading ends */
	struct veil_policy_error *err;
	json_object *root;
	bool ok;
	jmp_buf fail;
};

#define NOWHERE		((size_t)-1)
#define VAL(ps, i)	((size_t)(ps)->pn[i].off)
#define KEY(ps, i)	((size_t)(ps)->pn[i].key)
#define NEXT(ps, i)	((i) + (ps)->pn[i].size)

static void fail(struct parser *ps, size_t off, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

static void fail(struct parser *ps, size_t off, const char *fmt, ...)
{
	struct veil_policy_error *err = ps->err;
	va_list ap;

	err->line = 0;
	err->column = 0;
	if (off != NOWHERE) {
		const char *t = ps->text;
		size_t i, bol = 0;
		int line = 1;

		if (off > ps->len)
			off = ps->len;
		for (i = 0; i < off; i++) {
			if (t[i] == '\n') {
				line++;
				bol = i + 1;
			}
		}
		err->line = line;
		err->column = (int)(off - bol) + 1;
	}
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	longjmp(ps->fail, 1);
}

static void *palloc(struct parser *ps, struct arena *a, size_t n, size_t size)
{
	void *p;

	if (size && n > ((size_t)1 << 30) / size)
		fail(ps, NOWHERE, "out of memory");
	p = arena_alloc(a, n * size);
	if (!p)
		fail(ps, NOWHERE, "out of memory");
	return p;
}

static char *pstrndup(struct parser *ps, const char *s, size_t len)
{
	char *d = palloc(ps, ps->a, len + 1, 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* --- position scanner --- */

static uint32_t pn_new(struct parser *ps, size_t off)
{
	if (ps->n_pn == ps->cap_pn) {
		uint32_t cap = ps->cap_pn ? ps->cap_pn * 2 : 256;
		struct pnode *pn = realloc(ps->pn, (size_t)cap * sizeof(*pn));

		if (!pn)
			fail(ps, NOWHERE, "out of memory");
		ps->pn = pn;
		ps->cap_pn = cap;
	}
	ps->pn[ps->n_pn] = (struct pnode){ .off = (uint32_t)off, .key = (uint32_t)off, .size = 1 };
	return ps->n_pn++;
}

static size_t skip_ws(const struct parser *ps, size_t i)
{
	while (i < ps->len && (ps->text[i] == ' ' || ps->text[i] == '\t' ||
			       ps->text[i] == '\n' || ps->text[i] == '\r'))
		i++;
	return i;
}

static size_t need(struct parser *ps, size_t i)
{
	if (i >= ps->len)
		fail(ps, ps->len, "JSON syntax: unexpected end of document");
	return i;
}

static size_t scan_string(struct parser *ps, size_t i)
{
	if (ps->text[i] != '"')
		fail(ps, i, "JSON syntax: strings and keys must be in double quotes");
	for (i++; i < ps->len; i++) {
		unsigned char c = (unsigned char)ps->text[i];

		if (c == '"')
			return i + 1;
		if (c < 0x20)
			fail(ps, i, "JSON syntax: control character in a string (write \\n, \\t or \\u00XX)");
		if (c == '\\')
			i++;
	}
	fail(ps, ps->len, "JSON syntax: unterminated string");
}

static size_t digits(const struct parser *ps, size_t i)
{
	while (i < ps->len && isdigit((unsigned char)ps->text[i]))
		i++;
	return i;
}

static size_t scan_scalar(struct parser *ps, size_t i)
{
	static const char *const words[] = { "true", "false", "null" };
	const char *t = ps->text;
	size_t start = i, j, w;

	for (w = 0; w < 3; w++) {
		size_t l = strlen(words[w]);

		if (ps->len - i >= l && !memcmp(t + i, words[w], l)) {
			i += l;
			goto end;
		}
	}
	if (t[i] == '-')
		i++;
	j = digits(ps, i);
	if (j == i)
		goto bad;
	i = j;
	if (i < ps->len && t[i] == '.') {
		j = digits(ps, i + 1);
		if (j == i + 1)
			goto bad;
		i = j;
	}
	if (i < ps->len && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < ps->len && (t[i] == '+' || t[i] == '-'))
			i++;
		j = digits(ps, i);
		if (j == i)
			goto bad;
		i = j;
	}
end:
	if (i == ps->len || strchr(" \t\r\n,]}", t[i]))
		return i;
bad:
	fail(ps, start, "JSON syntax: not a JSON value (NaN, Infinity and bare words are not JSON)");
}

static size_t scan_value(struct parser *ps, size_t i, int depth, uint32_t *out)
{
	uint32_t idx;
	char c;

	i = need(ps, skip_ws(ps, i));
	if (depth > DEPTH_MAX)
		fail(ps, i, "JSON syntax: nesting deeper than %d levels", DEPTH_MAX);
	idx = pn_new(ps, i);
	c = ps->text[i];
	if (c == '{' || c == '[') {
		bool obj = c == '{';
		char close = obj ? '}' : ']';

		i = need(ps, skip_ws(ps, i + 1));
		if (ps->text[i] == close) {
			i++;
		} else {
			for (;;) {
				size_t k = 0, klen = 0;
				uint32_t child;

				if (obj) {
					k = need(ps, skip_ws(ps, i));
					i = scan_string(ps, k);
					klen = i - k - 2;
					i = need(ps, skip_ws(ps, i));
					if (ps->text[i] != ':')
						fail(ps, i, "JSON syntax: expected ':' after a key");
					i++;
				}
				i = scan_value(ps, i, depth + 1, &child);
				if (obj) {
					ps->pn[child].key = (uint32_t)k;
					ps->pn[child].key_len = (uint32_t)klen;
				}
				ps->pn[idx].n++;
				i = need(ps, skip_ws(ps, i));
				if (ps->text[i] == ',') {
					i++;
					continue;
				}
				if (ps->text[i] == close) {
					i++;
					break;
				}
				fail(ps, i, "JSON syntax: expected ',' or '%c'", close);
			}
		}
		ps->pn[idx].size = ps->n_pn - idx;
	} else if (c == '"' || c == '\'') {
		i = scan_string(ps, i);
	} else {
		i = scan_scalar(ps, i);
	}
	*out = idx;
	return i;
}

/* --- checking the document --- */

static const char *type_name(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "a list";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

static size_t lev(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[IDENT_MAX + 2], prev;

	if (la > IDENT_MAX || lb > IDENT_MAX)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j], best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/*
 * " (did you mean \"x\"?)" for the closest of @n names at @base, @stride
 * apart (each a struct whose first member is the name), or "".
 */
static const char *suggest(char *buf, size_t size, const char *s, const void *base,
			   size_t stride, size_t n)
{
	const char *best = NULL;
	size_t i, bd = 3, len = strlen(s);

	for (i = 0; i < n; i++) {
		const char *c = *(const char *const *)((const char *)base + i * stride);
		size_t d = lev(s, c);

		if (d < bd && d < len) {
			bd = d;
			best = c;
		}
	}
	if (!best)
		return "";
	snprintf(buf, size, " (did you mean \"%s\"?)", best);
	return buf;
}

struct field {
	const char *key;		/* first: see suggest() */
	bool present;
	json_object *v;
	uint32_t pi;
};

/* Duplicate keys: json-c keeps the last; the position list has them all. */
static void check_dups(struct parser *ps, json_object *o, uint32_t pi)
{
	struct smap seen;
	uint32_t c, k;

	if ((size_t)json_object_object_length(o) == ps->pn[pi].n)
		return;
	if (!smap_init(&ps->tmp, &seen, ps->pn[pi].n))
		fail(ps, NOWHERE, "out of memory");
	for (k = 0, c = pi + 1; k < ps->pn[pi].n; k++, c = NEXT(ps, c)) {
		char *raw = palloc(ps, &ps->tmp, ps->pn[c].key_len + 1, 1);
		bool added;

		memcpy(raw, ps->text + KEY(ps, c) + 1, ps->pn[c].key_len);
		if (!smap_put(&seen, 0, raw, 0, &added))
			fail(ps, NOWHERE, "out of memory");
		if (!added)
			fail(ps, KEY(ps, c), "duplicate key \"" Q "\"", raw);
	}
	fail(ps, VAL(ps, pi), "duplicate key in this object (keys that differ only in escapes)");
}

/* The position of each member of an object, in json-c's (insertion) order. */
static void members(struct parser *ps, json_object *o, uint32_t pi, uint32_t *out)
{
	uint32_t c = pi + 1, k = 0;

	check_dups(ps, o, pi);
	json_object_object_foreach(o, key, val) {
		const char *raw = ps->text + KEY(ps, c) + 1;
		uint32_t rl = ps->pn[c].key_len;

		(void)val;
		if (k >= ps->pn[pi].n || (!memchr(raw, '\\', rl) &&
					  (strlen(key) != rl || memcmp(key, raw, rl))))
			fail(ps, VAL(ps, pi), "internal error: position map out of step");
		out[k++] = c;
		c = NEXT(ps, c);
	}
}

static bool is_obj(json_object *v)
{
	return json_object_get_type(v) == json_type_object;
}

/*
 * Match an object's keys against @keys (@n of them), filling @f; unknown
 * keys are refused with a suggestion. @ctx prefixes messages ("" or
 * "app \"git\": ").
 */
static void walk_object(struct parser *ps, json_object *o, uint32_t pi, const char *ctx,
			const char *const *keys, size_t n, struct field *f)
{
	uint32_t *pos = palloc(ps, &ps->tmp, ps->pn[pi].n + 1, sizeof(*pos));
	char sbuf[96];
	uint32_t k = 0;
	size_t i;

	for (i = 0; i < n; i++)
		f[i] = (struct field){ .key = keys[i] };
	members(ps, o, pi, pos);
	json_object_object_foreach(o, key, val) {
		uint32_t c = pos[k++];

		for (i = 0; i < n; i++)
			if (!strcmp(key, keys[i]))
				break;
		if (i == n)
			fail(ps, KEY(ps, c), "%sunknown key \"" Q "\"%s", ctx, key,
			     suggest(sbuf, sizeof(sbuf), key, f, sizeof(*f), n));
		f[i].present = true;
		f[i].v = val;
		f[i].pi = c;
	}
}

static void require(struct parser *ps, const struct field *f, uint32_t pi, const char *ctx)
{
	if (!f->present)
		fail(ps, VAL(ps, pi), "%smissing key \"%s\"", ctx, f->key);
}

/* A list field: its length, after checking the type and the limit. */
static size_t list_len(struct parser *ps, const struct field *f, const char *ctx, size_t max)
{
	size_t n, i;
	uint32_t c;

	if (!f->present)
		return 0;
	if (json_object_get_type(f->v) != json_type_array)
		fail(ps, VAL(ps, f->pi), "%s\"%s\" must be a list, not %s", ctx, f->key,
		     type_name(f->v));
	n = json_object_array_length(f->v);
	if (n != ps->pn[f->pi].n)
		fail(ps, VAL(ps, f->pi), "internal error: position map out of step");
	if (n > max) {
		for (i = 0, c = f->pi + 1; i < max; i++)
			c = NEXT(ps, c);
		fail(ps, VAL(ps, c), "%s\"%s\" has more than %zu entries", ctx, f->key, max);
	}
	return n;
}

/* The string value at @v (position @pi), at most @max bytes, no NUL. */
static const char *str_at(struct parser *ps, json_object *v, uint32_t pi, const char *ctx,
			  const char *what, size_t max)
{
	const char *s;
	size_t len;

	if (json_object_get_type(v) != json_type_string)
		fail(ps, VAL(ps, pi), "%s%s must be a string, not %s", ctx, what, type_name(v));
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len)
		fail(ps, VAL(ps, pi), "%s%s contains a NUL character", ctx, what);
	if (!len)
		fail(ps, VAL(ps, pi), "%s%s is empty", ctx, what);
	if (len > max)
		fail(ps, VAL(ps, pi), "%s%s is %zu bytes long, more than %zu", ctx, what, len, max);
	return s;
}

/* Users, devices, groups, apps, rules, postures: [A-Za-z0-9._@+-], 1 to 63. */
static const char *ident_at(struct parser *ps, json_object *v, uint32_t pi, size_t off,
			    const char *ctx, const char *what)
{
	const char *s = str_at(ps, v, pi, ctx, what, IDENT_MAX);
	const char *c;

	for (c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._@+-", *c))
			fail(ps, off, "%s%s \"" Q "\": character '%c' is not allowed "
			     "(letters, digits, '.', '_', '@', '+' and '-' are)", ctx, what, s,
			     isprint((unsigned char)*c) ? *c : '?');
	return s;
}

/* An identifier given as an object key (group, posture and app names). */
static const char *ident_key(struct parser *ps, const char *key, uint32_t pi, const char *what)
{
	size_t len = strlen(key);
	const char *c;

	if (!len)
		fail(ps, KEY(ps, pi), "%s name is empty", what);
	if (len > IDENT_MAX)
		fail(ps, KEY(ps, pi), "%s name is %zu bytes long, more than %d", what, len,
		     IDENT_MAX);
	for (c = key; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._@+-", *c))
			fail(ps, KEY(ps, pi), "%s name \"" Q "\": character '%c' is not allowed "
			     "(letters, digits, '.', '_', '@', '+' and '-' are)", what, key,
			     isprint((unsigned char)*c) ? *c : '?');
	return pstrndup(ps, key, len);
}

/*
 * Normalize a DNS name into @out (NAME_MAX_LEN + 2 bytes): lower case, one
 * trailing dot dropped. False, with a reason in @why, when it is not a name
 * veil serves.
 */
static bool name_norm(const char *s, char *out, bool wild, const char **why)
{
	size_t len = strlen(s), i, label = 0;

	if (len && s[len - 1] == '.')
		len--;
	if (!len) {
		*why = "it is empty";
		return false;
	}
	if (len > NAME_MAX_LEN) {
		*why = "it is longer than 253 bytes";
		return false;
	}
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[len] = '\0';
	for (i = 0; i <= len; i++) {
		char c = out[i];

		if (i == len || c == '.') {
			if (!label) {
				*why = "it has an empty label";
				return false;
			}
			if (label > 63) {
				*why = "a label is longer than 63 bytes";
				return false;
			}
			if (out[i - label] == '-' || out[i - 1] == '-') {
				*why = "a label starts or ends with '-'";
				return false;
			}
			label = 0;
			continue;
		}
		if (c == '*') {
			if (!wild || i != 0 || len < 2 || out[1] != '.') {
				*why = wild ? "'*' is only allowed as the whole first label"
					    : "'*' is not allowed here";
				return false;
			}
		} else if (!isalnum((unsigned char)c) && c != '-' && c != '_') {
			*why = "only letters, digits, '-' and '_' are allowed in labels";
			return false;
		}
		label++;
	}
	if (out[0] == '*' && !strchr(out + 2, '.')) {
		*why = "a wildcard needs at least two labels after '*'";
		return false;
	}
	return true;
}

static bool in_zone(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	if (nl == zl)
		return !strcmp(name, zone);
	return nl > zl && name[nl - zl - 1] == '.' && !strcmp(name + nl - zl, zone);
}

static const char *name_at(struct parser *ps, json_object *v, uint32_t pi, const char *ctx,
			   const char *what, bool wild)
{
	const char *s = str_at(ps, v, pi, ctx, what, NAME_MAX_LEN + 1);
	char buf[NAME_MAX_LEN + 2];
	const char *why = NULL;

	if (!name_norm(s, buf, wild, &why))
		fail(ps, VAL(ps, pi), "%s%s \"" Q "\" is not a valid name: %s", ctx, what, s, why);
	return pstrndup(ps, buf, strlen(buf));
}

/* "tcp/22", "udp/53", "tcp/80-443" */
static void port_at(struct parser *ps, json_object *v, uint32_t pi, const char *ctx,
		    struct veil_port_range *r)
{
	const char *s = str_at(ps, v, pi, ctx, "port", 32), *slash = strchr(s, '/');
	unsigned long x[2];
	size_t i;
	const char *p;

	if (!slash)
		fail(ps, VAL(ps, pi), "%sport \"" Q "\": expected PROTO/PORT or PROTO/FIRST-LAST, "
		     "like \"tcp/443\" or \"udp/5000-5100\"", ctx, s);
	if (slash - s == 3 && !memcmp(s, "tcp", 3))
		r->proto = IPPROTO_TCP;
	else if (slash - s == 3 && !memcmp(s, "udp", 3))
		r->proto = IPPROTO_UDP;
	else
		fail(ps, VAL(ps, pi), "%sport \"" Q "\": the protocol must be tcp or udp", ctx, s);
	p = slash + 1;
	for (i = 0; i < 2; i++) {
		const char *d = p;

		x[i] = 0;
		while (isdigit((unsigned char)*p) && p - d < 6)
			x[i] = x[i] * 10 + (unsigned long)(*p++ - '0');
		if (p == d || isdigit((unsigned char)*p) || (*p && *p != '-') || (*p == '-' && i))
			fail(ps, VAL(ps, pi), "%sport \"" Q "\": expected PROTO/PORT or "
			     "PROTO/FIRST-LAST, like \"tcp/443\" or \"udp/5000-5100\"", ctx, s);
		if (x[i] < 1 || x[i] > 65535)
			fail(ps, VAL(ps, pi), "%sport \"" Q "\": %lu is out of range 1-65535",
			     ctx, s, x[i]);
		if (!*p) {
			if (!i)
				x[1] = x[0];
			break;
		}
		p++;
	}
	if (x[0] > x[1])
		fail(ps, VAL(ps, pi), "%sport \"" Q "\": the range is backwards (%lu > %lu)",
		     ctx, s, x[0], x[1]);
	r->first = (uint16_t)x[0];
	r->last = (uint16_t)x[1];
}

static void ports_field(struct parser *ps, const struct field *f, const char *ctx,
			struct ports *out, struct veil_port_range *list)
{
	size_t n = list_len(ps, f, ctx, VEIL_POLICY_MAX_PORTS), i;
	uint32_t c = f->pi + 1;

	if (!n)
		fail(ps, VAL(ps, f->pi), "%s\"ports\" is empty", ctx);
	out->n = 0;
	for (i = 0; i < n; i++, c = NEXT(ps, c)) {
		port_at(ps, json_object_array_get_idx(f->v, i), c, ctx, &list[i]);
		if (ports_add(out, list[i].proto, list[i].first, list[i].last) < 0)
			fail(ps, VAL(ps, c), "internal error: too many port ranges");
	}
}

static void vreq_at(struct parser *ps, const struct field *f, const char *ctx, struct vreq *r)
{
	static const struct {
		const char *op;
		enum vop v;
	} ops[] = {
		{ ">=", VOP_GE }, { "<=", VOP_LE }, { ">", VOP_GT }, { "<", VOP_LT }, { "=", VOP_EQ },
	};
	const char *s, *dash;
	size_t i;

	if (!f->present)
		return;
	s = str_at(ps, f->v, f->pi, ctx, f->key, VREQ_MAX);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t l = strlen(ops[i].op);

		if (!strncmp(s, ops[i].op, l)) {
			if (!version_strict(s + l, strlen(s + l), &r->a))
				goto bad;
			r->op = ops[i].v;
			r->ta = pstrndup(ps, s + l, strlen(s + l));
			return;
		}
	}
	dash = strchr(s, '-');
	if (!dash || !version_strict(s, (size_t)(dash - s), &r->a) ||
	    !version_strict(dash + 1, strlen(dash + 1), &r->b))
		goto bad;
	if (version_cmp(&r->a, &r->b) > 0)
		fail(ps, VAL(ps, f->pi), "%s\"%s\": the range \"" Q "\" is empty (%.*s is above %s)",
		     ctx, f->key, s, (int)(dash - s), s, dash + 1);
	r->op = VOP_RANGE;
	r->ta = pstrndup(ps, s, (size_t)(dash - s));
	r->tb = pstrndup(ps, dash + 1, strlen(dash + 1));
	return;
bad:
	fail(ps, VAL(ps, f->pi), "%s\"%s\": \"" Q "\" is not a version requirement: write >=, >, "
	     "<=, < or = and a version (\">=6.1\"), or an inclusive range (\"6.1-6.12\")",
	     ctx, f->key, s);
}

/* A list of identifiers or names, copied into the policy. */
enum kind { K_IDENT, K_NAME, K_ZONE, K_FACT };

static const char **strings_field(struct parser *ps, const struct field *f, const char *ctx,
				  const char *what, enum kind kind, size_t *n_out)
{
	size_t n = list_len(ps, f, ctx, LIST_MAX), i;
	const char **out = palloc(ps, ps->a, n + 1, sizeof(*out));
	uint32_t c = f->pi + 1;

	for (i = 0; i < n; i++, c = NEXT(ps, c)) {
		json_object *v = json_object_array_get_idx(f->v, i);

		switch (kind) {
		case K_IDENT:
		case K_FACT:
			out[i] = ident_at(ps, v, c, VAL(ps, c), ctx, what);
			out[i] = pstrndup(ps, out[i], strlen(out[i]));
			break;
		case K_NAME:
		case K_ZONE:
			out[i] = name_at(ps, v, c, ctx, what, kind == K_NAME);
			break;
		}
	}
	*n_out = n;
	return out;
}

static void ctxf(char *buf, size_t size, const char *what, const char *name)
{
	snprintf(buf, size, "%s \"%s\": ", what, name);
}

static void load_version(struct parser *ps, const struct field *f, uint32_t root)
{
	require(ps, f, root, "");
	if (json_object_get_type(f->v) != json_type_int || json_object_get_int64(f->v) != 1)
		fail(ps, VAL(ps, f->pi), "\"version\" must be 1, the format this controller reads");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void load_zones(struct parser *ps, const struct field *f, uint32_t root)
{
	struct veil_policy *p = ps->p;
	size_t i, j;
	uint32_t c;

	require(ps, f, root, "");
	p->zones = strings_field(ps, f, "", "zone", K_ZONE, &p->n_zones);
	if (!p->n_zones)
		fail(ps, VAL(ps, f->pi), "\"zones\" is empty: list the DNS zones veil serves");
	for (i = 0, c = f->pi + 1; i < p->n_zones; i++, c = NEXT(ps, c))
		for (j = 0; j < i; j++)
			if (!strcmp(p->zones[i], p->zones[j]))
				fail(ps, VAL(ps, c), "zone \"%s\" is listed twice", p->zones[i]);
	qsort(p->zones, p->n_zones, sizeof(*p->zones), cmp_str);
}

/* Map-like objects ("groups", "postures", "apps"): their members' positions. */
static uint32_t *map_members(struct parser *ps, const struct field *f, size_t *n)
{
	uint32_t *pos;
	size_t i;
	uint32_t c;

	*n = 0;
	if (!f->present)
		return NULL;
	if (!is_obj(f->v))
		fail(ps, VAL(ps, f->pi), "\"%s\" must be an object, not %s", f->key,
		     type_name(f->v));
	if (ps->pn[f->pi].n > LIST_MAX) {
		for (i = 0, c = f->pi + 1; i < LIST_MAX; i++)
			c = NEXT(ps, c);
		fail(ps, KEY(ps, c), "\"%s\" has more than %d entries", f->key, LIST_MAX);
	}
	pos = palloc(ps, &ps->tmp, ps->pn[f->pi].n + 1, sizeof(*pos));
	members(ps, f->v, f->pi, pos);
	*n = ps->pn[f->pi].n;
	return pos;
}

static void map_init(struct parser *ps, struct smap *m, size_t n)
{
	if (!smap_init(ps->a, m, n))
		fail(ps, NOWHERE, "out of memory");
}

static void map_add(struct parser *ps, struct smap *m, uint8_t tag, const char *s, uint32_t v)
{
	bool added;

	if (!smap_put(m, tag, s, v, &added))
		fail(ps, NOWHERE, "internal error: map full");
}

static void load_groups(struct parser *ps, const struct field *f)
{
	static const char *const keys[] = { "users", "devices", "groups" };
	struct veil_policy *p = ps->p;
	struct field g[3];
	uint32_t *pos, *state, *stack, *edge;
	char ctx[128], sbuf[96];
	size_t n, i, j;
	uint32_t c;

	pos = map_members(ps, f, &n);
	p->groups = palloc(ps, ps->a, n + 1, sizeof(*p->groups));
	p->n_groups = n;
	map_init(ps, &p->group_map, n);
	i = 0;
	if (n) {
		json_object_object_foreach(f->v, key, val) {
			(void)val;
			p->groups[i].name = ident_key(ps, key, pos[i], "group");
			map_add(ps, &p->group_map, 0, p->groups[i].name, (uint32_t)i);
			i++;
		}
	}
	i = 0;
	if (n) {
		json_object_object_foreach(f->v, key2, val2) {
			struct group *gr = &p->groups[i];

			(void)key2;
			ctxf(ctx, sizeof(ctx), "group", gr->name);
			if (!is_obj(val2))
				fail(ps, VAL(ps, pos[i]), "%smust be an object with \"users\", "
				     "\"devices\" and \"groups\", not %s", ctx, type_name(val2));
			walk_object(ps, val2, pos[i], ctx, keys, 3, g);
			gr->users = strings_field(ps, &g[0], ctx, "user", K_IDENT, &gr->n_users);
			gr->devices = strings_field(ps, &g[1], ctx, "device", K_IDENT,
						    &gr->n_devices);
			gr->n_groups = list_len(ps, &g[2], ctx, LIST_MAX);
			gr->groups = palloc(ps, ps->a, gr->n_groups + 1, sizeof(*gr->groups));
			gr->group_pi = palloc(ps, &ps->tmp, gr->n_groups + 1,
					      sizeof(*gr->group_pi));
			for (j = 0, c = g[2].pi + 1; j < gr->n_groups; j++, c = NEXT(ps, c)) {
				const char *s = ident_at(ps, json_object_array_get_idx(g[2].v, j),
							 c, VAL(ps, c), ctx, "group");
				const struct sent *e = smap_find(&p->group_map, 0, s);

				if (!e)
					fail(ps, VAL(ps, c), "%sunknown group \"%s\"%s", ctx, s,
					     suggest(sbuf, sizeof(sbuf), s, p->groups,
						     sizeof(*p->groups), p->n_groups));
				gr->groups[j] = e->v;
				gr->group_pi[j] = c;
			}
			i++;
		}
	}

	/* Cycles: depth-first, iteratively; state 0 new, 1 on the path, 2 done. */
	state = palloc(ps, &ps->tmp, n + 1, sizeof(*state));
	stack = palloc(ps, &ps->tmp, n + 1, sizeof(*stack));
	edge = palloc(ps, &ps->tmp, n + 1, sizeof(*edge));
	for (i = 0; i < n; i++) {
		size_t depth = 0;

		if (state[i])
			continue;
		stack[0] = (uint32_t)i;
		edge[0] = 0;
		state[i] = 1;
		depth = 1;
		while (depth) {
			struct group *gr = &p->groups[stack[depth - 1]];
			uint32_t e = edge[depth - 1]++, h;

			if (e >= gr->n_groups) {
				state[stack[--depth]] = 2;
				continue;
			}
			h = gr->groups[e];
			if (state[h] == 1) {
				char path[200];
				size_t k, at = 0, len = 0;

				for (k = 0; k < depth; k++)
					if (stack[k] == h)
						at = k;
				path[0] = '\0';
				for (k = at; k < depth && len < sizeof(path); k++)
					len += (size_t)snprintf(path + len, sizeof(path) - len,
								"%s -> ", p->groups[stack[k]].name);
				if (len < sizeof(path))
					snprintf(path + len, sizeof(path) - len, "%s",
						 p->groups[h].name);
				fail(ps, VAL(ps, gr->group_pi[e]), "group \"%s\": groups nest in a "
				     "cycle: %s", gr->name, path);
			}
			if (!state[h]) {
				state[h] = 1;
				stack[depth] = h;
				edge[depth] = 0;
				depth++;
			}
		}
	}
}

static void load_postures(struct parser *ps, const struct field *f)
{
	static const char *const keys[] = { "os", "kernel", "veil", "facts" };
	struct veil_policy *p = ps->p;
	struct field g[4];
	char ctx[128];
	uint32_t *pos;
	size_t n, i = 0, j;

	pos = map_members(ps, f, &n);
	p->postures = palloc(ps, ps->a, n + 1, sizeof(*p->postures));
	p->n_postures = n;
	map_init(ps, &p->posture_map, n);
	if (!n)
		return;
	json_object_object_foreach(f->v, key, val) {
		struct posture *po = &p->postures[i];

		po->name = ident_key(ps, key, pos[i], "posture");
		map_add(ps, &p->posture_map, 0, po->name, (uint32_t)i);
		ctxf(ctx, sizeof(ctx), "posture", po->name);
		if (!is_obj(val))
			fail(ps, VAL(ps, pos[i]), "%smust be an object with \"os\", \"kernel\", "
			     "\"veil\" and \"facts\", not %s", ctx, type_name(val));
		walk_object(ps, val, pos[i], ctx, keys, 4, g);
		po->os = strings_field(ps, &g[0], ctx, "os", K_FACT, &po->n_os);
		for (j = 0; j < po->n_os; j++)
			for (char *c = (char *)po->os[j]; *c; c++)
				*c = (char)tolower((unsigned char)*c);
		vreq_at(ps, &g[1], ctx, &po->kernel);
		vreq_at(ps, &g[2], ctx, &po->veil);
		po->facts = strings_field(ps, &g[3], ctx, "fact", K_FACT, &po->n_facts);
		i++;
	}
}

static bool target_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".:-_[]%", *s))
			return false;
	return true;
}

static void load_apps(struct parser *ps, const struct field *f)
{
	static const char *const keys[] = { "names", "server", "target", "ports" };
	struct veil_policy *p = ps->p;
	struct veil_port_range list[VEIL_POLICY_MAX_PORTS];
	size_t n, i = 0, j, total = 0;
	struct field g[4];
	char ctx[128];
	uint32_t *pos, c;
	char *t;

	pos = map_members(ps, f, &n);
	p->apps = palloc(ps, ps->a, n + 1, sizeof(*p->apps));
	p->n_apps = n;
	map_init(ps, &p->app_map, n);
	if (n) {
		/* Every name counts against the names table's size. */
		json_object_object_foreach(f->v, key, val) {
			json_object *names;

			(void)key;
			if (is_obj(val) && json_object_object_get_ex(val, "names", &names) &&
			    json_object_get_type(names) == json_type_array)
				total += json_object_array_length(names);
		}
	}
	map_init(ps, &p->names, total);
	if (!n)
		return;
	json_object_object_foreach(f->v, key2, val2) {
		struct app *a = &p->apps[i];

		a->name = ident_key(ps, key2, pos[i], "app");
		map_add(ps, &p->app_map, 0, a->name, (uint32_t)i);
		ctxf(ctx, sizeof(ctx), "app", a->name);
		if (!is_obj(val2))
			fail(ps, VAL(ps, pos[i]), "%smust be an object with \"names\", \"server\", "
			     "\"target\" and \"ports\", not %s", ctx, type_name(val2));
		walk_object(ps, val2, pos[i], ctx, keys, 4, g);
		for (j = 0; j < 4; j++)
			require(ps, &g[j], pos[i], ctx);
		a->names = strings_field(ps, &g[0], ctx, "name", K_NAME, &a->n_names);
		if (!a->n_names)
			fail(ps, VAL(ps, g[0].pi), "%s\"names\" is empty", ctx);
		for (j = 0, c = g[0].pi + 1; j < a->n_names; j++, c = NEXT(ps, c)) {
			const char *nm = a->names[j], *base = nm[0] == '*' ? nm + 2 : nm;
			const struct sent *e = smap_find(&p->names, 0, nm);
			size_t z;

			for (z = 0; z < p->n_zones; z++)
				if (in_zone(base, p->zones[z]))
					break;
			if (z == p->n_zones)
				fail(ps, VAL(ps, c), "%sname \"%s\" is in none of the zones", ctx, nm);
			if (e && e->v == i)
				fail(ps, VAL(ps, c), "%sname \"%s\" is listed twice", ctx, nm);
			if (e)
				fail(ps, VAL(ps, c), "%sname \"%s\" is already a name of app \"%s\"",
				     ctx, nm, p->apps[e->v].name);
			map_add(ps, &p->names, 0, nm, (uint32_t)i);
		}
		qsort(a->names, a->n_names, sizeof(*a->names), cmp_str);
		a->server = ident_at(ps, g[1].v, g[1].pi, VAL(ps, g[1].pi), ctx, "\"server\"");
		a->server = pstrndup(ps, a->server, strlen(a->server));
		a->target = str_at(ps, g[2].v, g[2].pi, ctx, "\"target\"", TARGET_MAX);
		if (!target_ok(a->target))
			fail(ps, VAL(ps, g[2].pi), "%s\"target\" \"" Q "\" is neither an address "
			     "nor a host name", ctx, a->target);
		a->target = pstrndup(ps, a->target, strlen(a->target));
		ports_field(ps, &g[3], ctx, &a->ports, list);
		a->ports_text = t = palloc(ps, ps->a, a->ports.n * 20 + 1, 1);
		for (j = 0; j < a->ports.n; j++) {
			if (j)
				*t++ = ',';
			t += port_text(t, 20, &a->ports.r[j]);
		}
		i++;
	}
}

/* The groups nested in @g, @g included, into @out; @seen is stamped with @stamp. */
static size_t closure(const struct veil_policy *p, uint32_t g, uint32_t *seen, uint32_t stamp,
		      uint32_t *out, size_t n)
{
	size_t i, k = n;

	if (seen[g] == stamp)
		return n;
	seen[g] = stamp;
	out[n++] = g;
	/* Breadth-first over what was added: no recursion, no cycles (checked). */
	for (; k < n; k++) {
		const struct group *gr = &p->groups[out[k]];

		for (i = 0; i < gr->n_groups; i++) {
			if (seen[gr->groups[i]] == stamp)
				continue;
			seen[gr->groups[i]] = stamp;
			out[n++] = gr->groups[i];
		}
	}
	return n;
}

static uint32_t ref_at(struct parser *ps, const struct smap *m, json_object *v, uint32_t c,
		       const char *ctx, const char *what, const void *base, size_t stride,
		       size_t n)
{
	const char *s = ident_at(ps, v, c, VAL(ps, c), ctx, what);
	const struct sent *e = smap_find(m, 0, s);
	char sbuf[96];

	if (!e)
		fail(ps, VAL(ps, c), "%sunknown %s \"%s\"%s", ctx, what, s,
		     suggest(sbuf, sizeof(sbuf), s, base, stride, n));
	return e->v;
}

static void load_rules(struct parser *ps, const struct field *f)
{
	static const char *const keys[] = {
		"name", "users", "groups", "devices", "apps", "ports", "posture",
	};
	struct veil_policy *p = ps->p;
	struct veil_port_range list[VEIL_POLICY_MAX_PORTS];
	uint32_t *count, *seen, *grp, *gref = NULL, c, e;
	const char **users, **devices;
	size_t n, i, j, k, m;
	struct field g[7];
	char ctx[128];

	n = list_len(ps, f, "", LIST_MAX);
	p->rules = palloc(ps, ps->a, n + 1, sizeof(*p->rules));
	p->n_rules = n;
	map_init(ps, &p->rule_map, n);
	count = palloc(ps, &ps->tmp, p->n_apps + 1, sizeof(*count));
	seen = palloc(ps, &ps->tmp, p->n_groups + 1, sizeof(*seen));
	grp = palloc(ps, &ps->tmp, p->n_groups + 1, sizeof(*grp));
	for (i = 0, c = f->pi + 1; i < n; i++, c = NEXT(ps, c)) {
		json_object *v = json_object_array_get_idx(f->v, i);
		struct rule *r = &p->rules[i];
		size_t n_users, n_devices, n_gref, n_grp = 0, size;
		bool added;

		snprintf(ctx, sizeof(ctx), "rule #%zu: ", i + 1);
		if (!is_obj(v))
			fail(ps, VAL(ps, c), "%smust be an object, not %s", ctx, type_name(v));
		walk_object(ps, v, c, ctx, keys, 7, g);
		require(ps, &g[0], c, ctx);
		r->name = ident_at(ps, g[0].v, g[0].pi, VAL(ps, g[0].pi), ctx, "\"name\"");
		r->name = pstrndup(ps, r->name, strlen(r->name));
		if (smap_find(&p->rule_map, 0, r->name))
			fail(ps, VAL(ps, g[0].pi), "%sthe name \"%s\" is taken by an earlier rule",
			     ctx, r->name);
		map_add(ps, &p->rule_map, 0, r->name, (uint32_t)i);
		ctxf(ctx, sizeof(ctx), "rule", r->name);

		users = strings_field(ps, &g[1], ctx, "user", K_IDENT, &n_users);
		devices = strings_field(ps, &g[3], ctx, "device", K_IDENT, &n_devices);
		n_gref = list_len(ps, &g[2], ctx, LIST_MAX);
		gref = palloc(ps, &ps->tmp, n_gref + 1, sizeof(*gref));
		for (j = 0, e = g[2].pi + 1; j < n_gref; j++, e = NEXT(ps, e))
			gref[j] = ref_at(ps, &p->group_map, json_object_array_get_idx(g[2].v, j), e,
					 ctx, "group", p->groups, sizeof(*p->groups),
					 p->n_groups);
		if (!n_users && !n_devices && !n_gref)
			fail(ps, VAL(ps, c), "%snames no users, groups or devices, so it allows "
			     "nobody", ctx);

		require(ps, &g[4], c, ctx);
		r->n_apps = list_len(ps, &g[4], ctx, LIST_MAX);
		if (!r->n_apps)
			fail(ps, VAL(ps, g[4].pi), "%s\"apps\" is empty", ctx);
		r->apps = palloc(ps, ps->a, r->n_apps, sizeof(*r->apps));
		for (j = 0, e = g[4].pi + 1; j < r->n_apps; j++, e = NEXT(ps, e)) {
			r->apps[j] = ref_at(ps, &p->app_map, json_object_array_get_idx(g[4].v, j), e,
					    ctx, "app", p->apps, sizeof(*p->apps), p->n_apps);
			for (k = 0; k < j; k++)
				if (r->apps[k] == r->apps[j])
					fail(ps, VAL(ps, e), "%sapp \"%s\" is listed twice", ctx,
					     p->apps[r->apps[j]].name);
		}

		r->all_ports = !g[5].present;
		if (g[5].present) {
			ports_field(ps, &g[5], ctx, &r->ports, list);
			for (j = 0; j < r->n_apps; j++) {
				const struct app *a = &p->apps[r->apps[j]];

				/* Each entry as written: merged ranges may hide one. */
				for (k = 0, e = g[5].pi + 1; k < ps->pn[g[5].pi].n; k++, e = NEXT(ps, e)) {
					char t[24];

					if (ports_cover(&a->ports, &list[k]))
						continue;
					port_text(t, sizeof(t), &list[k]);
					fail(ps, VAL(ps, e), "%sport %s is not among the ports of app "
					     "\"%s\" (%s)", ctx, t, a->name, a->ports_text);
				}
			}
		}

		r->posture = -1;
		if (g[6].present) {
			const struct sent *pe;
			const char *s = ident_at(ps, g[6].v, g[6].pi, VAL(ps, g[6].pi), ctx,
						 "\"posture\"");
			char sbuf[96];

			pe = smap_find(&p->posture_map, 0, s);
			if (!pe)
				fail(ps, VAL(ps, g[6].pi), "%sunknown posture \"%s\"%s", ctx, s,
				     suggest(sbuf, sizeof(sbuf), s, p->postures,
					     sizeof(*p->postures), p->n_postures));
			r->posture = (int)pe->v;
		}

		/* Who: the users and devices named, and every group reached. */
		for (j = 0; j < n_gref; j++)
			n_grp = closure(p, gref[j], seen, (uint32_t)i + 1, grp, n_grp);
		size = n_users + n_devices;
		for (j = 0; j < n_grp; j++)
			size += 1 + p->groups[grp[j]].n_users + p->groups[grp[j]].n_devices;
		map_init(ps, &r->who, size);
		for (j = 0; j < n_users; j++)
			smap_put(&r->who, TAG_USER, users[j], 0, &added);
		for (j = 0; j < n_devices; j++)
			smap_put(&r->who, TAG_DEVICE, devices[j], 0, &added);
		for (j = 0; j < n_grp; j++) {
			const struct group *gr = &p->groups[grp[j]];

			smap_put(&r->who, TAG_GROUP, gr->name, 0, &added);
			for (m = 0; m < gr->n_users; m++)
				smap_put(&r->who, TAG_USER, gr->users[m], 0, &added);
			for (m = 0; m < gr->n_devices; m++)
				smap_put(&r->who, TAG_DEVICE, gr->devices[m], 0, &added);
		}
		for (j = 0; j < r->n_apps; j++)
			count[r->apps[j]]++;
	}

	for (i = 0; i < p->n_apps; i++) {
		p->apps[i].rules = palloc(ps, ps->a, count[i] + 1, sizeof(uint32_t));
		p->apps[i].n_rules = 0;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < p->rules[i].n_apps; j++) {
			struct app *a = &p->apps[p->rules[i].apps[j]];

			a->rules[a->n_rules++] = (uint32_t)i;
		}
}

static int cmp_app(const void *a, const void *b, void *ctx)
{
	const struct veil_policy *p = ctx;

	return strcmp(p->apps[*(const uint32_t *)a].name, p->apps[*(const uint32_t *)b].name);
}

static void load(struct parser *ps)
{
	static const char *const keys[] = {
		"version", "zones", "groups", "postures", "apps", "rules",
	};
	struct veil_policy *p = ps->p;
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	const char *nul;
	struct field f[6];
	uint32_t root;
	size_t i, end;

	if (ps->len > DOC_MAX)
		fail(ps, NOWHERE, "the document is %zu bytes, more than the limit of %u (1 MiB)",
		     ps->len, DOC_MAX);
	nul = memchr(ps->text, '\0', ps->len);
	if (nul)
		fail(ps, (size_t)(nul - ps->text), "JSON syntax: NUL byte in the document");

	tok = json_tokener_new();
	if (!tok)
		fail(ps, NOWHERE, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	ps->root = json_tokener_parse_ex(tok, ps->text, (int)ps->len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!ps->root) {
		if (jerr == json_tokener_continue || jerr == json_tokener_success)
			fail(ps, ps->len, "JSON syntax: unexpected end of document");
		if (end < ps->len && (ps->text[end] == '}' || ps->text[end] == ']')) {
			size_t k = end;

			while (k > 0 && strchr(" \t\r\n", ps->text[k - 1]))
				k--;
			if (k > 0 && ps->text[k - 1] == ',')
				fail(ps, k - 1, "JSON syntax: a comma before '%c' (JSON allows no "
				     "trailing comma)", ps->text[end]);
		}
		fail(ps, end, "JSON syntax: %s", json_tokener_error_desc(jerr));
	}
	if (skip_ws(ps, end) != ps->len)
		fail(ps, skip_ws(ps, end), "JSON syntax: text after the end of the document");

	end = scan_value(ps, 0, 0, &root);
	if (skip_ws(ps, end) != ps->len)
		fail(ps, skip_ws(ps, end), "JSON syntax: text after the end of the document");
	if (!is_obj(ps->root))
		fail(ps, VAL(ps, root), "the document must be an object, not %s",
		     type_name(ps->root));

	walk_object(ps, ps->root, root, "", keys, 6, f);
	load_version(ps, &f[0], root);
	load_zones(ps, &f[1], root);
	load_groups(ps, &f[2]);
	load_postures(ps, &f[3]);
	load_apps(ps, &f[4]);
	load_rules(ps, &f[5]);

	p->app_order = palloc(ps, ps->a, p->n_apps + 1, sizeof(*p->app_order));
	for (i = 0; i < p->n_apps; i++)
		p->app_order[i] = (uint32_t)i;
	qsort_r(p->app_order, p->n_apps, sizeof(*p->app_order), cmp_app, p);
}

struct veil_policy *veil_policy_parse(const char *text, size_t len, struct veil_policy_error *err)
{
	struct veil_policy_error spare;
	struct veil_policy *p;
	struct parser *ps;
	struct arena a = { NULL };

	if (!err)
		err = &spare;
	memset(err, 0, sizeof(*err));
	ps = calloc(1, sizeof(*ps));
	if (ps)
		ps->p = arena_alloc(&a, sizeof(*ps->p));
	if (!ps || !ps->p) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		arena_free(&a);
		free(ps);
		return NULL;
	}
	ps->p->arena = a;
	ps->a = &ps->p->arena;
	ps->text = text ? text : "";
	ps->len = text ? len : 0;
	ps->err = err;
	if (!setjmp(ps->fail)) {
		load(ps);
		ps->ok = true;
	}
	/* Reached on success and from fail(): only heap state is used here. */
	json_object_put(ps->root);
	free(ps->pn);
	arena_free(&ps->tmp);
	p = ps->p;
	if (!ps->ok) {
		a = p->arena;
		arena_free(&a);
		p = NULL;
	}
	free(ps);
	return p;
}

void veil_policy_free(struct veil_policy *p)
{
	struct arena a;

	if (!p)
		return;
	a = p->arena;
	arena_free(&a);
}

/* --- decisions --- */

static bool subject_in(const struct rule *r, const struct veil_subject *who)
{
	size_t i;

	if (who->owner && smap_find(&r->who, TAG_USER, who->owner))
		return true;
	if (who->device && smap_find(&r->who, TAG_DEVICE, who->device))
		return true;
	for (i = 0; who->groups && i < who->n_groups; i++)
		if (who->groups[i] && smap_find(&r->who, TAG_GROUP, who->groups[i]))
			return true;
	return false;
}

static bool vreq_ok(const struct vreq *r, const char *pname, const char *what,
		    const char *reported, char *why, size_t size)
{
	struct version v;
	const char *phrase = NULL;
	size_t hl;
	int c;

	if (r->op == VOP_NONE)
		return true;
	if (!reported || !*reported) {
		snprintf(why, size, "posture %s: device reported no %s version", pname, what);
		return false;
	}
	hl = version_head(reported, &v);
	if (!hl) {
		snprintf(why, size, "posture %s: %s \"%.40s\" is not a version", pname, what,
			 reported);
		return false;
	}
	c = version_cmp(&v, &r->a);
	switch (r->op) {
	case VOP_GE:
		phrase = c >= 0 ? NULL : "is below";
		break;
	case VOP_GT:
		phrase = c > 0 ? NULL : "is not above";
		break;
	case VOP_LE:
		phrase = c <= 0 ? NULL : "is above";
		break;
	case VOP_LT:
		phrase = c < 0 ? NULL : "is not below";
		break;
	case VOP_EQ:
		phrase = c == 0 ? NULL : "is not";
		break;
	case VOP_RANGE:
		phrase = c >= 0 && version_cmp(&v, &r->b) <= 0 ? NULL : "is outside";
		break;
	case VOP_NONE:
		break;
	}
	if (!phrase)
		return true;
	snprintf(why, size, "posture %s: %s %.*s %s %s%s%s", pname, what, (int)(hl > 40 ? 40 : hl),
		 reported, phrase, r->ta, r->op == VOP_RANGE ? "-" : "",
		 r->op == VOP_RANGE ? r->tb : "");
	return false;
}

static bool posture_ok(const struct posture *po, const struct veil_posture *rep, char *why,
		       size_t size)
{
	size_t i, j;

	if (!po->n_os && !po->n_facts && po->kernel.op == VOP_NONE && po->veil.op == VOP_NONE)
		return true;
	if (!rep) {
		snprintf(why, size, "posture %s: device reported no posture", po->name);
		return false;
	}
	if (po->n_os) {
		if (!rep->os || !*rep->os) {
			snprintf(why, size, "posture %s: device reported no os", po->name);
			return false;
		}
		for (i = 0; i < po->n_os; i++)
			if (!strcasecmp(rep->os, po->os[i]))
				break;
		if (i == po->n_os) {
			snprintf(why, size, "posture %s: os %.40s is not %s%s", po->name, rep->os,
				 po->n_os > 1 ? "one of " : "", po->os[0]);
			if (po->n_os > 1)
				for (i = 1; i < po->n_os; i++)
					snprintf(why + strlen(why), size - strlen(why), ", %s",
						 po->os[i]);
			return false;
		}
	}
	if (!vreq_ok(&po->kernel, po->name, "kernel", rep->kernel, why, size) ||
	    !vreq_ok(&po->veil, po->name, "veil", rep->veil_version, why, size))
		return false;
	if (po->n_facts && (!rep->facts || !rep->n_facts)) {
		snprintf(why, size, "posture %s: device reported no facts", po->name);
		return false;
	}
	for (i = 0; i < po->n_facts; i++) {
		for (j = 0; j < rep->n_facts; j++)
			if (rep->facts[j] && !strcmp(rep->facts[j], po->facts[i]))
				break;
		if (j == rep->n_facts) {
			snprintf(why, size, "posture %s: fact %s is missing", po->name,
				 po->facts[i]);
			return false;
		}
	}
	return true;
}

static void decide_app(const struct veil_policy *p, uint32_t ai, const struct veil_subject *who,
		       struct veil_decision *d)
{
	const struct app *a = &p->apps[ai];
	char why[sizeof(d->reason)] = "", scratch[sizeof(d->reason)];
	size_t i;

	snprintf(d->app, sizeof(d->app), "%s", a->name);
	for (i = 0; i < a->n_rules; i++) {
		const struct rule *r = &p->rules[a->rules[i]];

		if (!subject_in(r, who))
			continue;
		/* A posture failure is the reason given when no rule allows. */
		if (r->posture >= 0 &&
		    !posture_ok(&p->postures[r->posture], who->posture, why[0] ? scratch : why,
				sizeof(why)))
			continue;
		if (!d->allowed) {
			d->allowed = true;
			snprintf(d->rule, sizeof(d->rule), "%s", r->name);
		}
		ports_union(d, r->all_ports ? &a->ports : &r->ports);
	}
	if (d->allowed) {
		snprintf(d->server, sizeof(d->server), "%s", a->server);
		snprintf(d->target, sizeof(d->target), "%s", a->target);
	} else if (why[0]) {
		memcpy(d->reason, why, sizeof(why));
	} else {
		snprintf(d->reason, sizeof(d->reason), "no rule allows user %.64s on device %.64s "
			 "to reach %s", who->owner ? who->owner : "(none)",
			 who->device ? who->device : "(none)", a->name);
	}
}

static const struct veil_subject nobody;

static bool app_of(const struct veil_policy *p, const char *name, uint32_t *ai)
{
	char buf[NAME_MAX_LEN + 4];
	const struct sent *e;
	const char *why, *dot;

	if (!p || !name || strlen(name) > NAME_MAX_LEN + 1 || !name_norm(name, buf + 1, false, &why))
		return false;
	e = smap_find(&p->names, 0, buf + 1);
	if (!e) {
		/* "*.dev.corp.example" covers exactly one more label. */
		dot = strchr(buf + 1, '.');
		if (!dot)
			return false;
		buf[0] = '*';
		memmove(buf + 1, dot, strlen(dot) + 1);
		e = smap_find(&p->names, 0, buf);
		if (!e)
			return false;
	}
	*ai = e->v;
	return true;
}

void veil_policy_resolve(const struct veil_policy *p, const struct veil_subject *who,
			 const char *name, struct veil_decision *d)
{
	uint32_t ai;

	memset(d, 0, sizeof(*d));
	if (!app_of(p, name, &ai)) {
		snprintf(d->reason, sizeof(d->reason), "no such name");
		return;
	}
	decide_app(p, ai, who ? who : &nobody, d);
}

bool veil_policy_app_allows(const struct veil_policy *p, const char *app,
			    const struct veil_subject *client)
{
	struct veil_decision d;
	const struct sent *e;

	if (!p || !app)
		return false;
	e = smap_find(&p->app_map, 0, app);
	if (!e)
		return false;
	memset(&d, 0, sizeof(d));
	decide_app(p, e->v, client ? client : &nobody, &d);
	return d.allowed;
}

int veil_policy_apps(const struct veil_policy *p, veil_policy_app_cb cb, void *ctx)
{
	size_t i;
	int r;

	if (!p)
		return 0;
	for (i = 0; i < p->n_apps; i++) {
		const struct app *a = &p->apps[p->app_order[i]];

		r = cb(a->name, a->names, a->n_names, a->server, a->target, a->ports_text, ctx);
		if (r)
			return r;
	}
	return 0;
}

size_t veil_policy_zones(const struct veil_policy *p, const char *const **zones)
{
	if (!p) {
		*zones = NULL;
		return 0;
	}
	*zones = p->zones;
	return p->n_zones;
}

/* --- the per-node view --- */

/* json-c builders that record a failure instead of returning it. */
static void jadd(json_object *o, const char *key, json_object *v, bool *ok)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		*ok = false;
	}
}

static void jpush(json_object *a, json_object *v, bool *ok)
{
	if (!v || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		*ok = false;
	}
}

static json_object *jstrings(const char *const *s, size_t n, bool *ok)
{
	json_object *a = json_object_new_array();
	size_t i;

	if (!a) {
		*ok = false;
		return NULL;
	}
	for (i = 0; i < n; i++)
		jpush(a, json_object_new_string(s[i]), ok);
	return a;
}

static json_object *jports(const struct veil_port_range *r, size_t n, bool *ok)
{
	json_object *a = json_object_new_array();
	char t[24];
	size_t i;

	if (!a) {
		*ok = false;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		port_text(t, sizeof(t), &r[i]);
		jpush(a, json_object_new_string(t), ok);
	}
	return a;
}

struct view_name {
	const char *name;
	uint32_t app;
};

static int cmp_view_name(const void *a, const void *b)
{
	return strcmp(((const struct view_name *)a)->name, ((const struct view_name *)b)->name);
}

/* Sorted, without repeats. */
static size_t sort_uniq(const char **s, size_t n)
{
	size_t i, k = 0;

	qsort(s, n, sizeof(*s), cmp_str);
	for (i = 0; i < n; i++)
		if (!k || strcmp(s[k - 1], s[i]))
			s[k++] = s[i];
	return k;
}

/* Who may reach an app, by identity (posture is checked at resolve time). */
static json_object *allow_list(const struct veil_policy *p, const struct app *a, bool *ok)
{
	static const struct {
		uint8_t tag;
		const char *key;
	} kinds[] = { { TAG_USER, "users" }, { TAG_GROUP, "groups" }, { TAG_DEVICE, "devices" } };
	json_object *o = json_object_new_object();
	const char **s;
	size_t total = 0, i, k, j, n;

	if (!o) {
		*ok = false;
		return NULL;
	}
	for (i = 0; i < a->n_rules; i++)
		total += p->rules[a->rules[i]].who.n;
	s = malloc((total + 1) * sizeof(*s));
	if (!s) {
		*ok = false;
		return o;
	}
	for (k = 0; k < 3; k++) {
		n = 0;
		for (i = 0; i < a->n_rules; i++) {
			const struct smap *m = &p->rules[a->rules[i]].who;

			for (j = 0; m->e && j <= m->mask; j++)
				if (m->e[j].s && m->e[j].tag == kinds[k].tag)
					s[n++] = m->e[j].s;
		}
		n = sort_uniq(s, n);
		jadd(o, kinds[k].key, jstrings(s, n, ok), ok);
	}
	free(s);
	return o;
}

static json_object *publish_entry(const struct veil_policy *p, const struct app *a, bool *ok)
{
	json_object *o = json_object_new_object();

	if (!o) {
		*ok = false;
		return NULL;
	}
	jadd(o, "app", json_object_new_string(a->name), ok);
	jadd(o, "names", jstrings(a->names, a->n_names, ok), ok);
	jadd(o, "target", json_object_new_string(a->target), ok);
	jadd(o, "ports", jports(a->ports.r, a->ports.n, ok), ok);
	jadd(o, "allow", allow_list(p, a, ok), ok);
	return o;
}

char *veil_policy_node_view(const struct veil_policy *p, const struct veil_subject *who)
{
	struct veil_decision *dec = NULL;
	struct view_name *vn = NULL;
	json_object *root, *names, *publish = NULL;
	size_t i, j, n = 0, total = 0;
	char *text = NULL;
	bool ok = true;

	if (!p)
		return NULL;
	if (!who)
		who = &nobody;
	root = json_object_new_object();
	if (!root)
		return NULL;
	jadd(root, "version", json_object_new_int(1), &ok);
	jadd(root, "zones", jstrings(p->zones, p->n_zones, &ok), &ok);

	for (i = 0; i < p->n_apps; i++)
		total += p->apps[i].n_names;
	dec = calloc(p->n_apps + 1, sizeof(*dec));
	vn = calloc(total + 1, sizeof(*vn));
	names = json_object_new_array();
	if (!dec || !vn || !names) {
		json_object_put(names);
		goto out;
	}
	for (i = 0; i < p->n_apps; i++) {
		decide_app(p, (uint32_t)i, who, &dec[i]);
		if (!dec[i].allowed)
			continue;
		for (j = 0; j < p->apps[i].n_names; j++)
			vn[n++] = (struct view_name){ p->apps[i].names[j], (uint32_t)i };
	}
	qsort(vn, n, sizeof(*vn), cmp_view_name);
	for (i = 0; i < n; i++) {
		const struct veil_decision *d = &dec[vn[i].app];
		json_object *o = json_object_new_object();

		if (o) {
			jadd(o, "name", json_object_new_string(vn[i].name), &ok);
			jadd(o, "app", json_object_new_string(d->app), &ok);
			jadd(o, "server", json_object_new_string(d->server), &ok);
			jadd(o, "ports", jports(d->ports, d->n_ports, &ok), &ok);
		}
		jpush(names, o, &ok);
	}
	jadd(root, "names", names, &ok);

	for (i = 0; who->device && i < p->n_apps; i++) {
		const struct app *a = &p->apps[p->app_order[i]];

		if (strcmp(a->server, who->device))
			continue;
		if (!publish) {
			publish = json_object_new_array();
			if (!publish || json_object_object_add(root, "publish", publish) < 0) {
				json_object_put(publish);
				ok = false;
				break;
			}
		}
		jpush(publish, publish_entry(p, a, &ok), &ok);
	}
	if (ok) {
		const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE);

		text = s ? strdup(s) : NULL;
	}
out:
	json_object_put(root);
	free(dec);
	free(vn);
	return text;
}
