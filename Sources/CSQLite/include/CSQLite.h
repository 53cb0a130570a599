#ifndef JAMDNS_CSQLITE_H
#define JAMDNS_CSQLITE_H
// SQLite from Debian's libsqlite3, opened while a connection is open rather than linked: a server between
// edits has no connection and so no SQLite mapped (1.2 MB of its RSS). The functions below are SQLite's own
// declarations; CSQLite.c defines each as a call through the loaded library. Hidden: a process that exports
// its symbols (a test runner) must not have libsqlite3's internal calls land in these.
#define SQLITE_API __attribute__((visibility("hidden")))
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro and does not import.
static inline sqlite3_destructor_type jam_sqlite_transient(void) { return SQLITE_TRANSIENT; }

// Why the last sqlite3_open_v2 got no connection when the library itself could not be loaded, else NULL.
const char *jam_sqlite_load_error(void);
#endif
