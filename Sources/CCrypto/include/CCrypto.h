#ifndef JAMDNS_CCRYPTO_H
#define JAMDNS_CCRYPTO_H
#include <stddef.h>

// The three things TSIG needs from OpenSSL 3's libcrypto (Debian's libssl-dev, the crypto stack libcurl
// already loads), with the library opened on first use instead of linked: a server without TSIG keys never
// maps it (1.4 MB of RSS at start, 0.4 MB of it relocated data). CCrypto.c checks each function against
// OpenSSL's own prototype.

// NULL once libcrypto is loaded (loads it the first time), else why it cannot be: the file and the fix.
const char *jam_crypto_load(void);
// HMAC of data under key with the named digest ("SHA256"), by EVP_Q_mac: 1 with *written set, 0 on failure
// (libcrypto missing, or the digest refused, as a FIPS build refuses MD5).
int jam_crypto_hmac(const char *digest, const void *key, size_t key_length, const void *data, size_t data_length,
                    unsigned char *out, size_t out_size, size_t *written);
// CRYPTO_memcmp: 0 when equal, in time that does not depend on the bytes; non-zero when libcrypto is missing.
int jam_crypto_memcmp(const void *a, const void *b, size_t length);
// RAND_bytes from OpenSSL's generator: 1 on success.
int jam_crypto_random(unsigned char *out, int length);
#endif
