// SPDX-License-Identifier: GPL-2.0
/*
 * Brokering of names and tunnels.
 *
 * A ResolveRequest becomes a pending resolve (struct breq) held by the
 * asking session until its ResolveReply leaves:
 *
 *   decided at once      denied or unknown name -> NXDOMAIN
 *                        allowed, server node not connected -> SERVFAIL
 *   R_WAIT               allowed: a ConnectRequest went to the server node;
 *                        its ConnectReply (or the timeout, or its session
 *                        ending) decides OK or SERVFAIL
 *   R_READY              decided, held until the reply floor has passed
 *
 * Every resolve is audited once, when its outcome is known. Each session
 * that has resolves pending, as a client or as a server node, has a
 * struct bsess found by its address; a resolve waiting for a server node is
 * also found by the id of its ConnectRequest. Both tables are hashed, so
 * every step costs the same whatever the number of sessions.
 *
 * There is one server, one loop and one thread per process: the broker's
 * state is a static, like session.c's read buffer.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "broker.h"

#define HASH_BITS		12
#define HASH_SIZE		(1u << HASH_BITS)
#define ENDPOINT_MAX		96	/* "[v6]:port" with room */
#define KEY_MAX			256	/* a tunnel public key, bytes */
#define TIMER_ACCURACY_US	1000

struct bsess;

struct bcand {
	int kind;
	uint32_t priority;
	char endpoint[ENDPOINT_MAX];
};

enum breq_state {
	R_NEW,		/* being decided */
	R_WAIT,		/* ConnectRequest sent: waiting for the server node */
	R_READY,	/* answer decided: waiting for the floor */
};

struct breq {
	struct breq *id_next;			/* by_id chain (R_WAIT) */
	struct breq *c_prev, *c_next;		/* the client's resolves */
	struct breq *s_prev, *s_next;		/* the server node's (R_WAIT) */
	struct bsess *client, *server;
	sd_event_source *timer;
	enum breq_state state;
	bool audited;
	uint64_t id;				/* of the ConnectRequest */
	uint64_t client_id;			/* of the ResolveRequest */
	uint64_t release_us;			/* CLOCK_MONOTONIC: not before */
	char device[VEIL_NAME_MAX];		/* who asked */
	char owner[VEIL_NAME_MAX];
	char name[256];
	struct veil_decision d;
	/* The answer. */
	Veil__ResolveReply__Status status;
	char reason[256];			/* sent when not OK */
	char secure_ip[INET6_ADDRSTRLEN];
	uint8_t *key;
	size_t key_len;
	struct bcand cands[VEIL_BROKER_MAX_CANDIDATES];
	size_t n_cands;
};

struct bsess {
	struct bsess *next;			/* by_sess chain */
	struct session *s;
	struct breq *as_client;			/* resolves it asked */
	struct breq *as_server;			/* ConnectRequests it was sent */
	unsigned int n_client;
	bool gone;				/* being torn down: do not free */
};

struct revoked {
	struct revoked *next;
	char device[VEIL_NAME_MAX];
	char serial[VEIL_SERIAL_MAX];
};

static struct {
	struct breq *by_id[HASH_SIZE];
	struct bsess *by_sess[HASH_SIZE];
	struct revoked *revoked[HASH_SIZE];
	unsigned int n_pending;
	uint64_t next_id;
} B;

static uint32_t hash64(uint64_t v)
{
	return (uint32_t)((v * 0x9e3779b97f4a7c15ULL) >> (64 - HASH_BITS));
}

static uint32_t hash_str(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *a; a++)
		h = (h ^ (uint8_t)*a) * 0x100000001b3ULL;
	h = (h ^ '/') * 0x100000001b3ULL;
	for (; *b; b++)
		h = (h ^ (uint8_t)*b) * 0x100000001b3ULL;
	return hash64(h);
}

static uint64_t now_us(struct server *srv)
{
	uint64_t t = 0;

	sd_event_now(srv->ev, CLOCK_MONOTONIC, &t);
	return t;
}

static uint64_t jitter_us(void)
{
	uint32_t r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return (uint64_t)r % (VEIL_BROKER_JITTER_MS * 1000ULL + 1);
}

static void msg_init(Veil__Message *m)
{
	veil__message__init(m);
	m->version = VEIL_PROTOCOL_VERSION;
}

/* Per-session records. */

static struct bsess *bsess_get(struct session *s, bool create)
{
	uint32_t h = hash64((uint64_t)(uintptr_t)s);
	struct bsess *bs;

	for (bs = B.by_sess[h]; bs; bs = bs->next)
		if (bs->s == s)
			return bs;
	if (!create)
		return NULL;
	bs = calloc(1, sizeof(*bs));
	if (!bs)
		return NULL;
	bs->s = s;
	bs->next = B.by_sess[h];
	B.by_sess[h] = bs;
	return bs;
}

static void bsess_unhash(struct bsess *bs)
{
	struct bsess **p = &B.by_sess[hash64((uint64_t)(uintptr_t)bs->s)];

	for (; *p; p = &(*p)->next) {
		if (*p == bs) {
			*p = bs->next;
			return;
		}
	}
}

/* Free @bs once nothing is pending on it. */
static void bsess_tidy(struct bsess *bs)
{
	if (!bs || bs->gone || bs->as_client || bs->as_server)
		return;
	bsess_unhash(bs);
	free(bs);
}

/* Pending resolves. */

static struct breq *by_id_find(uint64_t id)
{
	struct breq *e;

	for (e = B.by_id[hash64(id)]; e; e = e->id_next)
		if (e->id == id)
			return e;
	return NULL;
}

/* No longer waiting for a server node: out of the id table and its list. */
static void unlink_wait(struct breq *e)
{
	struct breq **p;

	if (e->state != R_WAIT)
		return;
	for (p = &B.by_id[hash64(e->id)]; *p; p = &(*p)->id_next) {
		if (*p == e) {
			*p = e->id_next;
			break;
		}
	}
	if (e->s_prev)
		e->s_prev->s_next = e->s_next;
	else
		e->server->as_server = e->s_next;
	if (e->s_next)
		e->s_next->s_prev = e->s_prev;
	e->s_prev = e->s_next = e->id_next = NULL;
	e->server = NULL;
	e->state = R_NEW;
}

/* Forget @e; the caller tidies the bsess records it pointed to. */
static void breq_free(struct breq *e)
{
	unlink_wait(e);
	if (e->c_prev)
		e->c_prev->c_next = e->c_next;
	else
		e->client->as_client = e->c_next;
	if (e->c_next)
		e->c_next->c_prev = e->c_prev;
	e->client->n_client--;
	B.n_pending--;
	sd_event_source_disable_unref(e->timer);
	free(e->key);
	free(e);
}

static void audit_resolve(struct server *srv, struct breq *e)
{
	char reason[256];

	if (e->audited)
		return;
	e->audited = true;
	if (!e->d.allowed)
		snprintf(reason, sizeof(reason), "%s", e->d.reason);
	else if (e->status == VEIL__RESOLVE_REPLY__STATUS__OK)
		snprintf(reason, sizeof(reason), "%s", e->d.rule);
	else
		snprintf(reason, sizeof(reason), "%.63s; SERVFAIL: %.170s", e->d.rule, e->reason);
	server_audit(srv, VEIL_AUDIT_RESOLVE, e->device, e->owner, e->name, e->d.allowed, reason);
}

/* @d's granted ports as PortRanges in @pv, each pointed to by @pp; their number. */
static size_t port_ranges(const struct veil_decision *d, Veil__PortRange *pv,
			  Veil__PortRange **pp)
{
	size_t i;

	for (i = 0; i < d->n_ports && i < VEIL_POLICY_MAX_PORTS; i++) {
		veil__port_range__init(&pv[i]);
		pv[i].proto = d->ports[i].proto;
		pv[i].first = d->ports[i].first;
		pv[i].last = d->ports[i].last;
		pp[i] = &pv[i];
	}
	return i;
}

/* Send @e's ResolveReply (when its session still listens) and free it. */
static void release(struct breq *e)
{
	Veil__Message m;
	Veil__ResolveReply r = VEIL__RESOLVE_REPLY__INIT;
	Veil__TunnelInfo ti = VEIL__TUNNEL_INFO__INIT;
	Veil__Candidate cv[VEIL_BROKER_MAX_CANDIDATES], *cp[VEIL_BROKER_MAX_CANDIDATES];
	Veil__PortRange pv[VEIL_POLICY_MAX_PORTS], *pp[VEIL_POLICY_MAX_PORTS];
	struct session *s = e->client->s;
	char *addr[1];
	size_t i;

	if (s->dead || s->state != S_OPEN) {
		breq_free(e);
		return;
	}
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_RESOLVE_REPLY;
	m.resolve_reply = &r;
	r.request_id = e->client_id;
	r.status = e->status;
	if (e->status == VEIL__RESOLVE_REPLY__STATUS__OK) {
		addr[0] = e->secure_ip;
		r.addresses = addr;
		r.n_addresses = 1;
		r.ttl = VEIL_BROKER_TTL_S;
		r.tunnel = &ti;
		ti.peer_public_key.data = e->key;
		ti.peer_public_key.len = e->key_len;
		ti.peer_device = e->d.server;
		for (i = 0; i < e->n_cands; i++) {
			veil__candidate__init(&cv[i]);
			cv[i].kind = e->cands[i].kind;
			cv[i].endpoint = e->cands[i].endpoint;
			cv[i].priority = e->cands[i].priority;
			cp[i] = &cv[i];
		}
		ti.candidates = cp;
		ti.n_candidates = e->n_cands;
		ti.ports = pp;
		ti.n_ports = port_ranges(&e->d, pv, pp);
	} else {
		r.reason = e->reason;
	}
	session_send(s, &m);
	breq_free(e);
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata);

/* Arm @e's timer for @when (CLOCK_MONOTONIC); false when it cannot be. */
static bool arm(struct server *srv, struct breq *e, uint64_t when)
{
	if (!e->timer)
		return sd_event_add_time(srv->ev, &e->timer, CLOCK_MONOTONIC, when,
					 TIMER_ACCURACY_US, on_timer, e) >= 0;
	return sd_event_source_set_time(e->timer, when) >= 0 &&
	       sd_event_source_set_enabled(e->timer, SD_EVENT_ONESHOT) >= 0;
}

/* @e's answer is decided (status, reason): audit it, send it at the floor. */
static void answer(struct server *srv, struct breq *e)
{
	unlink_wait(e);
	e->state = R_READY;
	audit_resolve(srv, e);
	if (now_us(srv) >= e->release_us || !arm(srv, e, e->release_us))
		release(e);
}

static void fail(struct server *srv, struct breq *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct server *srv, struct breq *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	e->status = VEIL__RESOLVE_REPLY__STATUS__SERVFAIL;
	answer(srv, e);
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct breq *e = userdata;
	struct bsess *c = e->client, *sv = e->server;
	struct server *srv = c->s->srv;

	(void)src;
	(void)usec;
	if (e->state == R_WAIT) {
		session_log(sv->s, "no ConnectReply for request %" PRIu64 " (%s for %s) in %d ms",
			    e->id, e->d.app, e->device, VEIL_BROKER_CONNECT_TIMEOUT_MS);
		fail(srv, e, "server node %s did not answer in %d s", e->d.server,
		     VEIL_BROKER_CONNECT_TIMEOUT_MS / 1000);
	} else {
		release(e);
	}
	bsess_tidy(c);
	bsess_tidy(sv);
	return 0;
}

/* Who asks: the certificate, the store's enrollment groups, the Hello. */
static void decide(struct session *s, const char *name, struct veil_decision *d)
{
	struct session_subject sub;

	session_subject(s, &sub);
	veil_policy_resolve(s->srv->policy, &sub.who, name, d);
}

/* The newest open session of server node @name, or NULL. */
static struct session *find_server(struct server *srv, const char *name)
{
	struct session *t;

	for (t = srv->head; t; t = t->next)
		if (!t->dead && t->state == S_OPEN && t->hello && t->cert.role == VEIL_ROLE_SERVER &&
		    !strcmp(t->cert.device, name))
			return t;
	return NULL;
}

static char *cert_pem(struct session *s)
{
	X509 *x = SSL_get0_peer_certificate(s->ssl);
	BIO *b;
	char *data, *pem = NULL;
	long len;

	if (!x)
		return NULL;
	b = BIO_new(BIO_s_mem());
	if (b && PEM_write_bio_X509(b, x)) {
		len = BIO_get_mem_data(b, &data);
		pem = strndup(data, (size_t)len);
	}
	BIO_free(b);
	return pem;
}

static bool hello_first(struct session *s, const char *what)
{
	if (s->hello)
		return true;
	session_refuse(s, VEIL__ERROR__CODE__ERROR_UNEXPECTED,
		       "%s before Hello: send Hello first", what);
	return false;
}

/* What a client sends for the server node: bounded before it is relayed. */
static const char *check_request(const Veil__ResolveRequest *req)
{
	size_t i;

	if (req->nat && req->nat->public_endpoint &&
	    strlen(req->nat->public_endpoint) >= ENDPOINT_MAX)
		return "NAT endpoint too long";
	if (req->n_candidates > VEIL_BROKER_MAX_CANDIDATES)
		return "too many candidates";
	for (i = 0; i < req->n_candidates; i++)
		if (!req->candidates[i]->endpoint ||
		    strlen(req->candidates[i]->endpoint) >= ENDPOINT_MAX)
			return "candidate endpoint too long";
	if (req->public_key.len > KEY_MAX)
		return "public key too long";
	return NULL;
}

static bool send_connect(struct session *s, struct session *sv, const Veil__ResolveRequest *req,
			 struct breq *e)
{
	Veil__Message m;
	Veil__ConnectRequest cr = VEIL__CONNECT_REQUEST__INIT;
	Veil__PortRange pv[VEIL_POLICY_MAX_PORTS], *pp[VEIL_POLICY_MAX_PORTS];
	char *pem = cert_pem(s);
	bool ok;

	if (!pem)
		return false;
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_CONNECT_REQUEST;
	m.connect_request = &cr;
	cr.request_id = e->id;
	cr.client_device = s->cert.device;
	cr.client_cert_pem = pem;
	cr.client_nat = req->nat;
	cr.candidates = req->candidates;
	cr.n_candidates = req->n_candidates;
	cr.client_public_key = req->public_key;
	cr.ports = pp;
	cr.n_ports = port_ranges(&e->d, pv, pp);
	cr.app = e->d.app;
	ok = session_send(sv, &m);
	free(pem);
	return ok;
}

void veil_broker_resolve(struct session *s, const Veil__ResolveRequest *req)
{
	struct server *srv = s->srv;
	struct bsess *bs, *sbs;
	struct session *sv;
	struct breq *e;
	const char *why;
	uint64_t now;

	if (!hello_first(s, "ResolveRequest"))
		return;
	now = now_us(srv);
	bs = bsess_get(s, true);
	e = bs && bs->n_client < VEIL_BROKER_MAX_PER_SESSION &&
	    B.n_pending < VEIL_BROKER_MAX_PENDING ? calloc(1, sizeof(*e)) : NULL;
	if (!e) {
		Veil__Message m;
		Veil__ResolveReply r = VEIL__RESOLVE_REPLY__INIT;

		/* Refused before the name is looked at: nothing to hide. */
		session_log(s, "resolve %" PRIu64 " refused: %s", req->request_id,
			    bs && bs->n_client >= VEIL_BROKER_MAX_PER_SESSION
			    ? "too many resolves pending on this session" :
			    B.n_pending >= VEIL_BROKER_MAX_PENDING
			    ? "too many resolves pending on the controller" : "out of memory");
		msg_init(&m);
		m.body_case = VEIL__MESSAGE__BODY_RESOLVE_REPLY;
		m.resolve_reply = &r;
		r.request_id = req->request_id;
		r.status = VEIL__RESOLVE_REPLY__STATUS__SERVFAIL;
		r.reason = "too many resolves pending: retry later";
		session_send(s, &m);
		bsess_tidy(bs);
		return;
	}
	e->client = bs;
	e->c_next = bs->as_client;
	if (bs->as_client)
		bs->as_client->c_prev = e;
	bs->as_client = e;
	bs->n_client++;
	B.n_pending++;
	e->client_id = req->request_id;
	e->release_us = now + VEIL_BROKER_FLOOR_MS * 1000ULL + jitter_us();
	snprintf(e->device, sizeof(e->device), "%s", s->cert.device);
	snprintf(e->owner, sizeof(e->owner), "%s", s->cert.owner);
	snprintf(e->name, sizeof(e->name), "%s", req->name ? req->name : "");

	why = check_request(req);
	if (why) {
		snprintf(e->d.reason, sizeof(e->d.reason), "malformed request: %s", why);
		fail(srv, e, "malformed request: %s", why);
		goto out;
	}
	decide(s, e->name, &e->d);
	if (!e->d.allowed) {
		/* Denied and nonexistent names get the same answer. */
		e->status = VEIL__RESOLVE_REPLY__STATUS__NXDOMAIN;
		snprintf(e->reason, sizeof(e->reason), "no such name");
		answer(srv, e);
		goto out;
	}
	sv = find_server(srv, e->d.server);
	if (!sv) {
		fail(srv, e, "server node %s of %s is not connected", e->d.server, e->d.app);
		goto out;
	}
	sbs = bsess_get(sv, true);
	if (!sbs) {
		fail(srv, e, "controller out of memory");
		goto out;
	}
	if (!B.next_id) {
		RAND_bytes((unsigned char *)&B.next_id, sizeof(B.next_id));
		B.next_id >>= 1;	/* never wraps to 0 in a run */
	}
	e->id = ++B.next_id;
	if (!send_connect(s, sv, req, e)) {
		fail(srv, e, "cannot send the request to server node %s", e->d.server);
		bsess_tidy(sbs);
		goto out;
	}
	if (!arm(srv, e, now + VEIL_BROKER_CONNECT_TIMEOUT_MS * 1000ULL)) {
		fail(srv, e, "controller cannot set a timer");
		bsess_tidy(sbs);
		goto out;
	}
	e->state = R_WAIT;
	e->server = sbs;
	e->s_next = sbs->as_server;
	if (sbs->as_server)
		sbs->as_server->s_prev = e;
	sbs->as_server = e;
	e->id_next = B.by_id[hash64(e->id)];
	B.by_id[hash64(e->id)] = e;
out:
	bsess_tidy(bs);
}

/* Take the server node's answer into @e; NULL, or what is wrong with it. */
static const char *take_reply(struct breq *e, const Veil__ConnectReply *rep)
{
	unsigned char a[sizeof(struct in6_addr)];
	size_t i, n;

	if (!rep->secure_ip || !*rep->secure_ip)
		return "no secure address";
	if (strlen(rep->secure_ip) >= sizeof(e->secure_ip) ||
	    (inet_pton(AF_INET, rep->secure_ip, a) != 1 &&
	     inet_pton(AF_INET6, rep->secure_ip, a) != 1))
		return "the secure address is not an IP address";
	if (rep->public_key.len > KEY_MAX)
		return "public key too long";
	n = rep->n_candidates;
	if (n > VEIL_BROKER_MAX_CANDIDATES)
		return "too many candidates";
	for (i = 0; i < n; i++) {
		const Veil__Candidate *c = rep->candidates[i];

		if (!c->endpoint || !*c->endpoint || strlen(c->endpoint) >= ENDPOINT_MAX)
			return "a candidate endpoint is empty or too long";
		e->cands[i].kind = c->kind;
		e->cands[i].priority = c->priority;
		snprintf(e->cands[i].endpoint, sizeof(e->cands[i].endpoint), "%s", c->endpoint);
	}
	e->n_cands = n;
	if (rep->public_key.len) {
		e->key = malloc(rep->public_key.len);
		if (!e->key)
			return "controller out of memory";
		memcpy(e->key, rep->public_key.data, rep->public_key.len);
		e->key_len = rep->public_key.len;
	}
	snprintf(e->secure_ip, sizeof(e->secure_ip), "%s", rep->secure_ip);
	return NULL;
}

void veil_broker_connect_reply(struct session *s, const Veil__ConnectReply *rep)
{
	struct server *srv = s->srv;
	struct bsess *c, *sv;
	struct breq *e;
	const char *why;

	if (!hello_first(s, "ConnectReply"))
		return;
	e = by_id_find(rep->request_id);
	if (!e) {
		session_log(s, "ConnectReply for request %" PRIu64 " ignored: no such request is "
			    "pending (unknown, answered or timed out)", rep->request_id);
		return;
	}
	if (e->server->s != s) {
		session_log(s, "ConnectReply for request %" PRIu64 " ignored: the request was "
			    "sent to %s, not to this session", rep->request_id, e->d.server);
		return;
	}
	c = e->client;
	sv = e->server;
	if (!rep->accepted) {
		fail(srv, e, "server node %s refused: %.200s", e->d.server,
		     rep->reason && *rep->reason ? rep->reason : "no reason given");
	} else if ((why = take_reply(e, rep))) {
		session_log(s, "ConnectReply for request %" PRIu64 " is invalid: %s",
			    rep->request_id, why);
		fail(srv, e, "server node %s gave an invalid answer: %s", e->d.server, why);
	} else {
		e->status = VEIL__RESOLVE_REPLY__STATUS__OK;
		answer(srv, e);
	}
	bsess_tidy(c);
	bsess_tidy(sv);
}

void veil_broker_tunnel_report(struct session *s, const Veil__TunnelReport *rep)
{
	struct veil_audit a = { 0 };

	if (!hello_first(s, "TunnelReport"))
		return;
	a.kind = rep->up ? VEIL_AUDIT_TUNNEL_UP : VEIL_AUDIT_TUNNEL_DOWN;
	snprintf(a.device, sizeof(a.device), "%s", s->cert.device);
	snprintf(a.user, sizeof(a.user), "%s", s->cert.owner);
	snprintf(a.name, sizeof(a.name), "%s", rep->peer_device ? rep->peer_device : "");
	snprintf(a.reason, sizeof(a.reason), "%s", rep->app ? rep->app : "");
	a.allowed = true;
	a.rx_bytes = rep->rx_bytes;
	a.tx_bytes = rep->tx_bytes;
	if (veil_store_audit_add(s->srv->store, &a))
		session_log(s, "cannot audit a tunnel report: %s",
			    veil_store_errmsg(s->srv->store));
}

/* Drop what @bs asked (no answer) and fail what waits for it as a server node. */
static void bsess_drop(struct server *srv, struct bsess *bs, const char *client_why,
		       const char *server_why)
{
	struct breq *e;
	struct bsess *other;

	bs->gone = true;
	while ((e = bs->as_client)) {
		other = e->server;
		if (e->d.allowed && !e->audited) {
			e->status = VEIL__RESOLVE_REPLY__STATUS__SERVFAIL;
			snprintf(e->reason, sizeof(e->reason), "%s", client_why);
			audit_resolve(srv, e);
		}
		breq_free(e);
		if (other != bs)
			bsess_tidy(other);
	}
	while ((e = bs->as_server)) {
		other = e->client;
		fail(srv, e, "server node %s %s", e->d.server, server_why);
		if (other != bs)
			bsess_tidy(other);
	}
	bs->gone = false;
}

void veil_broker_session_gone(struct session *s)
{
	struct bsess *bs = bsess_get(s, false);

	if (!bs)
		return;
	bsess_drop(s->srv, bs, "the client's session ended", "went away");
	bsess_tidy(bs);
}

/* Revocations. */

static struct revoked **revoked_find(const char *device, const char *serial)
{
	struct revoked **p = &B.revoked[hash_str(device, serial)];

	for (; *p; p = &(*p)->next)
		if (!strcmp((*p)->device, device) && !strcmp((*p)->serial, serial))
			break;
	return p;
}

struct rv_list {
	struct revoked *head;	/* newly revoked, not yet in the table */
	int err;
};

static int revoked_cb(const struct veil_device *dev, void *ctx)
{
	struct rv_list *l = ctx;
	struct revoked *r;

	if (!dev->revoked || *revoked_find(dev->name, dev->serial))
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r) {
		l->err = -ENOMEM;
		return -ENOMEM;
	}
	snprintf(r->device, sizeof(r->device), "%s", dev->name);
	snprintf(r->serial, sizeof(r->serial), "%s", dev->serial);
	r->next = l->head;
	l->head = r;
	return 0;
}

/* Devices revoked and not yet in the table, as a list; 0 or -errno. */
static int new_revocations(struct server *srv, struct revoked **out)
{
	struct rv_list l = { 0 };
	struct revoked *r;
	int ret;

	ret = veil_store_device_list(srv->store, revoked_cb, &l);
	if (ret && !l.err)
		fprintf(stderr, "cannot list revoked devices: %s\n", veil_store_errmsg(srv->store));
	else if (l.err)
		fprintf(stderr, "cannot list revoked devices: out of memory\n");
	if (ret || l.err) {
		while ((r = l.head)) {
			l.head = r->next;
			free(r);
		}
		return ret ? ret : l.err;
	}
	*out = l.head;
	return 0;
}

static void revoked_keep(struct revoked *r)
{
	struct revoked **p = revoked_find(r->device, r->serial);

	r->next = NULL;
	*p = r;
}

int veil_broker_start(struct server *srv)
{
	struct revoked *r, *n;
	int ret;

	memset(&B, 0, sizeof(B));
	ret = new_revocations(srv, &r);
	for (; !ret && r; r = n) {
		n = r->next;
		revoked_keep(r);
	}
	return ret;
}

static void drop_device(struct server *srv, const char *device, const char *serial)
{
	Veil__Message m;
	Veil__DropDevice d = VEIL__DROP_DEVICE__INIT;
	struct bsess *bs, *next;
	struct session *s, *n;
	unsigned int i, sent = 0;

	/* Its pending resolves, as a client or as a server node. */
	for (i = 0; i < HASH_SIZE; i++) {
		for (bs = B.by_sess[i]; bs; bs = next) {
			next = bs->next;
			if (strcmp(bs->s->cert.device, device))
				continue;
			bsess_drop(srv, bs, "the client was revoked", "was revoked");
			bsess_tidy(bs);
			next = B.by_sess[i];	/* tidying may have changed the chain */
		}
	}
	/* Every node forgets its tunnels to the device. */
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_DROP_DEVICE;
	m.drop_device = &d;
	d.device = (char *)device;
	d.serial = (char *)serial;
	for (s = srv->head; s; s = n) {
		n = s->next;
		if (!s->dead && s->state == S_OPEN && s->hello && strcmp(s->cert.device, device) &&
		    session_send(s, &m))
			sent++;
	}
	fprintf(stderr, "device %s revoked (certificate %s): DropDevice sent to %u sessions\n",
		device, serial, sent);
}

void veil_broker_revocations(struct server *srv)
{
	struct revoked *r, *n;

	if (new_revocations(srv, &r))
		return;
	for (; r; r = n) {
		n = r->next;
		drop_device(srv, r->device, r->serial);
		revoked_keep(r);
	}
}

void veil_broker_stop(struct server *srv)
{
	struct bsess *bs;
	struct revoked *r;
	struct breq *e;
	unsigned int i;

	(void)srv;
	/* Every resolve is on its client's list: free them there, unlinked. */
	for (i = 0; i < HASH_SIZE; i++) {
		while ((bs = B.by_sess[i])) {
			B.by_sess[i] = bs->next;
			while ((e = bs->as_client)) {
				bs->as_client = e->c_next;
				sd_event_source_disable_unref(e->timer);
				free(e->key);
				free(e);
			}
			free(bs);
		}
		while ((r = B.revoked[i])) {
			B.revoked[i] = r->next;
			free(r);
		}
	}
	memset(&B, 0, sizeof(B));
}
