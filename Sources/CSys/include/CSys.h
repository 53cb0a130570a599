#ifndef JAMDNS_CSYS_H
#define JAMDNS_CSYS_H
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

// Glibc's Swift module hides recvmmsg/sendmmsg (they need _GNU_SOURCE, which clashes with Glibc's own
// headers in a package build), so they are wrapped in a .c file compiled with _GNU_SOURCE.
struct jam_mmsg {
    struct msghdr hdr;
    unsigned int len;
};

int jam_recvmmsg(int fd, struct jam_mmsg *vec, unsigned int n, int flags);
int jam_sendmmsg(int fd, struct jam_mmsg *vec, unsigned int n, int flags);
int jam_set_reuseport(int fd);
int jam_set_v6only(int fd);
int jam_set_recv_timeout_ms(int fd, int ms);
// malloc_trim(0): glibc's malloc.h is not in the Swift Glibc module.
int jam_malloc_trim(void);
// mallinfo2(), every arena: bytes allocated (heap and mmap) and bytes free but held by malloc.
void jam_heap_bytes(size_t *in_use, size_t *free_held);
#include <stdint.h>
// Relaxed atomic counters for metrics: each thread mostly writes its own block, the scraper reads them all.
static inline void jam_counter_add(uint64_t *p, uint64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline uint64_t jam_counter_load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
#endif
