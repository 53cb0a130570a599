#define _GNU_SOURCE
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <stddef.h>
#include <malloc.h>
#include "CSys.h"

_Static_assert(sizeof(struct jam_mmsg) == sizeof(struct mmsghdr), "jam_mmsg must match struct mmsghdr");
_Static_assert(offsetof(struct jam_mmsg, len) == offsetof(struct mmsghdr, msg_len), "msg_len offset");

int jam_recvmmsg(int fd, struct jam_mmsg *vec, unsigned int n, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)vec, n, flags, NULL);
}

int jam_sendmmsg(int fd, struct jam_mmsg *vec, unsigned int n, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)vec, n, flags);
}

int jam_set_reuseport(int fd) {
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
}

int jam_set_v6only(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
}

int jam_set_recv_timeout_ms(int fd, int ms) {
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

int jam_malloc_trim(void) {
    return malloc_trim(0);
}

void jam_heap_bytes(size_t *in_use, size_t *free_held) {
    struct mallinfo2 m = mallinfo2();
    *in_use = m.uordblks + m.hblkhd;
    *free_held = m.fordblks;
}
