// Typed, non-variadic wrappers around libcurl's variadic option and info functions, which Swift cannot call.
#ifndef SOMNUS_CURL_SHIM_H
#define SOMNUS_CURL_SHIM_H

#include <curl/curl.h>

/// Signature of CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION callbacks.
typedef size_t (*somnus_curl_data_callback)(char *data, size_t size, size_t count, void *context);

CURLcode somnus_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode somnus_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode somnus_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode somnus_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode somnus_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode somnus_curl_easy_setopt_data_callback(CURL *handle, CURLoption option, somnus_curl_data_callback value);
CURLcode somnus_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode somnus_curl_easy_getinfo_certinfo(CURL *handle, struct curl_certinfo **value);
CURLMcode somnus_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

/// Reads the next finished transfer from `multi`. Returns 1 and fills `easy` and `result` when one is available,
/// skips messages of other kinds, and returns 0 when the queue is empty.
int somnus_curl_multi_next_done(CURLM *multi, CURL **easy, CURLcode *result);

#endif
