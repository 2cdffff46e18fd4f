// SPDX-License-Identifier: GPL-2.0
/*
 * Client side of the control protocol: TLS 1.3 sessions to the controller
 * (with the device identity, or pinned to a CA fingerprint for enrollment),
 * enrollment, and remote admin commands.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "token.h"

#define CONNECT_TIMEOUT_MS	10000
#define REPLY_TIMEOUT_MS	30000

struct veil_session {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	struct veil_frame_decoder dec;
	uint8_t rbuf[16384];
	size_t rlen, roff;	/* read but not yet fed to the decoder */
	char addr[VEIL_TOKEN_ADDR_MAX];
	char host[VEIL_TOKEN_ADDR_MAX];
};

const char *veil_device_dir(void)
{
	const char *d = getenv("VEIL_STATE_DIR");

	return d && *d ? d : VEIL_DEVICE_DIR;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* The first OpenSSL error, in words, or @fallback. */
static const char *ssl_reason(const char *fallback)
{
	static char buf[256];
	unsigned long e = ERR_peek_last_error();

	if (!e)
		return fallback;
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	/* "error:0A000086:SSL routines::certificate verify failed" -> the tail */
	return strrchr(buf, ':') ? strrchr(buf, ':') + 1 : buf;
}

/* Split "host:port" or "[v6]:port". */
static int split_addr(const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon;
	size_t hl;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - addr - 1);
		colon = end + 1;
		addr++;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - addr);
	}
	if (!hl || hl >= hsize || !colon[1] || strlen(colon + 1) >= psize)
		return -EINVAL;
	memcpy(host, addr, hl);
	host[hl] = 0;
	strcpy(port, colon + 1);
	return 0;
}

static int tcp_connect(const char *addr, char *host, size_t hsize, int64_t deadline, FILE *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char port[16];
	int fd = -1, r, e = ECONNREFUSED, one = 1;

	if (split_addr(addr, host, hsize, port, sizeof(port))) {
		fprintf(err, "Error: \"%s\" is not a controller address (host:port or [v6]:port).\n",
			addr);
		return -EINVAL;
	}
	r = getaddrinfo(host, port, &hints, &res);
	if (r) {
		fprintf(err, "Error: cannot resolve the controller address %s: %s.\n", addr,
			gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(e);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			r = poll(&pfd, 1, remaining(deadline));
			if (r == 1 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) && !e)
				break;
			if (r == 0)
				e = ETIMEDOUT;
		} else {
			e = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(err, "Error: cannot connect to the controller at %s: %s.\n"
			"Check the address and that veil-controller runs there.\n", addr, strerror(e));
		return -e;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Wait for what SSL asked after a call returned @r; -errno when it failed. */
static int ssl_wait(struct veil_session *s, int r, int64_t deadline)
{
	struct pollfd pfd = { .fd = s->fd };
	int e = SSL_get_error(s->ssl, r);

	if (e == SSL_ERROR_WANT_READ)
		pfd.events = POLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		pfd.events = POLLOUT;
	else if (e == SSL_ERROR_ZERO_RETURN)
		return -ECONNRESET;
	else if (e == SSL_ERROR_SYSCALL && !ERR_peek_error())
		return errno && errno != EAGAIN ? -errno : -ECONNRESET;
	else
		return -EPROTO;
	r = poll(&pfd, 1, remaining(deadline));
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static struct veil_session *session_new(void)
{
	struct veil_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = -1;
	veil_frame_decoder_init(&s->dec, VEIL_FRAME_MAX);
	return s;
}

void veil_session_close(struct veil_session *s)
{
	if (!s)
		return;
	if (s->ssl) {
		SSL_shutdown(s->ssl);	/* best effort, non-blocking */
		SSL_free(s->ssl);
	}
	SSL_CTX_free(s->ctx);
	if (s->fd >= 0)
		close(s->fd);
	veil_frame_decoder_free(&s->dec);
	free(s);
}

int veil_session_fd(const struct veil_session *s)
{
	return s->fd;
}

void veil_session_set_max(struct veil_session *s, size_t max)
{
	veil_frame_decoder_free(&s->dec);
	veil_frame_decoder_init(&s->dec, max);
}

static SSL_CTX *ctx_new(FILE *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) {
		fprintf(err, "Error: cannot set up TLS: %s.\n", ssl_reason("out of memory"));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

static bool is_ip(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

/* TCP connect, then the TLS handshake; the caller set up s->ctx. */
static int session_connect(struct veil_session *s, const char *addr, bool check_host,
			   int64_t deadline, FILE *err)
{
	int r;

	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->fd = tcp_connect(addr, s->host, sizeof(s->host), deadline, err);
	if (s->fd < 0)
		return s->fd;
	s->ssl = SSL_new(s->ctx);
	if (!s->ssl || !SSL_set_fd(s->ssl, s->fd)) {
		fprintf(err, "Error: cannot set up TLS: %s.\n", ssl_reason("out of memory"));
		return -ENOMEM;
	}
	if (!is_ip(s->host))
		SSL_set_tlsext_host_name(s->ssl, s->host);
	if (check_host) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);

		if (is_ip(s->host))
			X509_VERIFY_PARAM_set1_ip_asc(vp, s->host);
		else
			X509_VERIFY_PARAM_set1_host(vp, s->host, 0);
	}
	for (;;) {
		ERR_clear_error();
		r = SSL_connect(s->ssl);
		if (r == 1)
			return 0;
		r = ssl_wait(s, r, deadline);
		if (r == -ETIMEDOUT) {
			fprintf(err, "Error: the controller at %s did not complete the TLS "
				"handshake in time.\n", addr);
			return r;
		}
		if (r < 0) {
			long v = SSL_get_verify_result(s->ssl);

			if (v != X509_V_OK)
				fprintf(err, "Error: the controller at %s is not trusted: %s.\n"
					"Its certificate must be issued by the CA in ca.pem for "
					"the name %s.\n", addr, X509_verify_cert_error_string(v),
					s->host);
			else
				fprintf(err, "Error: TLS handshake with the controller at %s "
					"failed: %s.\n", addr, ssl_reason(strerror(-r)));
			return r;
		}
	}
}

static int dir_path(char *buf, size_t size, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Read DIR/controller: one line. */
static int read_controller(const char *dir, char *addr, size_t size, FILE *err)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	if (dir_path(path, sizeof(path), dir, "controller"))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f || !fgets(addr, (int)size, f)) {
		fprintf(err, "Error: cannot read the controller address from %s: %s.\n"
			"Enroll this device first (veil enroll TOKEN).\n", path,
			f ? "empty file" : strerror(errno));
		if (f)
			fclose(f);
		return -ENOENT;
	}
	fclose(f);
	n = strcspn(addr, "\r\n");
	addr[n] = 0;
	return 0;
}

int veil_session_open(const char *addr, const char *dir, int timeout_ms,
		      struct veil_session **out, FILE *err)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : CONNECT_TIMEOUT_MS);
	char path[PATH_MAX], stored[VEIL_TOKEN_ADDR_MAX];
	struct veil_session *s;
	int r;

	*out = NULL;
	if (!dir)
		dir = veil_device_dir();
	if (!addr) {
		r = read_controller(dir, stored, sizeof(stored), err);
		if (r)
			return r;
		addr = stored;
	}
	s = session_new();
	if (!s || !(s->ctx = ctx_new(err))) {
		veil_session_close(s);
		return -ENOMEM;
	}
	dir_path(path, sizeof(path), dir, "cert.pem");
	if (SSL_CTX_use_certificate_chain_file(s->ctx, path) != 1) {
		fprintf(err, "Error: cannot load the device certificate %s: %s.\n"
			"Enroll this device first (veil enroll TOKEN).\n", path,
			ssl_reason("unreadable"));
		r = -ENOENT;
		goto fail;
	}
	dir_path(path, sizeof(path), dir, "key.pem");
	if (SSL_CTX_use_PrivateKey_file(s->ctx, path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s->ctx) != 1) {
		fprintf(err, "Error: cannot load the device key %s: %s.\n"
			"It must be readable by this user and match cert.pem.\n", path,
			ssl_reason("unreadable"));
		r = -EACCES;
		goto fail;
	}
	dir_path(path, sizeof(path), dir, "ca.pem");
	if (SSL_CTX_load_verify_locations(s->ctx, path, NULL) != 1) {
		fprintf(err, "Error: cannot load the organization CA %s: %s.\n", path,
			ssl_reason("unreadable"));
		r = -ENOENT;
		goto fail;
	}
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	r = session_connect(s, addr, true, deadline, err);
	if (r)
		goto fail;
	*out = s;
	return 0;
fail:
	veil_session_close(s);
	return r;
}

static char *cert_pem(X509 *x)
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

static void fingerprint(X509 *x, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	out[0] = 0;
	if (!X509_digest(x, EVP_sha256(), md, &len))
		return;
	for (i = 0; i < len && i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/*
 * The server's chain must hold the CA the token pins, and the server's own
 * certificate must verify against that CA alone and name the host.
 */
static int check_pinned(struct veil_session *s, const char *ca_fpr, char **ca_pem, FILE *err)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(s->ssl);
	X509 *leaf = SSL_get0_peer_certificate(s->ssl), *ca = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *vctx = NULL;
	char fpr[65], seen[65] = "";
	int i, ok = 0;

	for (i = 0; chain && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		fingerprint(x, fpr);
		if (!strcmp(fpr, ca_fpr)) {
			ca = x;
			break;
		}
		if (i > 0 && !seen[0])
			memcpy(seen, fpr, sizeof(fpr));
	}
	if (!leaf || !ca) {
		fprintf(err, "Error: the controller at %s is not the one this token was made for: "
			"its CA fingerprint is %s, the token expects %s.\n", s->addr,
			seen[0] ? seen : "not sent", ca_fpr);
		return -EPERM;
	}
	store = X509_STORE_new();
	vctx = X509_STORE_CTX_new();
	if (store && vctx && X509_STORE_add_cert(store, ca) &&
	    X509_STORE_CTX_init(vctx, store, leaf, chain)) {
		X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_SSL_SERVER);
		ok = X509_verify_cert(vctx) == 1;
		if (!ok)
			fprintf(err, "Error: the controller at %s is not the one this token was "
				"made for: its certificate does not verify against the pinned CA "
				"(%s).\n", s->addr,
				X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
	} else {
		fprintf(err, "Error: cannot verify the controller's certificate: out of memory.\n");
	}
	if (ok && (is_ip(s->host) ? X509_check_ip_asc(leaf, s->host, 0)
				  : X509_check_host(leaf, s->host, 0, 0, NULL)) != 1) {
		fprintf(err, "Error: the controller's certificate does not name %s: the token's "
			"address must be one the controller was set up with.\n", s->host);
		ok = 0;
	}
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	if (!ok)
		return -EPERM;
	*ca_pem = cert_pem(ca);
	return *ca_pem ? 0 : -ENOMEM;
}

int veil_session_open_pinned(const char *addr, const char *ca_fpr, int timeout_ms,
			     struct veil_session **out, char **ca_pem, FILE *err)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : CONNECT_TIMEOUT_MS);
	struct veil_session *s;
	int r;

	*out = NULL;
	*ca_pem = NULL;
	s = session_new();
	if (!s || !(s->ctx = ctx_new(err))) {
		veil_session_close(s);
		return -ENOMEM;
	}
	/* Verified by hand once the chain is in: against the pinned CA only. */
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_NONE, NULL);
	r = session_connect(s, addr, false, deadline, err);
	if (!r)
		r = check_pinned(s, ca_fpr, ca_pem, err);
	if (r) {
		veil_session_close(s);
		return r;
	}
	*out = s;
	return 0;
}

int veil_session_send_raw(struct veil_session *s, const void *buf, size_t len, int timeout_ms,
			  FILE *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	const uint8_t *p = buf;
	int r;

	while (len) {
		ERR_clear_error();
		r = SSL_write(s->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
		if (r > 0) {
			p += r;
			len -= (size_t)r;
			continue;
		}
		r = ssl_wait(s, r, deadline);
		if (r < 0) {
			if (r == -ECONNRESET || r == -EPIPE)
				fprintf(err, "Error: the controller at %s closed the session.\n",
					s->addr);
			else if (r != -ETIMEDOUT)
				fprintf(err, "Error: cannot send to the controller at %s: %s.\n",
					s->addr, ssl_reason(strerror(-r)));
			return r;
		}
	}
	return 0;
}

int veil_session_send(struct veil_session *s, const Veil__Message *m, int timeout_ms, FILE *err)
{
	uint8_t *buf;
	size_t len;
	int r;

	r = veil_msg_pack(m, s->dec.max, &buf, &len);
	if (r) {
		fprintf(err, "Error: cannot encode a %s message: %s.\n", veil_msg_name(m),
			r == -EMSGSIZE ? "too large" : strerror(-r));
		return r;
	}
	r = veil_session_send_raw(s, buf, len, timeout_ms, err);
	free(buf);
	return r;
}

int veil_session_recv(struct veil_session *s, int timeout_ms, Veil__Message **m, FILE *err)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	const uint8_t *frame;
	const char *why;
	size_t used, flen;
	int r;

	*m = NULL;
	for (;;) {
		while (s->roff < s->rlen) {
			r = veil_frame_feed(&s->dec, s->rbuf + s->roff, s->rlen - s->roff, &used,
					    &frame, &flen);
			s->roff += used;
			if (r < 0) {
				fprintf(err, "Error: the controller at %s sent a %s frame.\n",
					s->addr, r == -EMSGSIZE ? "too large" : "malformed");
				return -EPROTO;
			}
			if (r == 1) {
				r = veil_msg_unpack(frame, flen, m, &why);
				if (r)
					fprintf(err, "Error: the controller at %s sent a bad "
						"message: %s.\n", s->addr, why);
				return r ? -EPROTO : 0;
			}
		}
		ERR_clear_error();
		r = SSL_read(s->ssl, s->rbuf, sizeof(s->rbuf));
		if (r > 0) {
			s->rlen = (size_t)r;
			s->roff = 0;
			continue;
		}
		r = ssl_wait(s, r, deadline);
		if (r == -ECONNRESET)
			return r;
		if (r < 0) {
			if (r != -ETIMEDOUT)
				fprintf(err, "Error: session with the controller at %s failed: %s.\n",
					s->addr, ssl_reason(strerror(-r)));
			return r;
		}
	}
}

static void print_error(const Veil__Error *e, const char *addr, FILE *err)
{
	fprintf(err, "Error: the controller at %s refused: %s.\n", addr,
		e && e->text && *e->text ? e->text : "no reason given");
}

int veil_session_request(struct veil_session *s, const Veil__Message *m, int want,
			 int timeout_ms, Veil__Message **reply, FILE *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	Veil__Message *r;
	int ret;

	*reply = NULL;
	ret = veil_session_send(s, m, timeout_ms, err);
	if (ret)
		return ret;
	for (;;) {
		ret = veil_session_recv(s, remaining(deadline), &r, err);
		if (ret == -ETIMEDOUT)
			fprintf(err, "Error: no answer from the controller at %s in time.\n", s->addr);
		if (ret == -ECONNRESET)
			fprintf(err, "Error: the controller at %s closed the session.\n", s->addr);
		if (ret)
			return ret;
		if ((int)r->body_case == want) {
			*reply = r;
			return 0;
		}
		if (r->body_case == VEIL__MESSAGE__BODY_ERROR) {
			print_error(r->error, s->addr, err);
			veil_msg_free(r);
			return -EPERM;
		}
		veil_msg_free(r);	/* policy updates, acks: not what we wait for */
	}
}

void veil_hello_init(Veil__Hello *h)
{
	static struct utsname u;

	veil__hello__init(h);
	uname(&u);
	h->os = "linux";
	h->kernel = u.release;
	h->veil_version = VEIL_VERSION;
}

/* Enrollment. */

static EVP_PKEY *make_key(void)
{
	return EVP_EC_gen("P-256");
}

static char *make_csr(EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = NULL;
	BIO *b = NULL;
	char *data, *pem = NULL;
	long len;

	if (!req || !X509_REQ_set_version(req, 0))
		goto out;
	name = X509_REQ_get_subject_name(req);
	/* The controller names the device from the token, not from here. */
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"veil enrollment", -1, -1, 0) ||
	    !X509_REQ_set_pubkey(req, key) || !X509_REQ_sign(req, key, EVP_sha256()))
		goto out;
	b = BIO_new(BIO_s_mem());
	if (b && PEM_write_bio_X509_REQ(b, req)) {
		len = BIO_get_mem_data(b, &data);
		pem = strndup(data, (size_t)len);
	}
out:
	BIO_free(b);
	X509_REQ_free(req);
	return pem;
}

/* Write DIR/NAME.tmp (created, never reused) with @mode; rename later. */
static int write_tmp(const char *dir, const char *name, const void *data, size_t len,
		     mode_t mode, FILE *err)
{
	char path[PATH_MAX];
	const char *p = data;
	ssize_t w;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.tmp", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		fprintf(err, "Error: cannot create %s: %s.\n", path, strerror(errno));
		return -errno;
	}
	while (len) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(err, "Error: cannot write %s: %s.\n", path, strerror(errno));
			close(fd);
			unlink(path);
			return -EIO;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fprintf(err, "Error: cannot write %s: %s.\n", path, strerror(errno));
		unlink(path);
		return -EIO;
	}
	return 0;
}

static int commit_tmp(const char *dir, const char *name, FILE *err)
{
	char from[PATH_MAX], to[PATH_MAX];

	snprintf(from, sizeof(from), "%s/%s.tmp", dir, name);
	snprintf(to, sizeof(to), "%s/%s", dir, name);
	if (rename(from, to) < 0) {
		fprintf(err, "Error: cannot rename %s to %s: %s.\n", from, to, strerror(errno));
		return -errno;
	}
	return 0;
}

static void drop_tmp(const char *dir)
{
	static const char *const names[] = { "key.pem", "cert.pem", "ca.pem", "controller" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.tmp", dir, names[i]);
		unlink(path);
	}
}

static char *key_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		len = BIO_get_mem_data(b, &data);
		pem = malloc((size_t)len + 1);
		if (pem) {
			memcpy(pem, data, (size_t)len);
			pem[len] = 0;
		}
		OPENSSL_cleanse(data, (size_t)len);
	}
	BIO_free(b);
	return pem;
}

static int prepare_dir(const char *dir, bool force, FILE *err)
{
	char path[PATH_MAX];
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(err, "Error: cannot create the device directory %s: %s.\n", dir,
			strerror(errno));
		return -errno;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(err, "Error: %s is not a directory.\n", dir);
		return -ENOTDIR;
	}
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	if (!force && access(path, F_OK) == 0) {
		fprintf(err, "Error: %s already holds an enrolled identity (%s).\n"
			"Use --force to replace it with a new one.\n", dir, path);
		return -EEXIST;
	}
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if (!force && access(path, F_OK) == 0) {
		fprintf(err, "Error: %s already holds a device key (%s).\n"
			"Use --force to replace it with a new one.\n", dir, path);
		return -EEXIST;
	}
	if (access(dir, W_OK) < 0) {
		fprintf(err, "Error: cannot write to %s: %s.\n", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static const char *token_error_text(int code)
{
	switch (code) {
	case VEIL__ERROR__CODE__ERROR_TOKEN_UNKNOWN:
		return "the token is unknown to this controller (mistyped, or cancelled)";
	case VEIL__ERROR__CODE__ERROR_TOKEN_USED:
		return "the token was already used: ask for a new one";
	case VEIL__ERROR__CODE__ERROR_TOKEN_EXPIRED:
		return "the token has expired: ask for a new one";
	default:
		return NULL;
	}
}

/* Check the reply and write the identity; @ca_pin_pem came from the TLS chain. */
static int store_identity(const char *dir, const char *addr, EVP_PKEY *key,
			  const Veil__EnrollReply *rep, const char *ca_pin_pem, FILE *out, FILE *err)
{
	BIO *b = NULL;
	X509 *cert = NULL;
	char *kp = NULL, line[VEIL_TOKEN_ADDR_MAX + 1];
	int r = -EPROTO;

	if (!rep->cert_pem || !*rep->cert_pem) {
		fprintf(err, "Error: the controller sent no certificate.\n");
		return -EPROTO;
	}
	b = BIO_new_mem_buf(rep->cert_pem, -1);
	cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	if (!cert || X509_check_private_key(cert, key) != 1) {
		fprintf(err, "Error: the controller sent a certificate that is not for this "
			"device's key.\n");
		goto out;
	}
	kp = key_pem(key);
	if (!kp) {
		r = -ENOMEM;
		fprintf(err, "Error: cannot encode the device key: out of memory.\n");
		goto out;
	}
	snprintf(line, sizeof(line), "%s\n", addr);
	r = write_tmp(dir, "key.pem", kp, strlen(kp), 0600, err);
	if (!r)
		r = write_tmp(dir, "cert.pem", rep->cert_pem, strlen(rep->cert_pem), 0600, err);
	if (!r)
		r = write_tmp(dir, "ca.pem", ca_pin_pem, strlen(ca_pin_pem), 0600, err);
	if (!r)
		r = write_tmp(dir, "controller", line, strlen(line), 0600, err);
	/* The key last: a directory with key.pem holds a whole identity. */
	if (!r)
		r = commit_tmp(dir, "cert.pem", err);
	if (!r)
		r = commit_tmp(dir, "ca.pem", err);
	if (!r)
		r = commit_tmp(dir, "controller", err);
	if (!r)
		r = commit_tmp(dir, "key.pem", err);
	if (r)
		drop_tmp(dir);
	else
		fprintf(out, "Enrolled as device \"%s\" with the controller at %s; identity in %s.\n",
			rep->device ? rep->device : "", addr, dir);
out:
	if (kp) {
		OPENSSL_cleanse(kp, strlen(kp));
		free(kp);
	}
	X509_free(cert);
	BIO_free(b);
	return r;
}

int veil_client_enroll_force(const char *token, const char *dir, bool force, FILE *out, FILE *err)
{
	Veil__Message m = VEIL__MESSAGE__INIT, *reply = NULL;
	Veil__EnrollRequest req = VEIL__ENROLL_REQUEST__INIT;
	struct veil_enroll_token t;
	struct veil_session *s = NULL;
	EVP_PKEY *key = NULL;
	char *csr = NULL, *ca_pem = NULL;
	const char *why = NULL, *text;
	int r;

	if (!dir)
		dir = veil_device_dir();
	if (veil_token_parse(token, &t, &why)) {
		fprintf(err, "Error: malformed enrollment token: %s.\n"
			"Paste the whole token, starting with \"veil1-\".\n", why ? why : "unreadable");
		return 1;
	}
	if (prepare_dir(dir, force, err))
		goto fail;
	key = make_key();
	csr = key ? make_csr(key) : NULL;
	if (!csr) {
		fprintf(err, "Error: cannot make the device key and CSR: %s.\n",
			ssl_reason("out of memory"));
		goto fail;
	}
	/* The secret leaves only once the controller proved the pinned CA. */
	if (veil_session_open_pinned(t.address, t.ca_fpr, CONNECT_TIMEOUT_MS, &s, &ca_pem, err))
		goto fail;
	m.version = VEIL_PROTOCOL_VERSION;
	m.body_case = VEIL__MESSAGE__BODY_ENROLL_REQUEST;
	m.enroll_request = &req;
	req.token_secret.data = t.secret;
	req.token_secret.len = sizeof(t.secret);
	req.csr_pem = csr;
	r = veil_session_request(s, &m, VEIL__MESSAGE__BODY_ENROLL_REPLY, REPLY_TIMEOUT_MS, &reply,
				 err);
	OPENSSL_cleanse(t.secret, sizeof(t.secret));
	if (r)
		goto fail;
	if (reply->enroll_reply->error) {
		text = token_error_text(reply->enroll_reply->error->code);
		if (text)
			fprintf(err, "Error: enrollment refused: %s.\n", text);
		else
			print_error(reply->enroll_reply->error, t.address, err);
		goto fail;
	}
	if (store_identity(dir, t.address, key, reply->enroll_reply, ca_pem, out, err))
		goto fail;
	veil_msg_free(reply);
	veil_session_close(s);
	free(csr);
	free(ca_pem);
	EVP_PKEY_free(key);
	return 0;
fail:
	OPENSSL_cleanse(t.secret, sizeof(t.secret));
	veil_msg_free(reply);
	veil_session_close(s);
	free(csr);
	free(ca_pem);
	EVP_PKEY_free(key);
	return 1;
}

int veil_client_enroll(const char *token, const char *dir, FILE *out, FILE *err)
{
	return veil_client_enroll_force(token, dir, false, out, err);
}

/* Read a whole file for "policy check|load FILE". */
static char *slurp(const char *path, size_t max, size_t *len, FILE *err)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		fprintf(err, "Error: cannot open %s: %s.\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	n = buf ? fread(buf, 1, max + 1, f) : 0;
	if (!buf || ferror(f) || n > max) {
		fprintf(err, "Error: cannot read %s: %s.\n", path,
			!buf ? "out of memory" : n > max ? "file too large" : strerror(errno));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

int veil_client_admin(const char *addr, const char *dir, int argc, char **argv, bool json,
		      FILE *out, FILE *err)
{
	Veil__Message m = VEIL__MESSAGE__INIT, *reply = NULL;
	Veil__AdminRequest req = VEIL__ADMIN_REQUEST__INIT;
	struct veil_session *s = NULL;
	char *input = NULL;
	size_t input_len = 0;
	int r, status = 1;

	/* "policy check|load FILE": the file is read here, sent with the command. */
	if (argc >= 3 && !strcmp(argv[0], "policy") &&
	    (!strcmp(argv[1], "check") || !strcmp(argv[1], "load"))) {
		input = slurp(argv[2], VEIL_FRAME_MAX - 4096, &input_len, err);
		if (!input)
			return 1;
		req.input.data = (uint8_t *)input;
		req.input.len = input_len;
		req.input_name = argv[2];
	}
	r = veil_session_open(addr, dir, CONNECT_TIMEOUT_MS, &s, err);
	if (r)
		goto out;
	m.version = VEIL_PROTOCOL_VERSION;
	m.body_case = VEIL__MESSAGE__BODY_ADMIN_REQUEST;
	m.admin_request = &req;
	req.n_argv = (size_t)argc;
	req.argv = argv;
	req.json = json;
	r = veil_session_request(s, &m, VEIL__MESSAGE__BODY_ADMIN_REPLY, REPLY_TIMEOUT_MS, &reply,
				 err);
	if (r)
		goto out;
	if (reply->admin_reply->output)
		fputs(reply->admin_reply->output, out);
	if (reply->admin_reply->error_output)
		fputs(reply->admin_reply->error_output, err);
	status = reply->admin_reply->exit_status;
out:
	veil_msg_free(reply);
	veil_session_close(s);
	free(input);
	return status;
}
