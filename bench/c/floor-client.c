// The floor for a Lambda runtime: the least a client can do per invocation. One libcurl easy
// handle keeps one connection open (keep-alive) with TCP_NODELAY and, in a loop, sends
// GET /runtime/invocation/next and POSTs `null` to /runtime/invocation/{id}/response. It parses
// nothing but the request id header, and exits when /next fails or returns another status than
// 200.
//
// Build: gcc -O2 -o floor-client floor-client.c -lcurl   (Debian: libcurl4-openssl-dev)
// Run:   AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT floor-client

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char REQUEST_ID_HEADER[] = "Lambda-Runtime-Aws-Request-Id:";

static char request_id[256];

static size_t collect_header(char *line, size_t size, size_t count, void *unused) {
  (void)unused;
  size_t length = size * count;
  size_t name_length = sizeof REQUEST_ID_HEADER - 1;

  if (length > name_length && strncasecmp(line, REQUEST_ID_HEADER, name_length) == 0) {
    const char *value = line + name_length;
    size_t value_length = length - name_length;
    while (value_length > 0 && (*value == ' ')) {
      value++;
      value_length--;
    }
    while (value_length > 0 && (value[value_length - 1] == '\r' || value[value_length - 1] == '\n')) {
      value_length--;
    }
    if (value_length >= sizeof request_id) {
      value_length = sizeof request_id - 1;
    }
    memcpy(request_id, value, value_length);
    request_id[value_length] = '\0';
  }

  return length;
}

static size_t discard_body(char *data, size_t size, size_t count, void *unused) {
  (void)data;
  (void)unused;
  return size * count;
}

int main(void) {
  const char *runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (runtime_api == NULL || runtime_api[0] == '\0') {
    fputs("floor-client: AWS_LAMBDA_RUNTIME_API is missing: set it to host:port\n", stderr);
    return 2;
  }

  char next_url[512];
  char response_url[1024];
  snprintf(next_url, sizeof next_url, "http://%s/2018-06-01/runtime/invocation/next", runtime_api);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);

  struct curl_slist *headers = NULL;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");

  for (;;) {
    request_id[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, next_url);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);

    long status = 0;
    if (curl_easy_perform(curl) != CURLE_OK) {
      break;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 || request_id[0] == '\0') {
      break;
    }

    snprintf(response_url, sizeof response_url, "http://%s/2018-06-01/runtime/invocation/%s/response", runtime_api, request_id);
    curl_easy_setopt(curl, CURLOPT_URL, response_url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "null");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 4L);
    if (curl_easy_perform(curl) != CURLE_OK) {
      break;
    }
  }

  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  curl_global_cleanup();
  return 0;
}
