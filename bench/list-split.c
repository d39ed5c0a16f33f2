/*
 * list-split.c — where a list's time goes on the client's side: each call of ListContainers or
 * ListPodSandbox (no filter) is timed twice, the raw call (request out, every response byte in:
 * the daemon's work and the transfer) and then protobuf-c's unpack and free of those bytes (what
 * litecri-bench's typed call adds).  litecri-bench times the two together; bench/lists.sh runs
 * this after it.
 *
 *   list-split ENDPOINT ListContainers|ListPodSandbox CALLS
 *
 * Prints one line: rpc, calls, the response's bytes and items, and p50/p90 in µs of the raw
 * call, of the decode, and of both.  A failed call or a response that does not decode exits 1.
 */
#include <grpc/grpc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "client/cri_client.h"

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p of v[0..n) (sorted here), in µs. */
static long long pct(int64_t *v, size_t n, int p)
{
	qsort(v, n, sizeof *v, cmp);
	size_t k = (n * (size_t)p + 99) / 100;
	return (long long)(v[k ? k - 1 : 0] / 1000);
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[2], "ListContainers") && strcmp(argv[2], "ListPodSandbox")) || atoi(argv[3]) < 1) {
		fprintf(stderr, "usage: %s ENDPOINT ListContainers|ListPodSandbox CALLS\n", argv[0]);
		return 2;
	}
	int ctrs = !strcmp(argv[2], "ListContainers");
	size_t calls = (size_t)atoi(argv[3]);
	const ProtobufCMessageDescriptor *d =
		ctrs ? &runtime__v1__list_containers_response__descriptor : &runtime__v1__list_pod_sandbox_response__descriptor;
	char method[64];
	snprintf(method, sizeof method, "/runtime.v1.RuntimeService/%s", argv[2]);
	grpc_init();
	struct cri_client *cl = cri_client_new(argv[1]);
	int64_t *raw = calloc(calls, sizeof *raw), *dec = calloc(calls, sizeof *dec), *sum = calloc(calls, sizeof *sum);
	if (!cl || !raw || !dec || !sum) {
		fprintf(stderr, "list-split: out of memory\n");
		return 1;
	}
	size_t bytes = 0, items = 0;
	for (size_t i = 0; i < calls + 5; i++) { /* the first 5: warmup */
		void *resp = NULL;
		size_t len = 0;
		char *details = NULL;
		int64_t t0 = now_ns();
		grpc_status_code st = cri_client_call_raw(cl, method, "", 0, &resp, &len, &details, 60000);
		int64_t t1 = now_ns();
		if (st != GRPC_STATUS_OK) {
			fprintf(stderr, "list-split: %s: %s: %s\n", argv[2], cri_status_name(st), details ? details : "");
			return 1;
		}
		ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, resp);
		if (!m) {
			fprintf(stderr, "list-split: the %s response (%zu bytes) does not decode\n", argv[2], len);
			return 1;
		}
		items = ctrs ? ((Runtime__V1__ListContainersResponse *)m)->n_containers
			     : ((Runtime__V1__ListPodSandboxResponse *)m)->n_items;
		protobuf_c_message_free_unpacked(m, NULL);
		int64_t t2 = now_ns();
		free(resp);
		free(details);
		bytes = len;
		if (i >= 5) {
			raw[i - 5] = t1 - t0;
			dec[i - 5] = t2 - t1;
			sum[i - 5] = t2 - t0;
		}
	}
	printf("rpc=%s calls=%zu bytes=%zu items=%zu raw_p50_us=%lld raw_p90_us=%lld decode_p50_us=%lld "
	       "decode_p90_us=%lld both_p50_us=%lld both_p90_us=%lld\n",
	       argv[2], calls, bytes, items, pct(raw, calls, 50), pct(raw, calls, 90), pct(dec, calls, 50),
	       pct(dec, calls, 90), pct(sum, calls, 50), pct(sum, calls, 90));
	cri_client_free(cl);
	grpc_shutdown();
	free(raw);
	free(dec);
	free(sum);
	return 0;
}
