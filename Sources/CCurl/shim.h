#ifndef JAMDNS_CURL_SHIM_H
#define JAMDNS_CURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt/getinfo are variadic, which Swift cannot call: one typed wrapper per argument kind.
static inline CURLcode jam_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode jam_curl_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode jam_curl_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode jam_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode jam_curl_setopt_write(CURL *h, CURLoption o, curl_write_callback f) { return curl_easy_setopt(h, o, f); }
static inline CURLcode jam_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *l) { return curl_easy_setopt(h, o, l); }
static inline CURLcode jam_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
#endif
