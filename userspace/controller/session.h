/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the controller's server: the server state and one node's session.
 * Everything runs on one sd-event loop; nothing here is locked.
 */
#ifndef VEIL_SESSION_H
#define VEIL_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <systemd/sd-event.h>

#include "frame.h"
#include "pki.h"
#include "policy.h"
#include "server.h"
#include "store.h"

struct session;

struct server {
	struct veil_server_config cfg;	/* defaults filled in */
	sd_event *ev;
	SSL_CTX *ctx;
	struct veil_ca ca;
	char *ca_pem;
	struct veil_store *store;
	struct veil_policy *policy;	/* NULL: none loaded (deny all) */
	int64_t policy_version;		/* 0: none */
	int listen_fd;
	sd_event_source *listen_src;
	sd_event_source *listen_retry;	/* re-enables accept after EMFILE */
	int control_fd;
	sd_event_source *control_src;
	char control_path[108];
	struct session *head;		/* every live session, newest first */
	struct session *dead;		/* ended, freed by reap_src */
	sd_event_source *reap_src;
	unsigned int n_sessions;
	uint64_t next_id;
	uint32_t id_prefix;
	size_t out_limit;		/* queued bytes over which a session is cut */
};

enum session_state {
	S_HANDSHAKE,	/* TLS handshake in progress */
	S_ENROLL,	/* no client certificate: one EnrollRequest, then close */
	S_OPEN,		/* verified device: waiting for Hello, or running */
	S_CLOSING,	/* flushing a last message, then close */
};

struct out_chunk {
	struct out_chunk *next;
	size_t len, off;
	uint8_t data[];
};

struct session {
	struct server *srv;
	struct session *prev, *next;
	int fd;
	SSL *ssl;
	sd_event_source *io;
	sd_event_source *timer;
	enum session_state state;
	bool dead;			/* on the dead list: ignore every event */
	bool lingering;			/* closing: FIN sent, draining input */
	uint32_t events;		/* epoll events watched */
	int verify_err;			/* first certificate verification error */
	char verify_cn[VEIL_NAME_MAX];	/* CN of the certificate it was about */
	char id[24];
	char peer[64];			/* "192.0.2.1:40000", "[2001:db8::1]:40000" */
	struct veil_cert_id cert;	/* S_OPEN: who */
	struct veil_device dev;
	bool hello;			/* Hello received */
	char *posture_os, *posture_kernel, *posture_version;
	char **facts;
	size_t n_facts;
	int64_t policy_sent;		/* version of the last PolicyUpdate sent, -1 none */
	uint64_t since_us;		/* CLOCK_REALTIME */
	uint64_t last_msg_us;		/* CLOCK_MONOTONIC: idle cut */
	uint64_t last_hb_us;		/* CLOCK_REALTIME of the last heartbeat, 0 none */
	uint64_t deadline_us;		/* CLOCK_MONOTONIC: handshake/hello/close deadline */
	uint64_t bytes_in, bytes_out;
	struct veil_frame_decoder dec;
	struct out_chunk *out_head, *out_tail;
	size_t out_bytes;
	bool want_write;		/* SSL needs the socket writable */
	bool read_blocked_on_write;
	bool write_blocked_on_read;
};

/*
 * Who a session's device is, for the policy: its certificate, the groups
 * it was enrolled with and the posture from its Hello.
 */
#define SESSION_MAX_GROUPS	32

struct session_subject {
	struct veil_subject who;
	struct veil_posture posture;
	const char *groups[SESSION_MAX_GROUPS];
	char gbuf[VEIL_GROUPS_MAX];
};

/* session.c */
void session_accept(struct server *srv, int fd, const struct sockaddr *sa, socklen_t len);
void session_free(struct session *s);
/* Deferred event: free the sessions that ended. */
int session_reap(sd_event_source *src, void *userdata);
/* Send @m; false when the session was closed for it (queue over the limit). */
bool session_send(struct session *s, const Veil__Message *m);
/* Send an Error, then close once it is flushed. */
void session_refuse(struct session *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void session_send_policy(struct session *s);
/* Fill @sub from @s; @sub->who points into @sub and @s, and lives as long. */
void session_subject(const struct session *s, struct session_subject *sub);
/* Re-check the device against the store: close it when revoked. */
bool session_recheck(struct session *s);
/* Certificate verification callback of the server's SSL_CTX. */
int session_verify_cb(int ok, X509_STORE_CTX *xs);
void session_log(const struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* server.c */
void server_reload(struct server *srv);
void server_print_sessions(struct server *srv, bool json, FILE *out);
void server_audit(struct server *srv, enum veil_audit_kind kind, const char *device,
		  const char *user, const char *name, bool allowed, const char *reason);

#endif /* VEIL_SESSION_H */
