/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The controller's state in SQLite (WAL): devices and their certificates,
 * enrollment tokens, the policy document, and the audit log. Schema
 * migrations are numbered; opening a store brings it to the newest version.
 *
 * Every function returns 0 on success or a negative errno; on failure it
 * fills the store's error text (veil_store_errmsg()), which names what failed
 * and what to do. -ENOENT means "no such row".
 */
#ifndef VEIL_STORE_H
#define VEIL_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct veil_store;

#define VEIL_NAME_MAX		64	/* device, user, group and app names */
#define VEIL_GROUPS_MAX		256	/* comma-separated group list */
#define VEIL_SERIAL_MAX		41	/* certificate serial, lower-case hex */

enum veil_role {
	VEIL_ROLE_CLIENT,
	VEIL_ROLE_SERVER,
	VEIL_ROLE_ADMIN,
};

const char *veil_role_name(enum veil_role role);
int veil_role_parse(const char *s, enum veil_role *role);	/* 0 or -EINVAL */

struct veil_device {
	int64_t id;
	char name[VEIL_NAME_MAX];
	char owner[VEIL_NAME_MAX];
	enum veil_role role;
	char groups[VEIL_GROUPS_MAX];	/* "a,b" or "" */
	char serial[VEIL_SERIAL_MAX];	/* current certificate, "" before enrollment */
	int64_t enrolled;		/* unix seconds, 0 if never */
	int64_t not_after;		/* certificate expiry, unix seconds */
	bool revoked;
	int64_t revoked_at;
};

struct veil_token {
	char device[VEIL_NAME_MAX];
	char owner[VEIL_NAME_MAX];
	enum veil_role role;
	char groups[VEIL_GROUPS_MAX];
	int64_t expires;		/* unix seconds */
	int64_t cert_lifetime;		/* seconds of validity for the certificate */
};

enum veil_audit_kind {
	VEIL_AUDIT_RESOLVE,		/* detail: name; allowed; reason = rule or why not */
	VEIL_AUDIT_ENROLL,		/* a device enrolled (or was refused) */
	VEIL_AUDIT_REVOKE,
	VEIL_AUDIT_TUNNEL_UP,
	VEIL_AUDIT_TUNNEL_DOWN,		/* rx/tx bytes */
	VEIL_AUDIT_SESSION,		/* session opened/closed/refused */
	VEIL_AUDIT_POLICY,		/* policy loaded */
};

const char *veil_audit_kind_name(enum veil_audit_kind kind);

struct veil_audit {
	int64_t id;			/* set by the store */
	int64_t time_ms;		/* unix milliseconds; 0: now */
	enum veil_audit_kind kind;
	char device[VEIL_NAME_MAX];	/* "" when unknown */
	char user[VEIL_NAME_MAX];
	char name[256];			/* secure name, peer device, ... */
	bool allowed;
	char reason[256];		/* rule name, denial reason, free text */
	uint64_t rx_bytes, tx_bytes;
};

int veil_store_open(const char *path, struct veil_store **out);
void veil_store_close(struct veil_store *st);
/* The last error; with NULL store: why veil_store_open() failed. */
const char *veil_store_errmsg(const struct veil_store *st);
int veil_store_schema_version(struct veil_store *st);

/* A token for a device not yet enrolled: -EEXIST if the device exists. */
int veil_store_token_add(struct veil_store *st, const uint8_t secret_hash[32],
			 const struct veil_token *tok);
/*
 * Take the token whose secret hashes to @secret_hash, once: it is marked used
 * in the same transaction. -ENOENT unknown, -EALREADY used, -ETIMEDOUT expired.
 */
int veil_store_token_consume(struct veil_store *st, const uint8_t secret_hash[32],
			     struct veil_token *tok);

/*
 * Tokens not used yet (pending enrollments, expired or not), oldest first.
 * A callback returning non-zero stops the walk with that value.
 */
typedef int (*veil_token_cb)(const struct veil_token *tok, void *ctx);
int veil_store_token_list(struct veil_store *st, veil_token_cb cb, void *ctx);
/* Delete @device's unused tokens: -ENOENT if it had none. */
int veil_store_token_cancel(struct veil_store *st, const char *device);

/* Create or re-enroll a device with its new certificate. */
int veil_store_device_enroll(struct veil_store *st, const struct veil_token *tok,
			     const char *serial, int64_t not_after, const char *cert_pem);
int veil_store_device_get(struct veil_store *st, const char *name, struct veil_device *dev);
int veil_store_device_by_serial(struct veil_store *st, const char *serial,
				struct veil_device *dev);
/* Revoke the device's current certificate; its serial stays refused for ever. */
int veil_store_device_revoke(struct veil_store *st, const char *name, struct veil_device *dev);
/* Is this certificate serial revoked (or unknown, -ENOENT)? 1 revoked, 0 good. */
int veil_store_serial_revoked(struct veil_store *st, const char *serial);
typedef int (*veil_device_cb)(const struct veil_device *dev, void *ctx);
int veil_store_device_list(struct veil_store *st, veil_device_cb cb, void *ctx);

/* The running policy document (text as loaded) and its version, 1, 2, ... */
int veil_store_policy_set(struct veil_store *st, const char *text, int64_t *version);
/* *text is malloc'd; -ENOENT when no policy was ever loaded. */
int veil_store_policy_get(struct veil_store *st, char **text, int64_t *version);

int veil_store_audit_add(struct veil_store *st, const struct veil_audit *a);
typedef int (*veil_audit_cb)(const struct veil_audit *a, void *ctx);
/* Oldest first; since_ms 0 and device NULL/"" mean no filter. */
int veil_store_audit_list(struct veil_store *st, int64_t since_ms, const char *device,
			  veil_audit_cb cb, void *ctx);

#endif /* VEIL_STORE_H */
