#ifndef JAMDNS_CRYPTO_SHIM_H
#define JAMDNS_CRYPTO_SHIM_H
// OpenSSL 3's libcrypto: the crypto stack libcurl already loads, so the process has one.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#endif
