#include "CCrypto.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>

#define JAM_STR2(x) #x
#define JAM_STR(x) JAM_STR2(x)
// The SONAME of the libcrypto these headers describe: libcrypto.so.3 for every OpenSSL 3.x.
#define JAM_CRYPTO_SONAME "libcrypto.so." JAM_STR(OPENSSL_SHLIB_VERSION)

// Typed from OpenSSL's declarations, so a header that changed a signature fails the build here.
static __typeof__(&EVP_Q_mac) q_mac;
static __typeof__(&CRYPTO_memcmp) crypto_memcmp;
static __typeof__(&RAND_bytes) rand_bytes;
static char failure[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    // RTLD_LOCAL: nothing else resolves against it; a process that has it already (libcurl) gets the same copy.
    void *lib = dlopen(JAM_CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "cannot load %s for TSIG (%s): install OpenSSL 3 (Debian: apt install libssl3)",
                 JAM_CRYPTO_SONAME, why ? why : "unknown error");
        return;
    }
    void *mac = dlsym(lib, "EVP_Q_mac"), *cmp = dlsym(lib, "CRYPTO_memcmp"), *rnd = dlsym(lib, "RAND_bytes");
    if (mac == NULL || cmp == NULL || rnd == NULL) {
        snprintf(failure, sizeof failure, "%s has no %s: TSIG needs OpenSSL 3.0 or newer", JAM_CRYPTO_SONAME,
                 mac == NULL ? "EVP_Q_mac" : cmp == NULL ? "CRYPTO_memcmp" : "RAND_bytes");
        return;
    }
    q_mac = (__typeof__(q_mac))mac;
    crypto_memcmp = (__typeof__(crypto_memcmp))cmp;
    rand_bytes = (__typeof__(rand_bytes))rnd;
}

const char *jam_crypto_load(void) {
    pthread_once(&once, load);
    return q_mac != NULL ? NULL : failure;
}

int jam_crypto_hmac(const char *digest, const void *key, size_t key_length, const void *data, size_t data_length,
                    unsigned char *out, size_t out_size, size_t *written) {
    if (jam_crypto_load() != NULL) return 0;
    return q_mac(NULL, "HMAC", NULL, digest, NULL, key, key_length, data, data_length, out, out_size, written) != NULL;
}

int jam_crypto_memcmp(const void *a, const void *b, size_t length) {
    if (jam_crypto_load() != NULL) return 1;
    return crypto_memcmp(a, b, length);
}

int jam_crypto_random(unsigned char *out, int length) {
    if (jam_crypto_load() != NULL) return 0;
    return rand_bytes(out, length);
}
