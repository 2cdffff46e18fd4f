// SPDX-License-Identifier: GPL-2.0
/*
 * The controller's store: SQLite in WAL mode, so that admin commands and
 * the server (or two controllers) can share one file. Every write that must
 * be seen whole runs in one BEGIN IMMEDIATE transaction: the write lock is
 * taken up front, so a second writer waits (busy timeout) instead of
 * failing half-way, and a token can be consumed exactly once.
 *
 * Schema versions live in PRAGMA user_version; each migration runs in its
 * own transaction that also bumps the version, so a crash leaves the store
 * at a whole version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store.h"

#define BUSY_TIMEOUT_MS	5000
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct veil_store {
	sqlite3 *db;
	char err[512];
};

static __thread char open_err[1024];

/* Migration N (1-based) brings a store from version N-1 to N. */
static const char *const migrations[] = {
	/* 1: devices, certificates, enrollment tokens, policy, audit. */
	"CREATE TABLE devices ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  owner TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('client', 'server', 'admin')),"
	"  groups TEXT NOT NULL DEFAULT '',"
	"  serial TEXT,"
	"  enrolled INTEGER NOT NULL DEFAULT 0,"
	"  not_after INTEGER NOT NULL DEFAULT 0,"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  revoked_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE certificates ("
	"  serial TEXT PRIMARY KEY,"
	"  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	"  pem TEXT NOT NULL,"
	"  issued INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX certificates_device ON certificates(device);"
	"CREATE TABLE enrollment_tokens ("
	"  secret_hash BLOB PRIMARY KEY CHECK (length(secret_hash) = 32),"
	"  device TEXT NOT NULL,"
	"  owner TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('client', 'server', 'admin')),"
	"  groups TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  cert_lifetime INTEGER NOT NULL,"
	"  used_at INTEGER);"
	"CREATE INDEX enrollment_tokens_device ON enrollment_tokens(device);"
	"CREATE TABLE policy ("
	"  version INTEGER PRIMARY KEY,"
	"  text TEXT NOT NULL,"
	"  loaded_at INTEGER NOT NULL);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time_ms INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  device TEXT NOT NULL DEFAULT '',"
	"  \"user\" TEXT NOT NULL DEFAULT '',"
	"  name TEXT NOT NULL DEFAULT '',"
	"  allowed INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  rx INTEGER NOT NULL DEFAULT 0,"
	"  tx INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX audit_time ON audit(time_ms);"
	"CREATE INDEX audit_device ON audit(device, time_ms);",
};

#define SCHEMA_VERSION	((int)ARRAY_SIZE(migrations))

/* Entry @i of @names (@n entries), or @unknown past the end. */
static const char *name_of(const char *const *names, unsigned int n, unsigned int i,
			   const char *unknown)
{
	return i < n ? names[i] : unknown;
}

/* The index of @s in @names (@n entries), or -1 (also for a NULL @s). */
static int name_index(const char *const *names, unsigned int n, const char *s)
{
	unsigned int i;

	for (i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

static const char *const role_names[] = {
	[VEIL_ROLE_CLIENT] = "client",
	[VEIL_ROLE_SERVER] = "server",
	[VEIL_ROLE_ADMIN] = "admin",
};

const char *veil_role_name(enum veil_role role)
{
	return name_of(role_names, ARRAY_SIZE(role_names), role, "unknown");
}

int veil_role_parse(const char *s, enum veil_role *role)
{
	int i = name_index(role_names, ARRAY_SIZE(role_names), s);

	if (i < 0)
		return -EINVAL;
	*role = (enum veil_role)i;
	return 0;
}

static const char *const kind_names[] = {
	[VEIL_AUDIT_RESOLVE] = "RESOLVE",
	[VEIL_AUDIT_ENROLL] = "ENROLL",
	[VEIL_AUDIT_REVOKE] = "REVOKE",
	[VEIL_AUDIT_TUNNEL_UP] = "TUNNEL_UP",
	[VEIL_AUDIT_TUNNEL_DOWN] = "TUNNEL_DOWN",
	[VEIL_AUDIT_SESSION] = "SESSION",
	[VEIL_AUDIT_POLICY] = "POLICY",
};

const char *veil_audit_kind_name(enum veil_audit_kind kind)
{
	return name_of(kind_names, ARRAY_SIZE(kind_names), kind, "UNKNOWN");
}

/* A kind this controller does not know reads as SESSION. */
static enum veil_audit_kind kind_parse(const char *s)
{
	int i = name_index(kind_names, ARRAY_SIZE(kind_names), s);

	return i < 0 ? VEIL_AUDIT_SESSION : (enum veil_audit_kind)i;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_err(struct veil_store *st, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(struct veil_store *st, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (st)
		vsnprintf(st->err, sizeof(st->err), fmt, ap);
	else
		vsnprintf(open_err, sizeof(open_err), fmt, ap);
	va_end(ap);
	return ret;
}

static int errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
		return -EACCES;
	default:
		return -EIO;
	}
}

static const char *hint_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "another process holds the database locked; try again";
	case SQLITE_FULL:
		return "free space on the state directory's file system";
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
		return "check that the state directory and controller.db are writable "
		       "by this user (run as the controller's user or root)";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "the file is damaged or not a veil controller database; "
		       "restore controller.db from a backup";
	case SQLITE_CONSTRAINT:
		return "the store refused inconsistent data";
	default:
		return "see the message above; the store is unchanged";
	}
}

/* "OP failed: SQLITE MESSAGE (HINT)", with the errno of the sqlite code. */
static int db_fail(struct veil_store *st, int rc, const char *op)
{
	return set_err(st, errno_of(rc), "%s failed: %s (%s)", op, sqlite3_errmsg(st->db),
		       hint_of(rc));
}

static int prep(struct veil_store *st, sqlite3_stmt **stmt, const char *sql, const char *op)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);

	if (rc != SQLITE_OK) {
		*stmt = NULL;
		return db_fail(st, rc, op);
	}
	return 0;
}

static int exec(struct veil_store *st, const char *sql, const char *op)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_fail(st, rc, op);
}

static int begin(struct veil_store *st, const char *op)
{
	return exec(st, "BEGIN IMMEDIATE", op);
}

static int commit(struct veil_store *st, const char *op)
{
	int ret = exec(st, "COMMIT", op);

	if (ret)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static void rollback(struct veil_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Run @stmt to completion (no rows expected); finalizes it. */
static int step_done(struct veil_store *st, sqlite3_stmt *stmt, const char *op)
{
	int rc = sqlite3_step(stmt);

	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : db_fail(st, rc, op);
}

static void copy_col(sqlite3_stmt *stmt, int col, char *dst, size_t size)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	snprintf(dst, size, "%s", s ? (const char *)s : "");
}

static int bind_text(sqlite3_stmt *stmt, int idx, const char *s)
{
	return sqlite3_bind_text(stmt, idx, s, -1, SQLITE_TRANSIENT);
}

/*
 * Binds @stmt's parameters ?1, ?2, ... from @ap, one per character of
 * @types: 't' a string (NULL binds NULL), 'i' an int64_t, 'h' a 32-byte
 * hash (const uint8_t *).
 */
static void bind_args(sqlite3_stmt *stmt, const char *types, va_list ap)
{
	const uint8_t *hash;
	int i;

	for (i = 0; types[i]; i++) {
		switch (types[i]) {
		case 't':
			bind_text(stmt, i + 1, va_arg(ap, const char *));
			break;
		case 'i':
			sqlite3_bind_int64(stmt, i + 1, va_arg(ap, int64_t));
			break;
		case 'h':
			hash = va_arg(ap, const uint8_t *);
			sqlite3_bind_blob(stmt, i + 1, hash, 32, SQLITE_TRANSIENT);
			break;
		}
	}
}

static int vprep(struct veil_store *st, sqlite3_stmt **stmt, const char *op, const char *sql,
		 const char *types, va_list ap)
{
	int ret = prep(st, stmt, sql, op);

	if (!ret)
		bind_args(*stmt, types, ap);
	return ret;
}

/*
 * Steps @stmt, a query of one row at the most: 1 with the row (read it,
 * then finalize @stmt), else @stmt is finalized: 0 without, or the error.
 */
static int step_row(struct veil_store *st, sqlite3_stmt *stmt, const char *op)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : db_fail(st, rc, op);
}

/* A statement without rows, its parameters bound as by bind_args(). */
static int run(struct veil_store *st, const char *op, const char *sql, const char *types, ...)
{
	sqlite3_stmt *stmt;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = vprep(st, &stmt, op, sql, types, ap);
	va_end(ap);
	return ret ? ret : step_done(st, stmt, op);
}

/* A query of one row at the most, as step_row(); parameters as bind_args(). */
static int query_row(struct veil_store *st, sqlite3_stmt **stmt, const char *op,
		     const char *sql, const char *types, ...)
{
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = vprep(st, stmt, op, sql, types, ap);
	va_end(ap);
	return ret ? ret : step_row(st, *stmt, op);
}

/*
 * A query of one row at the most and one integer column, read into @v (if
 * not NULL): 1 with a row, 0 without, or the error; parameters as
 * bind_args().
 */
static int query_int64(struct veil_store *st, int64_t *v, const char *op, const char *sql,
		       const char *types, ...)
{
	sqlite3_stmt *stmt;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = vprep(st, &stmt, op, sql, types, ap);
	va_end(ap);
	if (!ret)
		ret = step_row(st, stmt, op);
	if (ret > 0) {
		if (v)
			*v = sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
	}
	return ret;
}

/*
 * The end of a loop over @stmt's rows that stops at a callback's non-zero
 * @ret: finalizes @stmt; @ret, else the error that ended the steps, if any.
 */
static int rows_end(struct veil_store *st, sqlite3_stmt *stmt, int rc, int ret, const char *op)
{
	sqlite3_finalize(stmt);
	if (ret)
		return ret;
	return rc == SQLITE_DONE ? 0 : db_fail(st, rc, op);
}

const char *veil_store_errmsg(const struct veil_store *st)
{
	return st ? st->err : open_err;
}

static int user_version(struct veil_store *st, int *version)
{
	static const char op[] = "reading the schema version";
	int64_t v;
	int ret;

	ret = query_int64(st, &v, op, "PRAGMA user_version", "");
	if (!ret)
		ret = db_fail(st, SQLITE_DONE, op);
	if (ret < 0)
		return ret;
	*version = (int)v;
	return 0;
}

int veil_store_schema_version(struct veil_store *st)
{
	int v, ret = user_version(st, &v);

	return ret ? ret : v;
}

static int migrate(struct veil_store *st, const char *path)
{
	char sql[64], op[96];
	int v, ret;

	for (;;) {
		ret = begin(st, "locking the store to upgrade its schema");
		if (ret)
			return ret;
		/* Read inside the lock: another controller may have migrated. */
		ret = user_version(st, &v);
		if (ret)
			goto fail;
		if (v > SCHEMA_VERSION) {
			rollback(st);
			return set_err(st, -EPROTO,
				       "%s has schema version %d, newer than this veil-controller "
				       "knows (%d): run the newer veil-controller", path, v,
				       SCHEMA_VERSION);
		}
		if (v == SCHEMA_VERSION) {
			rollback(st);
			return 0;
		}
		snprintf(op, sizeof(op), "upgrading the store to schema version %d", v + 1);
		ret = exec(st, migrations[v], op);
		if (ret)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		ret = exec(st, sql, op);
		if (ret)
			goto fail;
		ret = commit(st, op);
		if (ret)
			return ret;
	}
fail:
	rollback(st);
	return ret;
}

/* Create the file ourselves with mode 0600 (whatever the umask). */
static int create_private(const char *path)
{
	struct stat sb;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return set_err(NULL, -errno, "Cannot open %s: %s (check that the state "
			       "directory exists and is writable by this user)", path,
			       strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return set_err(NULL, -EINVAL, "%s is not a regular file: move it away", path);
	}
	if ((sb.st_mode & 0777) != 0600 && fchmod(fd, 0600) < 0) {
		int e = errno;

		close(fd);
		return set_err(NULL, -e, "Cannot make %s private (mode 0600): %s", path,
			       strerror(e));
	}
	close(fd);
	return 0;
}

int veil_store_open(const char *path, struct veil_store **out)
{
	struct veil_store *st;
	sqlite3_stmt *stmt;
	const char *mode;
	int ret, rc;

	*out = NULL;
	ret = create_private(path);
	if (ret)
		return ret;
	st = calloc(1, sizeof(*st));
	if (!st)
		return set_err(NULL, -ENOMEM, "Cannot open %s: out of memory", path);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		set_err(NULL, errno_of(rc), "Cannot open %s: %s (%s)", path,
			st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), hint_of(rc));
		goto err;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);

	ret = prep(st, &stmt, "PRAGMA journal_mode = WAL", "switching the store to WAL mode");
	if (ret)
		goto err_msg;
	rc = sqlite3_step(stmt);
	mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0) : NULL;
	if (!mode || strcmp(mode, "wal")) {
		ret = rc == SQLITE_ROW ? set_err(st, -EIO, "switching the store to WAL mode "
						 "failed: the file system does not support it "
						 "(put the state directory on a local file system)") :
		      db_fail(st, rc, "switching the store to WAL mode");
		sqlite3_finalize(stmt);
		goto err_msg;
	}
	sqlite3_finalize(stmt);
	ret = exec(st, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
		   "setting the store's options");
	if (ret)
		goto err_msg;
	ret = migrate(st, path);
	if (ret)
		goto err_msg;
	*out = st;
	return 0;

err_msg:
	snprintf(open_err, sizeof(open_err), "Cannot open %s: %s", path, st->err);
err:
	if (!ret)
		ret = errno_of(rc);
	sqlite3_close(st->db);
	free(st);
	return ret;
}

void veil_store_close(struct veil_store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

/* Tokens */

int veil_store_token_add(struct veil_store *st, const uint8_t secret_hash[32],
			 const struct veil_token *tok)
{
	static const char op[] = "adding an enrollment token";
	int64_t now = now_s();
	int ret;

	ret = begin(st, op);
	if (ret)
		return ret;
	ret = query_int64(st, NULL, op, "SELECT 1 FROM devices WHERE name = ?1", "t",
			  tok->device);
	if (ret > 0)
		ret = set_err(st, -EEXIST, "device \"%s\" already exists (enrolled before); "
			      "choose another name, or see \"device show %s\"", tok->device,
			      tok->device);
	if (ret)
		goto fail;
	ret = query_int64(st, NULL, op, "SELECT expires FROM enrollment_tokens WHERE device = ?1 "
			  "AND used_at IS NULL AND expires > ?2", "ti", tok->device, now);
	if (ret > 0)
		ret = set_err(st, -EEXIST, "device \"%s\" already has a pending enrollment "
			      "token; enroll with it, or cancel it with \"device revoke %s\" "
			      "and add a new one", tok->device, tok->device);
	if (ret)
		goto fail;
	/* Unused tokens of that name that expired are of no use any more. */
	ret = run(st, op, "DELETE FROM enrollment_tokens WHERE device = ?1 AND used_at IS NULL",
		  "t", tok->device);
	if (ret)
		goto fail;
	ret = run(st, op, "INSERT INTO enrollment_tokens (secret_hash, device, owner, role, "
		  "groups, created, expires, cert_lifetime) "
		  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", "httttiii", secret_hash,
		  tok->device, tok->owner, veil_role_name(tok->role), tok->groups, now,
		  tok->expires, tok->cert_lifetime);
	if (ret)
		goto fail;
	return commit(st, op);
fail:
	rollback(st);
	return ret;
}

static void token_from_row(sqlite3_stmt *stmt, struct veil_token *tok)
{
	memset(tok, 0, sizeof(*tok));
	copy_col(stmt, 0, tok->device, sizeof(tok->device));
	copy_col(stmt, 1, tok->owner, sizeof(tok->owner));
	if (veil_role_parse((const char *)sqlite3_column_text(stmt, 2), &tok->role))
		tok->role = VEIL_ROLE_CLIENT;
	copy_col(stmt, 3, tok->groups, sizeof(tok->groups));
	tok->expires = sqlite3_column_int64(stmt, 4);
	tok->cert_lifetime = sqlite3_column_int64(stmt, 5);
}

int veil_store_token_consume(struct veil_store *st, const uint8_t secret_hash[32],
			     struct veil_token *tok)
{
	static const char op[] = "taking an enrollment token";
	sqlite3_stmt *stmt;
	int64_t now = now_s();
	int ret;
	bool used;

	ret = begin(st, op);
	if (ret)
		return ret;
	ret = query_row(st, &stmt, op, "SELECT device, owner, role, groups, expires, "
			"cert_lifetime, used_at IS NOT NULL FROM enrollment_tokens "
			"WHERE secret_hash = ?1", "h", secret_hash);
	if (!ret)
		ret = set_err(st, -ENOENT, "unknown enrollment token (mistyped, cancelled, "
			      "or made by another controller): ask for a new token");
	if (ret < 0)
		goto fail;
	token_from_row(stmt, tok);
	used = sqlite3_column_int(stmt, 6);
	sqlite3_finalize(stmt);
	if (used) {
		ret = set_err(st, -EALREADY, "the enrollment token for \"%s\" was already used; "
			      "a token works once: ask for a new one", tok->device);
		goto fail;
	}
	if (tok->expires <= now) {
		ret = set_err(st, -ETIMEDOUT, "the enrollment token for \"%s\" expired; ask "
			      "for a new one", tok->device);
		goto fail;
	}
	ret = run(st, op, "UPDATE enrollment_tokens SET used_at = ?2 "
		  "WHERE secret_hash = ?1 AND used_at IS NULL", "hi", secret_hash, now);
	if (ret)
		goto fail;
	if (sqlite3_changes(st->db) != 1) {
		ret = set_err(st, -EALREADY, "the enrollment token for \"%s\" was already used",
			      tok->device);
		goto fail;
	}
	return commit(st, op);
fail:
	rollback(st);
	if (ret != 0 && ret != -ENOENT && ret != -EALREADY && ret != -ETIMEDOUT)
		memset(tok, 0, sizeof(*tok));
	return ret;
}

int veil_store_token_list(struct veil_store *st, veil_token_cb cb, void *ctx)
{
	static const char op[] = "listing enrollment tokens";
	struct veil_token tok;
	sqlite3_stmt *stmt;
	int ret, rc = SQLITE_DONE;

	ret = prep(st, &stmt, "SELECT device, owner, role, groups, expires, cert_lifetime "
		   "FROM enrollment_tokens WHERE used_at IS NULL ORDER BY created, device", op);
	if (ret)
		return ret;
	while (!ret && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		token_from_row(stmt, &tok);
		ret = cb(&tok, ctx);
	}
	return rows_end(st, stmt, rc, ret, op);
}

int veil_store_token_cancel(struct veil_store *st, const char *device)
{
	int ret;

	ret = run(st, "cancelling an enrollment token", "DELETE FROM enrollment_tokens "
		  "WHERE device = ?1 AND used_at IS NULL", "t", device);
	if (ret)
		return ret;
	if (!sqlite3_changes(st->db))
		return set_err(st, -ENOENT, "no device or pending token named \"%s\"", device);
	return 0;
}

/* Devices */

#define DEVICE_COLS "d.id, d.name, d.owner, d.role, d.groups, d.serial, d.enrolled, " \
		    "d.not_after, d.revoked, d.revoked_at"

static void device_from_row(sqlite3_stmt *stmt, struct veil_device *dev)
{
	memset(dev, 0, sizeof(*dev));
	dev->id = sqlite3_column_int64(stmt, 0);
	copy_col(stmt, 1, dev->name, sizeof(dev->name));
	copy_col(stmt, 2, dev->owner, sizeof(dev->owner));
	if (veil_role_parse((const char *)sqlite3_column_text(stmt, 3), &dev->role))
		dev->role = VEIL_ROLE_CLIENT;
	copy_col(stmt, 4, dev->groups, sizeof(dev->groups));
	copy_col(stmt, 5, dev->serial, sizeof(dev->serial));
	dev->enrolled = sqlite3_column_int64(stmt, 6);
	dev->not_after = sqlite3_column_int64(stmt, 7);
	dev->revoked = sqlite3_column_int(stmt, 8);
	dev->revoked_at = sqlite3_column_int64(stmt, 9);
}

/* One device by a query with one text parameter. */
static int device_query(struct veil_store *st, const char *sql, const char *key,
			struct veil_device *dev, const char *op, const char *missing)
{
	sqlite3_stmt *stmt;
	int ret;

	ret = query_row(st, &stmt, op, sql, "t", key);
	if (ret <= 0)
		return ret ? ret : set_err(st, -ENOENT, missing, key);
	device_from_row(stmt, dev);
	sqlite3_finalize(stmt);
	return 0;
}

int veil_store_device_get(struct veil_store *st, const char *name, struct veil_device *dev)
{
	return device_query(st, "SELECT " DEVICE_COLS " FROM devices d WHERE d.name = ?1", name,
			    dev, "reading a device",
			    "no device named \"%s\" (see \"device list\")");
}

int veil_store_device_by_serial(struct veil_store *st, const char *serial,
				struct veil_device *dev)
{
	return device_query(st, "SELECT " DEVICE_COLS " FROM certificates c "
			    "JOIN devices d ON d.id = c.device WHERE c.serial = ?1", serial,
			    dev, "finding a certificate's device",
			    "no certificate with serial %s was issued by this controller");
}

/* One good certificate per device: (re-)enrollment and revocation retire the old ones. */
static int retire_certificates(struct veil_store *st, int64_t device, const char *op)
{
	return run(st, op, "UPDATE certificates SET revoked = 1 WHERE device = ?1", "i", device);
}

int veil_store_device_enroll(struct veil_store *st, const struct veil_token *tok,
			     const char *serial, int64_t not_after, const char *cert_pem)
{
	static const char op[] = "recording an enrolled device";
	int64_t now = now_s(), id;
	int ret;

	ret = begin(st, op);
	if (ret)
		return ret;
	ret = run(st, op, "INSERT INTO devices (name, owner, role, groups, serial, "
		  "enrolled, not_after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
		  "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
		  "role = excluded.role, groups = excluded.groups, serial = excluded.serial, "
		  "enrolled = excluded.enrolled, not_after = excluded.not_after, "
		  "revoked = 0, revoked_at = 0", "tttttii", tok->device, tok->owner,
		  veil_role_name(tok->role), tok->groups, serial, now, not_after);
	if (ret)
		goto fail;
	ret = query_int64(st, &id, op, "SELECT id FROM devices WHERE name = ?1", "t",
			  tok->device);
	if (!ret)
		ret = db_fail(st, SQLITE_DONE, op);
	if (ret < 0)
		goto fail;
	ret = retire_certificates(st, id, op);
	if (ret)
		goto fail;
	ret = run(st, op, "INSERT INTO certificates (serial, device, pem, issued, not_after) "
		  "VALUES (?1, ?2, ?3, ?4, ?5)", "titii", serial, id, cert_pem, now, not_after);
	if (ret)
		goto fail;
	return commit(st, op);
fail:
	rollback(st);
	return ret;
}

int veil_store_device_revoke(struct veil_store *st, const char *name, struct veil_device *dev)
{
	static const char op[] = "revoking a device";
	int64_t now = now_s();
	int ret;

	ret = begin(st, op);
	if (ret)
		return ret;
	ret = veil_store_device_get(st, name, dev);
	if (ret)
		goto fail;
	if (dev->revoked) {
		ret = set_err(st, -EALREADY, "device \"%s\" is already revoked", name);
		goto fail;
	}
	ret = run(st, op, "UPDATE devices SET revoked = 1, revoked_at = ?2 WHERE id = ?1", "ii",
		  dev->id, now);
	if (ret)
		goto fail;
	ret = retire_certificates(st, dev->id, op);
	if (ret)
		goto fail;
	ret = commit(st, op);
	if (ret)
		return ret;
	dev->revoked = true;
	dev->revoked_at = now;
	return 0;
fail:
	rollback(st);
	return ret;
}

int veil_store_serial_revoked(struct veil_store *st, const char *serial)
{
	int64_t revoked;
	int ret;

	ret = query_int64(st, &revoked, "checking a certificate serial",
			  "SELECT revoked FROM certificates WHERE serial = ?1", "t", serial);
	if (!ret)
		return set_err(st, -ENOENT, "no certificate with serial %s was issued by "
			       "this controller", serial);
	return ret < 0 ? ret : revoked != 0;
}

int veil_store_device_list(struct veil_store *st, veil_device_cb cb, void *ctx)
{
	static const char op[] = "listing devices";
	struct veil_device dev;
	sqlite3_stmt *stmt;
	int ret, rc = SQLITE_DONE;

	ret = prep(st, &stmt, "SELECT " DEVICE_COLS " FROM devices d ORDER BY d.name", op);
	if (ret)
		return ret;
	while (!ret && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		device_from_row(stmt, &dev);
		ret = cb(&dev, ctx);
	}
	return rows_end(st, stmt, rc, ret, op);
}

/* Policy */

int veil_store_policy_set(struct veil_store *st, const char *text, int64_t *version)
{
	static const char op[] = "storing the policy";
	int64_t v;
	int ret;

	ret = begin(st, op);
	if (ret)
		return ret;
	ret = query_int64(st, &v, op, "SELECT COALESCE(MAX(version), 0) + 1 FROM policy", "");
	if (!ret)
		ret = db_fail(st, SQLITE_DONE, op);
	if (ret < 0)
		goto fail;
	ret = run(st, op, "INSERT INTO policy (version, text, loaded_at) VALUES (?1, ?2, ?3)",
		  "iti", v, text, now_s());
	if (ret)
		goto fail;
	ret = commit(st, op);
	if (ret)
		return ret;
	if (version)
		*version = v;
	return 0;
fail:
	rollback(st);
	return ret;
}

int veil_store_policy_get(struct veil_store *st, char **text, int64_t *version)
{
	static const char op[] = "reading the policy";
	sqlite3_stmt *stmt;
	const unsigned char *s;
	int ret;

	*text = NULL;
	ret = query_row(st, &stmt, op, "SELECT version, text FROM policy "
			"ORDER BY version DESC LIMIT 1", "");
	if (ret <= 0)
		return ret ? ret : set_err(st, -ENOENT, "no policy was loaded yet (load one "
					   "with \"veil-controller policy load FILE\")");
	if (version)
		*version = sqlite3_column_int64(stmt, 0);
	s = sqlite3_column_text(stmt, 1);
	*text = strdup(s ? (const char *)s : "");
	sqlite3_finalize(stmt);
	if (!*text)
		return set_err(st, -ENOMEM, "%s failed: out of memory", op);
	return 0;
}

/* Audit */

int veil_store_audit_add(struct veil_store *st, const struct veil_audit *a)
{
	return run(st, "writing an audit record", "INSERT INTO audit (time_ms, kind, device, "
		   "\"user\", name, allowed, reason, rx, tx) "
		   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", "ittttitii",
		   a->time_ms ? a->time_ms : now_ms(), veil_audit_kind_name(a->kind), a->device,
		   a->user, a->name, (int64_t)a->allowed, a->reason, (int64_t)a->rx_bytes,
		   (int64_t)a->tx_bytes);
}

static void audit_from_row(sqlite3_stmt *stmt, struct veil_audit *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(stmt, 0);
	a->time_ms = sqlite3_column_int64(stmt, 1);
	a->kind = kind_parse((const char *)sqlite3_column_text(stmt, 2));
	copy_col(stmt, 3, a->device, sizeof(a->device));
	copy_col(stmt, 4, a->user, sizeof(a->user));
	copy_col(stmt, 5, a->name, sizeof(a->name));
	a->allowed = sqlite3_column_int(stmt, 6);
	copy_col(stmt, 7, a->reason, sizeof(a->reason));
	a->rx_bytes = (uint64_t)sqlite3_column_int64(stmt, 8);
	a->tx_bytes = (uint64_t)sqlite3_column_int64(stmt, 9);
}

int veil_store_audit_list(struct veil_store *st, int64_t since_ms, const char *device,
			  veil_audit_cb cb, void *ctx)
{
	static const char op[] = "reading the audit log";
	struct veil_audit a;
	sqlite3_stmt *stmt;
	int ret, rc = SQLITE_DONE;

	ret = prep(st, &stmt, "SELECT id, time_ms, kind, device, \"user\", name, allowed, "
		   "reason, rx, tx FROM audit WHERE time_ms >= ?1 "
		   "AND (?2 IS NULL OR device = ?2) ORDER BY time_ms, id", op);
	if (ret)
		return ret;
	sqlite3_bind_int64(stmt, 1, since_ms);
	if (device && *device)
		bind_text(stmt, 2, device);
	else
		sqlite3_bind_null(stmt, 2);
	while (!ret && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		audit_from_row(stmt, &a);
		ret = cb(&a, ctx);
	}
	return rows_end(st, stmt, rc, ret, op);
}
