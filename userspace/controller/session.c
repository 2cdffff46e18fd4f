// SPDX-License-Identifier: GPL-2.0
/*
 * One node's session on the controller: the TLS handshake and certificate
 * checks, framing, the per-session output queue and its bound, timers
 * (handshake deadline, idle cut, lingering close), and the dispatch of each
 * message: enrollment, hello and heartbeats, admin requests, brokering.
 *
 * Nothing is freed from inside a callback that may still use it: a session
 * that must end is unlinked, its sources disabled, and it is put on the dead
 * list that a deferred event frees.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "admin.h"
#include "broker.h"
#include "session.h"

#define CLOSE_LINGER_US		(2 * 1000000ULL)	/* time to flush a last message */
#define TIMER_ACCURACY_US	(100 * 1000ULL)
#define READS_PER_EVENT		64

static uint8_t rbuf[16384];	/* one loop, one thread: a shared read buffer */

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void session_log(const struct session *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "session %s from %s%s%s: %s\n", s->id, s->peer,
		s->cert.device[0] ? ", device " : "", s->cert.device, msg);
}

static const char *ssl_reason(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	if (!e)
		return "connection lost";
	ERR_error_string_n(e, buf, sizeof(buf));
	return strrchr(buf, ':') ? strrchr(buf, ':') + 1 : buf;
}

static void out_free(struct session *s)
{
	struct out_chunk *c, *n;

	for (c = s->out_head; c; c = n) {
		n = c->next;
		free(c);
	}
	s->out_head = s->out_tail = NULL;
	s->out_bytes = 0;
}

static void posture_free(struct session *s)
{
	size_t i;

	free(s->posture_os);
	free(s->posture_kernel);
	free(s->posture_version);
	for (i = 0; i < s->n_facts; i++)
		free(s->facts[i]);
	free(s->facts);
	s->posture_os = s->posture_kernel = s->posture_version = NULL;
	s->facts = NULL;
	s->n_facts = 0;
}

void session_free(struct session *s)
{
	veil_broker_session_gone(s);
	sd_event_source_disable_unref(s->io);
	sd_event_source_disable_unref(s->timer);
	if (s->ssl)
		SSL_free(s->ssl);
	if (s->fd >= 0)
		close(s->fd);
	veil_frame_decoder_free(&s->dec);
	out_free(s);
	posture_free(s);
	free(s);
}

int session_reap(sd_event_source *src, void *userdata)
{
	struct server *srv = userdata;
	struct session *s;

	(void)src;
	while ((s = srv->dead)) {
		srv->dead = s->next;
		session_free(s);
	}
	return 0;
}

/* End @s now: unlink it and free it once the loop is out of its callbacks. */
static void session_kill(struct session *s, const char *why)
{
	struct server *srv = s->srv;

	if (s->dead)
		return;
	if (why)
		session_log(s, "closed: %s", why);
	s->dead = true;
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->n_sessions--;
	sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	s->prev = NULL;
	s->next = srv->dead;
	srv->dead = s;
	sd_event_source_set_enabled(srv->reap_src, SD_EVENT_ONESHOT);
}

/*
 * Sockets are watched edge-triggered and re-armed after every event: a
 * handler may stop before EAGAIN (READS_PER_EVENT), and re-arming
 * (EPOLL_CTL_MOD, which sd-event never skips for EPOLLET) reports the
 * socket again if it is still ready. Level-triggered, every ready socket
 * came back from each loop iteration's epoll_wait while sd-event dispatched
 * one source per iteration: k sockets ready at once (a network cut closing
 * thousands of sessions) cost O(k^2).
 */
static void update_events(struct session *s)
{
	uint32_t ev = EPOLLIN;

	if (s->dead)
		return;
	if (s->want_write || (s->out_head && !s->write_blocked_on_read))
		ev |= EPOLLOUT;
	if (sd_event_source_set_io_events(s->io, ev | EPOLLET) < 0) {
		session_kill(s, "cannot watch the socket");
		return;
	}
	s->events = ev;
}

static void arm_timer(struct session *s, uint64_t when)
{
	if (s->dead)
		return;
	sd_event_source_set_time(s->timer, when);
	sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

/* Closing: the last message is out; send close_notify and FIN, linger. */
static void begin_linger(struct session *s)
{
	if (s->lingering)
		return;
	s->lingering = true;
	SSL_shutdown(s->ssl);
	shutdown(s->fd, SHUT_WR);
}

static void session_flush(struct session *s)
{
	struct out_chunk *c;
	int r, e;

	s->want_write = false;
	s->write_blocked_on_read = false;
	while ((c = s->out_head)) {
		ERR_clear_error();
		r = SSL_write(s->ssl, c->data + c->off, (int)(c->len - c->off));
		if (r > 0) {
			c->off += (size_t)r;
			s->out_bytes -= (size_t)r;
			s->bytes_out += (uint64_t)r;
			if (c->off == c->len) {
				s->out_head = c->next;
				if (!s->out_head)
					s->out_tail = NULL;
				free(c);
			}
			continue;
		}
		e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE) {
			s->want_write = true;
			break;
		}
		if (e == SSL_ERROR_WANT_READ) {
			s->write_blocked_on_read = true;
			break;
		}
		out_free(s);
		session_kill(s, e == SSL_ERROR_SYSCALL ? "connection lost while sending"
						       : ssl_reason());
		return;
	}
	if (!s->out_head && s->state == S_CLOSING)
		begin_linger(s);
	update_events(s);
}

bool session_send(struct session *s, const Veil__Message *m)
{
	struct out_chunk *c;
	uint8_t *buf;
	size_t len;
	int r;

	if (s->dead || (s->state == S_CLOSING && s->lingering))
		return false;
	r = veil_msg_pack(m, s->srv->cfg.max_message, &buf, &len);
	if (r) {
		session_log(s, "cannot send a %s message: %s", veil_msg_name(m),
			    r == -EMSGSIZE ? "over the message size limit" : strerror(-r));
		return false;
	}
	if (s->out_bytes + len > s->srv->out_limit) {
		free(buf);
		session_kill(s, "output queue over its limit: the node does not read");
		return false;
	}
	c = malloc(sizeof(*c) + len);
	if (!c) {
		free(buf);
		session_kill(s, "out of memory");
		return false;
	}
	c->next = NULL;
	c->len = len;
	c->off = 0;
	memcpy(c->data, buf, len);
	free(buf);
	if (s->out_tail)
		s->out_tail->next = c;
	else
		s->out_head = c;
	s->out_tail = c;
	s->out_bytes += len;
	if (s->state != S_HANDSHAKE)
		session_flush(s);
	return !s->dead;
}

static void msg_init(Veil__Message *m)
{
	veil__message__init(m);
	m->version = VEIL_PROTOCOL_VERSION;
}

void session_refuse(struct session *s, int code, const char *fmt, ...)
{
	Veil__Message m;
	Veil__Error e = VEIL__ERROR__INIT;
	char text[512];
	va_list ap;

	if (s->dead || s->state == S_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	session_log(s, "refused: %s", text);
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_ERROR;
	m.error = &e;
	e.code = code;
	e.text = text;
	s->state = S_CLOSING;
	s->deadline_us = mono_us() + CLOSE_LINGER_US;
	arm_timer(s, s->deadline_us);
	if (session_send(s, &m))
		session_flush(s);
}

/* Close after what is queued is sent (enrollment reply). */
static void session_close_after_flush(struct session *s)
{
	s->state = S_CLOSING;
	s->deadline_us = mono_us() + CLOSE_LINGER_US;
	arm_timer(s, s->deadline_us);
	session_flush(s);
}

static void audit_session(struct session *s, bool allowed, const char *reason)
{
	server_audit(s->srv, VEIL_AUDIT_SESSION, s->cert.device, s->cert.owner, s->peer, allowed,
		     reason);
}

/* Certificate checks once the handshake is done. */

int session_verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct session *s = ssl ? SSL_get_app_data(ssl) : NULL;

	/*
	 * Let the handshake finish whatever the verdict, and keep the first
	 * error: the session then says what is wrong in an Error message
	 * instead of a bare TLS alert.
	 */
	if (!ok && s && !s->verify_err) {
		X509 *x = X509_STORE_CTX_get_current_cert(xs);

		s->verify_err = X509_STORE_CTX_get_error(xs);
		if (!s->verify_err)
			s->verify_err = X509_V_ERR_UNSPECIFIED;
		if (x)
			X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
						  s->verify_cn, sizeof(s->verify_cn));
	}
	return 1;
}

static bool check_certificate(struct session *s)
{
	struct server *srv = s->srv;
	X509 *peer = SSL_get0_peer_certificate(s->ssl);
	char err[VEIL_ERR_MAX] = "";
	long v = SSL_get_verify_result(s->ssl);
	int r;

	if (s->verify_err || v != X509_V_OK) {
		int e = s->verify_err ? s->verify_err : (int)v;
		const char *what = X509_verify_cert_error_string(e);

		snprintf(s->cert.device, sizeof(s->cert.device), "%s", s->verify_cn);
		audit_session(s, false, what);
		if (e == X509_V_ERR_CERT_HAS_EXPIRED)
			session_refuse(s, VEIL__ERROR__CODE__ERROR_UNAUTHENTICATED,
				       "the certificate of \"%s\" has expired: enroll the device "
				       "again", s->verify_cn);
		else
			session_refuse(s, VEIL__ERROR__CODE__ERROR_UNAUTHENTICATED,
				       "certificate \"%s\" refused: %s (it must be issued by this "
				       "controller's CA)", s->verify_cn, what);
		return false;
	}
	if (veil_cert_identity(peer, &s->cert, err)) {
		audit_session(s, false, err);
		session_refuse(s, VEIL__ERROR__CODE__ERROR_UNAUTHENTICATED,
			       "not a veil device certificate: %s", err);
		return false;
	}
	r = veil_store_serial_revoked(srv->store, s->cert.serial);
	if (r == 1) {
		audit_session(s, false, "certificate revoked");
		session_refuse(s, VEIL__ERROR__CODE__ERROR_REVOKED,
			       "certificate %s of device \"%s\" is revoked", s->cert.serial,
			       s->cert.device);
		return false;
	}
	if (r == -ENOENT) {
		audit_session(s, false, "certificate unknown");
		session_refuse(s, VEIL__ERROR__CODE__ERROR_UNAUTHENTICATED,
			       "certificate %s of device \"%s\" is unknown to this controller",
			       s->cert.serial, s->cert.device);
		return false;
	}
	if (r < 0)
		goto internal;
	r = veil_store_device_get(srv->store, s->cert.device, &s->dev);
	if (r == -ENOENT) {
		audit_session(s, false, "device unknown");
		session_refuse(s, VEIL__ERROR__CODE__ERROR_UNAUTHENTICATED,
			       "device \"%s\" is unknown to this controller", s->cert.device);
		return false;
	}
	if (r < 0)
		goto internal;
	if (s->dev.revoked) {
		audit_session(s, false, "device revoked");
		session_refuse(s, VEIL__ERROR__CODE__ERROR_REVOKED, "device \"%s\" is revoked",
			       s->cert.device);
		return false;
	}
	if (s->dev.serial[0] && strcmp(s->dev.serial, s->cert.serial)) {
		audit_session(s, false, "certificate superseded");
		session_refuse(s, VEIL__ERROR__CODE__ERROR_REVOKED,
			       "certificate %s of device \"%s\" was replaced by a newer one",
			       s->cert.serial, s->cert.device);
		return false;
	}
	return true;
internal:
	session_refuse(s, VEIL__ERROR__CODE__ERROR_INTERNAL, "controller store error: %s",
		       veil_store_errmsg(srv->store));
	return false;
}

bool session_recheck(struct session *s)
{
	struct veil_device dev;
	int r;

	if (s->dead || s->state != S_OPEN)
		return true;
	r = veil_store_serial_revoked(s->srv->store, s->cert.serial);
	if (r == 1 || r == -ENOENT ||
	    (r == 0 && !veil_store_device_get(s->srv->store, s->cert.device, &dev) &&
	     dev.revoked)) {
		session_refuse(s, VEIL__ERROR__CODE__ERROR_REVOKED, "device \"%s\" was revoked",
			       s->cert.device);
		return false;
	}
	return true;
}

static void handshake_done(struct session *s)
{
	if (!SSL_get0_peer_certificate(s->ssl)) {
		s->state = S_ENROLL;	/* the deadline set at accept still runs */
		return;
	}
	s->state = S_OPEN;
	if (!check_certificate(s))
		return;
	s->last_msg_us = mono_us();
	arm_timer(s, s->last_msg_us + (uint64_t)s->srv->cfg.idle_s * 1000000);
	audit_session(s, true, "opened");
	session_log(s, "open (%s, owner %s)", veil_role_name(s->cert.role), s->cert.owner);
}

static void do_handshake(struct session *s)
{
	int r, e;

	ERR_clear_error();
	r = SSL_accept(s->ssl);
	if (r == 1) {
		handshake_done(s);
		if (!s->dead && s->out_head)
			session_flush(s);
		return;
	}
	e = SSL_get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		s->want_write = false;
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		s->want_write = true;
		return;
	}
	session_kill(s, e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN
			? "connection closed during the TLS handshake" : ssl_reason());
}

/* Messages. */

static void enroll(struct session *s, const Veil__EnrollRequest *req)
{
	struct server *srv = s->srv;
	Veil__Message m;
	Veil__EnrollReply rep = VEIL__ENROLL_REPLY__INIT;
	Veil__Error e = VEIL__ERROR__INIT;
	struct veil_token tok;
	uint8_t hash[32];
	char serial[VEIL_SERIAL_MAX], err[VEIL_ERR_MAX] = "", *cert = NULL;
	const char *why = NULL;
	int64_t not_after = 0;
	int r, code = 0;

	memset(&tok, 0, sizeof(tok));
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_ENROLL_REPLY;
	m.enroll_reply = &rep;
	if (req->token_secret.len != 32) {
		code = VEIL__ERROR__CODE__ERROR_TOKEN_UNKNOWN;
		why = "unknown token";
		goto refuse;
	}
	SHA256(req->token_secret.data, req->token_secret.len, hash);
	r = veil_store_token_consume(srv->store, hash, &tok);
	if (r) {
		code = r == -ENOENT ? VEIL__ERROR__CODE__ERROR_TOKEN_UNKNOWN :
		       r == -EALREADY ? VEIL__ERROR__CODE__ERROR_TOKEN_USED :
		       r == -ETIMEDOUT ? VEIL__ERROR__CODE__ERROR_TOKEN_EXPIRED :
		       VEIL__ERROR__CODE__ERROR_INTERNAL;
		why = r == -ENOENT ? "unknown token" : r == -EALREADY ? "token already used" :
		      r == -ETIMEDOUT ? "token expired" : veil_store_errmsg(srv->store);
		goto refuse;
	}
	snprintf(s->cert.device, sizeof(s->cert.device), "%s", tok.device);
	snprintf(s->cert.owner, sizeof(s->cert.owner), "%s", tok.owner);
	r = veil_ca_sign(&srv->ca, req->csr_pem ? req->csr_pem : "", &tok, &cert, serial,
			 &not_after, err);
	if (r) {
		code = VEIL__ERROR__CODE__ERROR_BAD_CSR;
		why = err[0] ? err : "the certificate request was refused";
		goto refuse;
	}
	r = veil_store_device_enroll(srv->store, &tok, serial, not_after, cert);
	if (r) {
		code = VEIL__ERROR__CODE__ERROR_INTERNAL;
		why = veil_store_errmsg(srv->store);
		goto refuse;
	}
	snprintf(err, sizeof(err), "certificate %s", serial);
	server_audit(srv, VEIL_AUDIT_ENROLL, tok.device, tok.owner, s->peer, true, err);
	session_log(s, "enrolled (%s, owner %s, certificate %s)", veil_role_name(tok.role),
		    tok.owner, serial);
	rep.cert_pem = cert;
	rep.ca_pem = srv->ca_pem;
	rep.device = tok.device;
	session_send(s, &m);
	free(cert);
	session_close_after_flush(s);
	return;
refuse:
	server_audit(srv, VEIL_AUDIT_ENROLL, tok.device, tok.owner, s->peer, false, why);
	session_log(s, "enrollment refused: %s", why);
	e.code = code;
	e.text = (char *)why;
	rep.error = &e;
	session_send(s, &m);
	free(cert);
	session_close_after_flush(s);
}

static char *dup_str(const char *p)
{
	return strdup(p ? p : "");
}

static void hello(struct session *s, const Veil__Hello *h)
{
	Veil__Message m;
	Veil__HelloAck ack = VEIL__HELLO_ACK__INIT;
	bool first = !s->hello;
	size_t i, n = h->n_facts > 64 ? 64 : h->n_facts;

	posture_free(s);
	s->posture_os = dup_str(h->os);
	s->posture_kernel = dup_str(h->kernel);
	s->posture_version = dup_str(h->veil_version);
	s->facts = calloc(n ? n : 1, sizeof(*s->facts));
	for (i = 0; s->facts && i < n; i++)
		if ((s->facts[s->n_facts] = strdup(h->facts[i] ? h->facts[i] : "")))
			s->n_facts++;
	s->hello = true;
	if (first) {
		msg_init(&m);
		m.body_case = VEIL__MESSAGE__BODY_HELLO_ACK;
		m.hello_ack = &ack;
		ack.session_id = s->id;
		ack.device = s->cert.device;
		ack.heartbeat_s = s->srv->cfg.heartbeat_s;
		if (!session_send(s, &m))
			return;
	}
	s->policy_sent = -1;	/* posture may change the view: send it again */
	session_send_policy(s);
}

void session_subject(const struct session *s, struct session_subject *sub)
{
	char *tok, *save = NULL;
	struct veil_subject *who = &sub->who;

	memset(sub, 0, sizeof(*sub));
	snprintf(sub->gbuf, sizeof(sub->gbuf), "%s", s->dev.groups);
	for (tok = strtok_r(sub->gbuf, ",", &save); tok && who->n_groups < SESSION_MAX_GROUPS;
	     tok = strtok_r(NULL, ",", &save))
		sub->groups[who->n_groups++] = tok;
	sub->posture.os = s->posture_os;
	sub->posture.kernel = s->posture_kernel;
	sub->posture.veil_version = s->posture_version;
	sub->posture.facts = (const char *const *)s->facts;
	sub->posture.n_facts = s->n_facts;
	who->device = s->cert.device;
	who->owner = s->cert.owner;
	who->role = veil_role_name(s->cert.role);
	who->groups = sub->groups;
	who->posture = &sub->posture;
}

void session_send_policy(struct session *s)
{
	Veil__Message m;
	Veil__PolicyUpdate pu = VEIL__POLICY_UPDATE__INIT;
	struct session_subject sub;
	char *view = NULL;

	if (s->dead || s->state != S_OPEN || !s->hello ||
	    s->policy_sent == s->srv->policy_version)
		return;
	if (s->srv->policy) {
		session_subject(s, &sub);
		view = veil_policy_node_view(s->srv->policy, &sub.who);
		if (!view) {
			session_log(s, "cannot build the node's policy view: out of memory");
			return;
		}
	}
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_POLICY_UPDATE;
	m.policy_update = &pu;
	pu.version = (uint64_t)s->srv->policy_version;
	pu.node_view = view ? view : "{}";
	if (session_send(s, &m))
		s->policy_sent = s->srv->policy_version;
	free(view);
}

static void heartbeat(struct session *s, const Veil__Heartbeat *hb)
{
	Veil__Message m;
	Veil__HeartbeatAck ack = VEIL__HEARTBEAT_ACK__INIT;

	s->last_hb_us = real_us();
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_HEARTBEAT_ACK;
	m.heartbeat_ack = &ack;
	ack.seq = hb->seq;
	session_send(s, &m);
}

static void admin(struct session *s, const Veil__AdminRequest *req)
{
	struct server *srv = s->srv;
	struct veil_admin_ctx ctx = { 0 };
	Veil__Message m;
	Veil__AdminReply rep = VEIL__ADMIN_REPLY__INIT;
	char *out = NULL, *err = NULL, **argv;
	size_t out_len = 0, err_len = 0, limit, i;
	FILE *fo, *fe;
	int status = 1;

	if (s->cert.role != VEIL_ROLE_ADMIN) {
		session_refuse(s, VEIL__ERROR__CODE__ERROR_FORBIDDEN,
			       "device \"%s\" has role %s: admin commands need an admin "
			       "certificate", s->cert.device, veil_role_name(s->cert.role));
		return;
	}
	fo = open_memstream(&out, &out_len);
	fe = open_memstream(&err, &err_len);
	argv = calloc(req->n_argv + 1, sizeof(*argv));
	if (!fo || !fe || !argv) {
		if (fo)
			fclose(fo);
		if (fe)
			fclose(fe);
		free(out);
		free(err);
		free(argv);
		session_refuse(s, VEIL__ERROR__CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	for (i = 0; i < req->n_argv; i++)
		argv[i] = req->argv[i];
	session_log(s, "admin: %s%s%s", req->n_argv ? argv[0] : "(none)",
		    req->n_argv > 1 ? " " : "", req->n_argv > 1 ? argv[1] : "");
	if (req->n_argv >= 1 && !strcmp(argv[0], "session") &&
	    (req->n_argv == 1 || !strcmp(argv[1], "list") || !strcmp(argv[1], "show"))) {
		server_print_sessions(srv, req->json, fo);
		status = 0;
	} else if (req->n_argv == 0) {
		fprintf(fe, "Error: no admin command given.\n");
	} else {
		ctx.store = srv->store;
		ctx.state_dir = srv->cfg.state_dir;
		ctx.json = req->json;
		ctx.remote = true;
		ctx.actor = s->cert.device;
		ctx.input = req->input.len ? (const char *)req->input.data : NULL;
		ctx.input_len = req->input.len;
		status = veil_admin_exec(&ctx, (int)req->n_argv, argv, fo, fe);
	}
	fclose(fo);
	fclose(fe);
	free(argv);
	/* Keep the reply under the message limit, with room for the envelope. */
	limit = srv->cfg.max_message > 1024 ? srv->cfg.max_message - 1024 : 0;
	if (out_len + err_len > limit) {
		static const char cut[] = "\n... output truncated: over the message size limit\n";

		if (out_len > limit / 2 && out_len + err_len > limit)
			strcpy(out + (limit / 2 > sizeof(cut) ? limit / 2 - sizeof(cut) : 0), cut);
		if (err_len > limit / 2)
			strcpy(err + (limit / 2 > sizeof(cut) ? limit / 2 - sizeof(cut) : 0), cut);
	}
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_ADMIN_REPLY;
	m.admin_reply = &rep;
	rep.exit_status = status;
	rep.output = out;
	rep.error_output = err;
	session_send(s, &m);
	free(out);
	free(err);
	if (ctx.changed)
		server_reload(srv);
}

static void dispatch(struct session *s, const Veil__Message *m)
{
	if (s->state == S_ENROLL) {
		if (m->body_case != VEIL__MESSAGE__BODY_ENROLL_REQUEST) {
			session_refuse(s, VEIL__ERROR__CODE__ERROR_UNAUTHENTICATED,
				       "a session without a client certificate may only enroll "
				       "(got %s)", veil_msg_name(m));
			return;
		}
		enroll(s, m->enroll_request);
		return;
	}
	s->last_msg_us = mono_us();
	switch (m->body_case) {
	case VEIL__MESSAGE__BODY_HELLO:
		hello(s, m->hello);
		break;
	case VEIL__MESSAGE__BODY_HEARTBEAT:
		heartbeat(s, m->heartbeat);
		break;
	case VEIL__MESSAGE__BODY_ADMIN_REQUEST:
		admin(s, m->admin_request);
		break;
	case VEIL__MESSAGE__BODY_RESOLVE_REQUEST:
		veil_broker_resolve(s, m->resolve_request);
		break;
	case VEIL__MESSAGE__BODY_CONNECT_REPLY:
		veil_broker_connect_reply(s, m->connect_reply);
		break;
	case VEIL__MESSAGE__BODY_TUNNEL_REPORT:
		veil_broker_tunnel_report(s, m->tunnel_report);
		break;
	case VEIL__MESSAGE__BODY_ERROR:
		session_log(s, "node reports an error: %.200s", m->error->text ? m->error->text : "");
		break;
	default:
		session_refuse(s, VEIL__ERROR__CODE__ERROR_UNEXPECTED,
			       "a node may not send %s", veil_msg_name(m));
		break;
	}
}

static void on_frame(struct session *s, const uint8_t *frame, size_t len)
{
	Veil__Message *m;
	const char *why;
	int r;

	r = veil_msg_unpack(frame, len, &m, &why);
	if (r) {
		session_refuse(s, r == -EPROTONOSUPPORT ? VEIL__ERROR__CODE__ERROR_VERSION
							: VEIL__ERROR__CODE__ERROR_MALFORMED,
			       "%s", why);
		return;
	}
	dispatch(s, m);
	veil_msg_free(m);
}

/* Closing: read and drop what the node still sends until it closes too. */
static void drain(struct session *s)
{
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_EVENT; i++) {
		n = recv(s->fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		session_kill(s, NULL);
		return;
	}
}

static void session_read(struct session *s)
{
	const uint8_t *frame;
	size_t used, flen, off;
	int i, r, e;

	s->read_blocked_on_write = false;
	for (i = 0; i < READS_PER_EVENT || SSL_has_pending(s->ssl); i++) {
		if (s->dead || s->state == S_CLOSING)
			return;
		ERR_clear_error();
		r = SSL_read(s->ssl, rbuf, sizeof(rbuf));
		if (r <= 0) {
			e = SSL_get_error(s->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				return;
			if (e == SSL_ERROR_WANT_WRITE) {
				s->read_blocked_on_write = true;
				s->want_write = true;
				return;
			}
			if (e == SSL_ERROR_ZERO_RETURN ||
			    (e == SSL_ERROR_SYSCALL && !ERR_peek_error()))
				session_kill(s, veil_frame_decoder_pending(&s->dec)
						? "closed by the node in the middle of a message"
						: "closed by the node");
			else
				session_kill(s, ssl_reason());
			return;
		}
		s->bytes_in += (uint64_t)r;
		off = 0;
		while (off < (size_t)r) {
			e = veil_frame_feed(&s->dec, rbuf + off, (size_t)r - off, &used, &frame,
					    &flen);
			off += used;
			if (e == -EMSGSIZE) {
				session_refuse(s, VEIL__ERROR__CODE__ERROR_TOO_LARGE,
					       "message over the limit of %zu bytes",
					       s->srv->cfg.max_message);
				return;
			}
			if (e < 0) {
				session_refuse(s, VEIL__ERROR__CODE__ERROR_MALFORMED,
					       e == -EBADMSG ? "empty frame" : "frame error");
				return;
			}
			if (e == 1) {
				on_frame(s, frame, flen);
				if (s->dead || s->state == S_CLOSING)
					return;
			}
		}
	}
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct session *s = userdata;

	(void)src;
	(void)fd;
	if (s->dead)
		return 0;
	if (s->lingering) {
		drain(s);
		update_events(s);
		return 0;
	}
	if (s->state == S_HANDSHAKE) {
		do_handshake(s);
		update_events(s);
		return 0;
	}
	if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) ||
	    (s->read_blocked_on_write && (revents & EPOLLOUT)))
		session_read(s);
	if (!s->dead && (s->out_head || s->want_write || (revents & EPOLLOUT)))
		session_flush(s);
	update_events(s);
	return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct session *s = userdata;
	uint64_t idle = (uint64_t)s->srv->cfg.idle_s * 1000000, due;

	(void)src;
	if (s->dead)
		return 0;
	switch (s->state) {
	case S_HANDSHAKE:
		session_kill(s, "TLS handshake not finished in time");
		break;
	case S_ENROLL:
		session_kill(s, "no enrollment request in time");
		break;
	case S_CLOSING:
		session_kill(s, NULL);
		break;
	case S_OPEN:
		due = s->last_msg_us + idle;
		if (usec >= due)
			session_refuse(s, VEIL__ERROR__CODE__ERROR_IDLE,
				       "no message for %u seconds", s->srv->cfg.idle_s);
		else
			arm_timer(s, due);
		break;
	}
	return 0;
}

static void format_peer(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, size, "%s:%u", host, ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
		}
	} else {
		snprintf(buf, size, "?");
	}
}

void session_accept(struct server *srv, int fd, const struct sockaddr *sa, socklen_t len)
{
	struct session *s;
	int one = 1;

	(void)len;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	s->srv = srv;
	s->fd = fd;
	s->policy_sent = -1;
	s->since_us = real_us();
	snprintf(s->id, sizeof(s->id), "%08x-%" PRIu64, srv->id_prefix, ++srv->next_id);
	format_peer(sa, s->peer, sizeof(s->peer));
	veil_frame_decoder_init(&s->dec, srv->cfg.max_message);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->ssl = SSL_new(srv->ctx);
	if (!s->ssl || !SSL_set_fd(s->ssl, fd)) {
		fprintf(stderr, "connection from %s dropped: cannot set up TLS: %s\n", s->peer,
			ssl_reason());
		session_free(s);
		return;
	}
	SSL_set_app_data(s->ssl, s);
	SSL_set_accept_state(s->ssl);
	s->deadline_us = mono_us() + (uint64_t)srv->cfg.handshake_s * 1000000;
	if (sd_event_add_io(srv->ev, &s->io, fd, EPOLLIN | EPOLLET, on_io, s) < 0 ||
	    sd_event_add_time(srv->ev, &s->timer, CLOCK_MONOTONIC, s->deadline_us,
			      TIMER_ACCURACY_US, on_timer, s) < 0) {
		fprintf(stderr, "connection from %s dropped: cannot watch it\n", s->peer);
		session_free(s);
		return;
	}
	s->events = EPOLLIN;
	s->next = srv->head;
	if (srv->head)
		srv->head->prev = s;
	srv->head = s;
	srv->n_sessions++;
}
