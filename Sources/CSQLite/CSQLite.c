#include "CSQLite.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// Every SQLite function jamdns calls. Each pointer is typed from sqlite3.h, so a changed signature fails here.
#define JAM_SQLITE_FUNCTIONS(X) \
    X(sqlite3_open_v2) X(sqlite3_close) X(sqlite3_close_v2) X(sqlite3_errmsg) X(sqlite3_errcode) \
    X(sqlite3_extended_result_codes) X(sqlite3_busy_timeout) X(sqlite3_exec) X(sqlite3_prepare_v2) \
    X(sqlite3_step) X(sqlite3_reset) X(sqlite3_finalize) X(sqlite3_clear_bindings) X(sqlite3_bind_text) \
    X(sqlite3_bind_null) X(sqlite3_bind_int64) X(sqlite3_bind_blob) X(sqlite3_column_type) \
    X(sqlite3_column_text) X(sqlite3_column_int64) X(sqlite3_column_bytes) X(sqlite3_column_blob) \
    X(sqlite3_changes) X(sqlite3_last_insert_rowid) X(sqlite3_db_status) X(sqlite3_db_release_memory) \
    X(sqlite3_backup_init) X(sqlite3_backup_step) X(sqlite3_backup_finish)

#define JAM_POINTER(f) static __typeof__(&f) p_##f;
JAM_SQLITE_FUNCTIONS(JAM_POINTER)

// The library is loaded by the first open and unloaded when the last connection closes; both under `lock`.
// Between, every call comes from a thread holding an open connection, so the pointers stay set under it.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *library;
static long connections;
static int pinned;  // a connection that could not be closed at once: the library stays for good
static char failure[512];
static const char *last_failure;

static int load_locked(void) {
    if (library != NULL) return 1;
    library = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "cannot load libsqlite3.so.0 (%s): install SQLite 3 (Debian: apt install libsqlite3-0)",
                 why ? why : "unknown error");
        return 0;
    }
#define JAM_RESOLVE(f)                                                                                        \
    if ((p_##f = (__typeof__(p_##f))dlsym(library, #f)) == NULL) {                                            \
        snprintf(failure, sizeof failure, "libsqlite3.so.0 has no %s: not the SQLite 3 jamdns was built for", #f); \
        dlclose(library);                                                                                     \
        library = NULL;                                                                                       \
        return 0;                                                                                             \
    }
    JAM_SQLITE_FUNCTIONS(JAM_RESOLVE)
    // No memory statistics (jamdns reads none): with them on, every SQLite allocation takes a global mutex,
    // a tenth of the time of a million-record import. Only a library not yet initialized takes this; one that
    // another part of the process had loaded already keeps its setting.
    int (*config)(int, ...) = (int (*)(int, ...))dlsym(library, "sqlite3_config");
    if (config != NULL) config(SQLITE_CONFIG_MEMSTATUS, 0);
    return 1;
}

static void release_locked(void) {
    if (--connections == 0 && !pinned && library != NULL) {
#define JAM_CLEAR(f) p_##f = NULL;
        JAM_SQLITE_FUNCTIONS(JAM_CLEAR)
        dlclose(library);
        library = NULL;
    }
}

const char *jam_sqlite_load_error(void) {
    pthread_mutex_lock(&lock);
    const char *why = last_failure;
    pthread_mutex_unlock(&lock);
    return why;
}

int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs) {
    pthread_mutex_lock(&lock);
    if (!load_locked()) {
        last_failure = failure;
        pthread_mutex_unlock(&lock);
        *db = NULL;
        return SQLITE_CANTOPEN;
    }
    last_failure = NULL;
    connections++;
    int rc = p_sqlite3_open_v2(filename, db, flags, vfs);
    if (*db == NULL) release_locked();  // no handle to close later (out of memory)
    pthread_mutex_unlock(&lock);
    return rc;
}

// Closes a connection whole: its statements are finalized first (a Statement keeps its Database alive). If one
// still is not, the connection is left to close itself (close_v2) and the library is never unloaded.
int sqlite3_close_v2(sqlite3 *db) {
    if (db == NULL) return SQLITE_OK;
    pthread_mutex_lock(&lock);
    int rc = p_sqlite3_close(db);
    if (rc != SQLITE_OK) {
        pinned = 1;
        rc = p_sqlite3_close_v2(db);
    }
    release_locked();
    pthread_mutex_unlock(&lock);
    return rc;
}

const char *sqlite3_errmsg(sqlite3 *db) { return p_sqlite3_errmsg(db); }
int sqlite3_errcode(sqlite3 *db) { return p_sqlite3_errcode(db); }
int sqlite3_extended_result_codes(sqlite3 *db, int onoff) { return p_sqlite3_extended_result_codes(db, onoff); }
int sqlite3_busy_timeout(sqlite3 *db, int ms) { return p_sqlite3_busy_timeout(db, ms); }
int sqlite3_exec(sqlite3 *db, const char *sql, int (*callback)(void *, int, char **, char **), void *arg, char **errmsg) {
    return p_sqlite3_exec(db, sql, callback, arg, errmsg);
}
int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **stmt, const char **tail) {
    return p_sqlite3_prepare_v2(db, sql, n, stmt, tail);
}
int sqlite3_step(sqlite3_stmt *s) { return p_sqlite3_step(s); }
int sqlite3_reset(sqlite3_stmt *s) { return p_sqlite3_reset(s); }
int sqlite3_finalize(sqlite3_stmt *s) { return p_sqlite3_finalize(s); }
int sqlite3_clear_bindings(sqlite3_stmt *s) { return p_sqlite3_clear_bindings(s); }
int sqlite3_bind_text(sqlite3_stmt *s, int i, const char *v, int n, void (*d)(void *)) { return p_sqlite3_bind_text(s, i, v, n, d); }
int sqlite3_bind_null(sqlite3_stmt *s, int i) { return p_sqlite3_bind_null(s, i); }
int sqlite3_bind_int64(sqlite3_stmt *s, int i, sqlite3_int64 v) { return p_sqlite3_bind_int64(s, i, v); }
int sqlite3_bind_blob(sqlite3_stmt *s, int i, const void *v, int n, void (*d)(void *)) { return p_sqlite3_bind_blob(s, i, v, n, d); }
int sqlite3_column_type(sqlite3_stmt *s, int i) { return p_sqlite3_column_type(s, i); }
const unsigned char *sqlite3_column_text(sqlite3_stmt *s, int i) { return p_sqlite3_column_text(s, i); }
sqlite3_int64 sqlite3_column_int64(sqlite3_stmt *s, int i) { return p_sqlite3_column_int64(s, i); }
int sqlite3_column_bytes(sqlite3_stmt *s, int i) { return p_sqlite3_column_bytes(s, i); }
const void *sqlite3_column_blob(sqlite3_stmt *s, int i) { return p_sqlite3_column_blob(s, i); }
int sqlite3_changes(sqlite3 *db) { return p_sqlite3_changes(db); }
sqlite3_int64 sqlite3_last_insert_rowid(sqlite3 *db) { return p_sqlite3_last_insert_rowid(db); }
int sqlite3_db_status(sqlite3 *db, int op, int *cur, int *hi, int reset) { return p_sqlite3_db_status(db, op, cur, hi, reset); }
int sqlite3_db_release_memory(sqlite3 *db) { return p_sqlite3_db_release_memory(db); }
sqlite3_backup *sqlite3_backup_init(sqlite3 *to, const char *toName, sqlite3 *from, const char *fromName) {
    return p_sqlite3_backup_init(to, toName, from, fromName);
}
int sqlite3_backup_step(sqlite3_backup *b, int pages) { return p_sqlite3_backup_step(b, pages); }
int sqlite3_backup_finish(sqlite3_backup *b) { return p_sqlite3_backup_finish(b); }
