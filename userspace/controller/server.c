// SPDX-License-Identifier: GPL-2.0
/*
 * The controller's server: one sd-event loop with the TLS listener, every
 * node's session (session.c), the local control socket and the signals.
 *
 * Control socket STATE_DIR/control.sock (AF_UNIX, SOCK_SEQPACKET, 0600): a
 * client connects, sends one request packet and reads reply packets until
 * the controller closes the connection.
 *
 *   "reload"          re-read revocations and policy; reply "ok"
 *   "sessions"        the session table as text
 *   "sessions json"   the same as a JSON array
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <systemd/sd-daemon.h>

#include "broker.h"
#include "session.h"

#define CONTROL_SOCK		"control.sock"
#define CONTROL_REQ_MAX		256
#define CONTROL_CHUNK		32768
#define CONTROL_TIMEOUT_MS	5000
#define ACCEPTS_PER_EVENT	64

static void fill_defaults(struct veil_server_config *c)
{
	if (!c->listen || !*c->listen)
		c->listen = "[::]:4443";
	if (!c->heartbeat_s)
		c->heartbeat_s = 15;
	if (!c->idle_s)
		c->idle_s = 3 * c->heartbeat_s;
	if (!c->handshake_s)
		c->handshake_s = 10;
	if (!c->max_message)
		c->max_message = VEIL_FRAME_MAX;
	if (!c->max_sessions)
		c->max_sessions = 20000;
}

void server_audit(struct server *srv, enum veil_audit_kind kind, const char *device,
		  const char *user, const char *name, bool allowed, const char *reason)
{
	struct veil_audit a = { 0 };

	a.kind = kind;
	snprintf(a.device, sizeof(a.device), "%s", device ? device : "");
	snprintf(a.user, sizeof(a.user), "%s", user ? user : "");
	snprintf(a.name, sizeof(a.name), "%s", name ? name : "");
	snprintf(a.reason, sizeof(a.reason), "%s", reason ? reason : "");
	a.allowed = allowed;
	if (veil_store_audit_add(srv->store, &a))
		fprintf(stderr, "cannot write the audit log: %s\n", veil_store_errmsg(srv->store));
}

/* Policy and revocations. */

static int load_policy(struct server *srv, bool initial)
{
	struct veil_policy_error perr = { 0 };
	struct veil_policy *p;
	char *text = NULL;
	int64_t version = 0;
	int r;

	r = veil_store_policy_get(srv->store, &text, &version);
	if (r == -ENOENT)
		return 0;
	if (r) {
		fprintf(stderr, "cannot read the policy: %s\n", veil_store_errmsg(srv->store));
		return r;
	}
	if (version == srv->policy_version) {
		free(text);
		return 0;
	}
	p = veil_policy_parse(text, strlen(text), &perr);
	free(text);
	if (!p) {
		/* The store only takes valid documents: keep running the last one. */
		fprintf(stderr, "policy version %" PRId64 " does not load (line %d, column %d: %s); "
			"keeping version %" PRId64 "\n", version, perr.line, perr.column, perr.msg,
			srv->policy_version);
		return -EINVAL;
	}
	veil_policy_free(srv->policy);
	srv->policy = p;
	srv->policy_version = version;
	fprintf(stderr, "%s policy version %" PRId64 "\n", initial ? "running" : "loaded", version);
	return 1;
}

void server_reload(struct server *srv)
{
	struct session *s, *n;
	bool changed;

	/* Revocations first: a revoked device gets no new policy. */
	for (s = srv->head; s; s = n) {
		n = s->next;
		session_recheck(s);
	}
	/* Every newly revoked device, connected or not: DropDevice to all. */
	veil_broker_revocations(srv);
	changed = load_policy(srv, false) == 1;
	if (!changed)
		return;
	for (s = srv->head; s; s = n) {
		n = s->next;
		session_send_policy(s);
	}
}

/* Session table. */

static void fmt_time(uint64_t us, char *buf, size_t size)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (!us) {
		snprintf(buf, size, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *state_name(const struct session *s)
{
	switch (s->state) {
	case S_HANDSHAKE:
		return "handshake";
	case S_ENROLL:
		return "enrolling";
	case S_OPEN:
		return s->hello ? "open" : "authenticated";
	case S_CLOSING:
		return "closing";
	}
	return "?";
}

void server_print_sessions(struct server *srv, bool json, FILE *out)
{
	char since[32], hb[32];
	struct session *s;

	if (json) {
		json_object *arr = json_object_new_array(), *o;

		for (s = srv->head; s; s = s->next) {
			o = json_object_new_object();
			json_object_object_add(o, "id", json_object_new_string(s->id));
			json_object_object_add(o, "state", json_object_new_string(state_name(s)));
			json_object_object_add(o, "device", json_object_new_string(s->cert.device));
			json_object_object_add(o, "owner", json_object_new_string(s->cert.owner));
			json_object_object_add(o, "role", json_object_new_string(
				s->state == S_OPEN ? veil_role_name(s->cert.role) : ""));
			json_object_object_add(o, "peer", json_object_new_string(s->peer));
			json_object_object_add(o, "since",
					       json_object_new_int64((int64_t)(s->since_us / 1000000)));
			json_object_object_add(o, "last_heartbeat", s->last_hb_us ?
				json_object_new_int64((int64_t)(s->last_hb_us / 1000000)) : NULL);
			json_object_object_add(o, "bytes_in",
					       json_object_new_int64((int64_t)s->bytes_in));
			json_object_object_add(o, "bytes_out",
					       json_object_new_int64((int64_t)s->bytes_out));
			json_object_array_add(arr, o);
		}
		fprintf(out, "%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
		return;
	}
	fprintf(out, "%-20s %-12s %-7s %-13s %-24s %-20s %-20s %10s %10s\n", "DEVICE", "OWNER",
		"ROLE", "STATE", "PEER", "SINCE", "LAST-HEARTBEAT", "BYTES-IN", "BYTES-OUT");
	for (s = srv->head; s; s = s->next) {
		fmt_time(s->since_us, since, sizeof(since));
		fmt_time(s->last_hb_us, hb, sizeof(hb));
		fprintf(out, "%-20s %-12s %-7s %-13s %-24s %-20s %-20s %10" PRIu64 " %10" PRIu64 "\n",
			s->cert.device[0] ? s->cert.device : "-",
			s->cert.owner[0] ? s->cert.owner : "-",
			s->state == S_OPEN ? veil_role_name(s->cert.role) : "-", state_name(s),
			s->peer, since, hb, s->bytes_in, s->bytes_out);
	}
}

/* Listener. */

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata);

static int on_accept_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct server *srv = userdata;

	(void)src;
	(void)usec;
	sd_event_source_set_enabled(srv->listen_src, SD_EVENT_ON);
	return 0;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct server *srv = userdata;
	struct sockaddr_storage ss;
	socklen_t len;
	int i, c;
	uint64_t now;

	(void)src;
	(void)revents;
	for (i = 0; i < ACCEPTS_PER_EVENT; i++) {
		len = sizeof(ss);
		c = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return 0;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors: stop accepting for a moment. */
				fprintf(stderr, "cannot accept a connection: %s (%u sessions); "
					"pausing for 100 ms\n", strerror(errno), srv->n_sessions);
				sd_event_source_set_enabled(srv->listen_src, SD_EVENT_OFF);
				sd_event_now(srv->ev, CLOCK_MONOTONIC, &now);
				sd_event_source_set_time(srv->listen_retry, now + 100000);
				sd_event_source_set_enabled(srv->listen_retry, SD_EVENT_ONESHOT);
				return 0;
			}
			fprintf(stderr, "cannot accept a connection: %s\n", strerror(errno));
			return 0;
		}
		if (srv->n_sessions >= srv->cfg.max_sessions) {
			static time_t last;
			time_t t = time(NULL);

			if (t != last)
				fprintf(stderr, "connection refused: %u sessions, the limit\n",
					srv->n_sessions);
			last = t;
			close(c);
			continue;
		}
		session_accept(srv, c, (struct sockaddr *)&ss, len);
	}
	return 0;
}

static int open_listener(struct server *srv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	const char *addr = srv->cfg.listen, *colon, *h;
	char host[256], port[16];
	size_t hl;
	int fd, r, one = 1, zero = 0;

	if (addr[0] == '[') {
		colon = strchr(addr, ']');
		if (!colon || colon[1] != ':')
			goto bad;
		h = addr + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			goto bad;
		h = addr;
		hl = (size_t)(colon - addr);
	}
	if (hl >= sizeof(host) || strlen(colon + 1) >= sizeof(port) || !colon[1])
		goto bad;
	memcpy(host, h, hl);
	host[hl] = 0;
	strcpy(port, colon + 1);
	r = getaddrinfo(hl && strcmp(host, "*") ? host : NULL, port, &hints, &res);
	if (r) {
		fprintf(stderr, "Error: cannot use the listen address %s: %s.\n", addr,
			gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "Error: cannot open a socket for %s: %s.\n", addr, strerror(errno));
		freeaddrinfo(res);
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)	/* "[::]" serves IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
		r = -errno;
		fprintf(stderr, "Error: cannot listen on %s: %s.\n%s", addr, strerror(errno),
			r == -EADDRINUSE ? "Another program uses this port: stop it or choose "
					   "another address with --listen.\n" : "");
		close(fd);
		freeaddrinfo(res);
		return r;
	}
	freeaddrinfo(res);
	srv->listen_fd = fd;
	r = sd_event_add_io(srv->ev, &srv->listen_src, fd, EPOLLIN, on_accept, srv);
	if (r >= 0)
		r = sd_event_add_time(srv->ev, &srv->listen_retry, CLOCK_MONOTONIC, 0, 0,
				      on_accept_retry, srv);
	if (r >= 0)
		r = sd_event_source_set_enabled(srv->listen_retry, SD_EVENT_OFF);
	if (r < 0) {
		fprintf(stderr, "Error: cannot watch the listening socket: %s.\n", strerror(-r));
		return r;
	}
	return 0;
bad:
	fprintf(stderr, "Error: \"%s\" is not a listen address (host:port, [v6]:port).\n", addr);
	return -EINVAL;
}

/* Control socket. */

static int control_path(const char *state_dir, struct sockaddr_un *sun, FILE *err)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", state_dir,
			     CONTROL_SOCK) >= sizeof(sun->sun_path)) {
		if (err)
			fprintf(err, "Error: the state directory path %s is too long for its "
				"control socket.\n", state_dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Send @len bytes of @buf as packets of at most CONTROL_CHUNK. */
static void send_chunks(int fd, const char *buf, size_t len)
{
	size_t n;

	while (len) {
		n = len > CONTROL_CHUNK ? CONTROL_CHUNK : len;
		if (send(fd, buf, n, MSG_NOSIGNAL) < 0)
			return;
		buf += n;
		len -= n;
	}
}

struct control_conn {
	struct server *srv;
	sd_event_source *src;
	int fd;
};

static int on_control_conn(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct control_conn *cc = userdata;
	struct server *srv = cc->srv;
	char req[CONTROL_REQ_MAX + 1], *out = NULL;
	size_t out_len = 0;
	struct timeval tv = { .tv_sec = 1 };
	ssize_t n;
	FILE *f;

	(void)src;
	(void)revents;
	n = recv(fd, req, CONTROL_REQ_MAX, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n > 0) {
		req[n] = 0;
		req[strcspn(req, "\r\n")] = 0;
		/* The reply is short and local: send it with a bound, blocking. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		if (!strcmp(req, "reload")) {
			server_reload(srv);
			send_chunks(fd, "ok\n", 3);
		} else if (!strcmp(req, "sessions") || !strcmp(req, "sessions json")) {
			f = open_memstream(&out, &out_len);
			if (f) {
				server_print_sessions(srv, !strcmp(req, "sessions json"), f);
				fclose(f);
				send_chunks(fd, out, out_len);
				free(out);
			}
		} else {
			send_chunks(fd, "error: unknown request\n", 23);
		}
	}
	sd_event_source_disable_unref(cc->src);
	close(cc->fd);
	free(cc);
	return 0;
}

static int on_control(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct server *srv = userdata;
	struct control_conn *cc;
	int c;

	(void)src;
	(void)revents;
	c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return 0;
	cc = calloc(1, sizeof(*cc));
	if (!cc || sd_event_add_io(srv->ev, &cc->src, c, EPOLLIN, on_control_conn, cc) < 0) {
		free(cc);
		close(c);
		return 0;
	}
	cc->srv = srv;
	cc->fd = c;
	return 0;
}

static int control_connect(const char *state_dir, FILE *err)
{
	struct sockaddr_un sun;
	int fd, r;

	r = control_path(state_dir, &sun, err);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int open_control(struct server *srv)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, r;

	r = control_path(srv->cfg.state_dir, &sun, stderr);
	if (r)
		return r;
	fd = control_connect(srv->cfg.state_dir, NULL);
	if (fd >= 0) {
		close(fd);
		fprintf(stderr, "Error: a controller already runs on %s (its socket %s answers).\n",
			srv->cfg.state_dir, sun.sun_path);
		return -EADDRINUSE;
	}
	unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0077);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(sun.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		fprintf(stderr, "Error: cannot create the control socket %s: %s.\n", sun.sun_path,
			strerror(errno));
		close(fd);
		return r;
	}
	srv->control_fd = fd;
	snprintf(srv->control_path, sizeof(srv->control_path), "%s", sun.sun_path);
	r = sd_event_add_io(srv->ev, &srv->control_src, fd, EPOLLIN, on_control, srv);
	if (r < 0)
		fprintf(stderr, "Error: cannot watch the control socket: %s.\n", strerror(-r));
	return r < 0 ? r : 0;
}

/* Exchange one request with a running controller; the reply goes to @out. */
static int control_request(const char *state_dir, const char *req, FILE *out, FILE *err)
{
	char buf[CONTROL_CHUNK];
	struct pollfd pfd;
	ssize_t n;
	int fd, r;

	fd = control_connect(state_dir, err);
	if (fd < 0)
		return fd;
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, CONTROL_TIMEOUT_MS);
		if (r <= 0) {
			if (err)
				fprintf(err, "Error: the controller did not answer on its control "
					"socket in time.\n");
			close(fd);
			return -ETIMEDOUT;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		if (out)
			fwrite(buf, 1, (size_t)n, out);
	}
	close(fd);
	return 0;
}

int veil_server_notify(const char *state_dir)
{
	return control_request(state_dir, "reload", NULL, NULL);
}

int veil_server_query_sessions(const char *state_dir, bool json, FILE *out, FILE *err)
{
	int r = control_request(state_dir, json ? "sessions json" : "sessions", out, err);

	if (r == -ENOENT || r == -ECONNREFUSED)
		fprintf(err, "Error: no controller runs on %s (nothing answers on %s/%s).\n",
			state_dir, state_dir, CONTROL_SOCK);
	else if (r < 0 && r != -ETIMEDOUT)
		fprintf(err, "Error: cannot ask the controller for its sessions: %s.\n",
			strerror(-r));
	return r;
}

/* Start-up. */

static char *x509_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (b && PEM_write_bio_X509(b, x)) {
		len = BIO_get_mem_data(b, &data);
		pem = strndup(data, (size_t)len);
	}
	BIO_free(b);
	return pem;
}

static int setup_tls(struct server *srv)
{
	char path[4096];
	STACK_OF(X509) *chain = NULL;
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		goto ssl_fail;
	srv->ctx = ctx;
	snprintf(path, sizeof(path), "%s/server.crt", srv->cfg.state_dir);
	if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1) {
		fprintf(stderr, "Error: cannot load the server certificate %s: %s.\n"
			"Run \"veil-controller init\" first.\n", path,
			ERR_reason_error_string(ERR_get_error()));
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/server.key", srv->cfg.state_dir);
	if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		fprintf(stderr, "Error: cannot load the server key %s: %s.\n", path,
			ERR_reason_error_string(ERR_get_error()));
		return -EACCES;
	}
	/* Send the CA with the server certificate: enrollment pins it. */
	SSL_CTX_get0_chain_certs(ctx, &chain);
	if ((!chain || sk_X509_num(chain) == 0) && SSL_CTX_add1_chain_cert(ctx, srv->ca.cert) != 1)
		goto ssl_fail;
	if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), srv->ca.cert) != 1 ||
	    SSL_CTX_add_client_CA(ctx, srv->ca.cert) != 1)
		goto ssl_fail;
	/*
	 * Ask for a client certificate, do not require one (enrollment comes
	 * without). The callback lets the handshake finish so that a refusal
	 * can say why; session.c refuses every failed verification.
	 */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, session_verify_cb);
	SSL_CTX_set_verify_depth(ctx, 2);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			      SSL_MODE_RELEASE_BUFFERS);
	return 0;
ssl_fail:
	fprintf(stderr, "Error: cannot set up TLS: %s.\n", ERR_reason_error_string(ERR_get_error()));
	return -EINVAL;
}

static int on_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "signal %u: stopping\n", si->ssi_signo);
	return sd_event_exit(sd_event_source_get_event(src), 0);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			fprintf(stderr, "cannot raise the open file limit: %s\n", strerror(errno));
	}
}

static void server_free(struct server *srv)
{
	struct session *s;

	veil_broker_stop(srv);
	while ((s = srv->head)) {
		srv->head = s->next;
		session_free(s);
	}
	while ((s = srv->dead)) {
		srv->dead = s->next;
		session_free(s);
	}
	sd_event_source_disable_unref(srv->listen_src);
	sd_event_source_disable_unref(srv->listen_retry);
	sd_event_source_disable_unref(srv->control_src);
	sd_event_source_disable_unref(srv->reap_src);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->control_fd >= 0) {
		close(srv->control_fd);
		unlink(srv->control_path);
	}
	SSL_CTX_free(srv->ctx);
	veil_policy_free(srv->policy);
	if (srv->store)
		veil_store_close(srv->store);
	veil_ca_free(&srv->ca);
	free(srv->ca_pem);
	sd_event_unref(srv->ev);
}

int veil_server_run(const struct veil_server_config *cfg)
{
	struct server srv;
	char err[VEIL_ERR_MAX] = "", path[4096];
	sigset_t mask;
	int r, status = 1;

	memset(&srv, 0, sizeof(srv));
	srv.listen_fd = -1;
	srv.control_fd = -1;
	srv.cfg = *cfg;
	fill_defaults(&srv.cfg);
	if (!srv.cfg.state_dir) {
		fprintf(stderr, "Error: no state directory given.\n");
		return 1;
	}
	/* A node that does not read is cut once this much waits for it. */
	srv.out_limit = 4 * srv.cfg.max_message + 64 * 1024;
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	RAND_bytes((unsigned char *)&srv.id_prefix, sizeof(srv.id_prefix));

	if (veil_ca_load(srv.cfg.state_dir, &srv.ca, err)) {
		fprintf(stderr, "Error: %s\n", err);
		return 1;
	}
	srv.ca_pem = x509_pem(srv.ca.cert);
	snprintf(path, sizeof(path), "%s/controller.db", srv.cfg.state_dir);
	r = veil_store_open(path, &srv.store);
	if (r) {
		fprintf(stderr, "Error: %s\n", veil_store_errmsg(NULL));
		srv.store = NULL;
		goto out;
	}
	if (!srv.ca_pem || setup_tls(&srv))
		goto out;
	load_policy(&srv, true);
	if (veil_broker_start(&srv))
		goto out;

	r = sd_event_default(&srv.ev);
	if (r < 0) {
		fprintf(stderr, "Error: cannot create the event loop: %s.\n", strerror(-r));
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (sd_event_add_signal(srv.ev, NULL, SIGTERM, on_signal, NULL) < 0 ||
	    sd_event_add_signal(srv.ev, NULL, SIGINT, on_signal, NULL) < 0 ||
	    sd_event_add_defer(srv.ev, &srv.reap_src, session_reap, &srv) < 0 ||
	    sd_event_source_set_enabled(srv.reap_src, SD_EVENT_OFF) < 0) {
		fprintf(stderr, "Error: cannot set up the event loop.\n");
		goto out;
	}
	if (open_listener(&srv) || open_control(&srv))
		goto out;
	fprintf(stderr, "serving on %s (CA %s), control socket %s\n", srv.cfg.listen,
		srv.ca.fingerprint, srv.control_path);
	/* Under systemd (Type=notify): ready once devices can connect. */
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s", srv.cfg.listen);
	r = sd_event_loop(srv.ev);
	sd_notify(0, "STOPPING=1");
	status = r < 0 ? 1 : 0;
	if (r < 0)
		fprintf(stderr, "Error: event loop failed: %s.\n", strerror(-r));
out:
	server_free(&srv);
	return status;
}
