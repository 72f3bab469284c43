/* tests/expose/test_expose_pb.c - the protobuf exposition and native
 * histograms, read back with Google's protobuf and client_model's
 * metrics.proto (tests/tools/check_pb_expo.py), which also recomputes every
 * native bucket from the observations independently of sonde. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/atomic.h"
#include "metrics/native.h"
#include "test.h"

static uint64_t rs = 88172645463325252ull;
static double urand(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (double)(rs >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
	double u = urand(), v = urand();
	return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static sonde_family *native_family(sonde_registry *r, const char *name, sonde_native_mode mode,
                                   double factor, double zt, uint32_t max_buckets,
                                   const double *bounds, size_t nb, size_t nlabels,
                                   const char *const *labels)
{
	sonde_metric_opts o;
	sonde_family *f;

	sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, name, "native test");
	o.native = mode;
	o.native_bucket_factor = factor;
	o.native_zero_threshold = zt;
	o.native_max_buckets = max_buckets;
	o.buckets = bounds;
	o.bucket_count = nb;
	o.label_count = nlabels;
	o.label_names = labels;
	f = sonde_family_new(r, &o);
	if (!f)
		FAIL("sonde_family_new(%s): %s", name, sonde_last_error());
	return f;
}

static void json_obs(FILE *j, const double *v, size_t n)
{
	size_t i;

	fputs("\"observations\": [", j);
	for (i = 0; i < n; i++)
		fprintf(j, "%s%.17g", i ? "," : "", v[i]);
	fputs("]", j);
}

/* Runs the checker on r's protobuf exposition against the JSON text. */
static void check_decode(sonde_registry *r, const char *json, size_t json_len, const char *expect)
{
	sonde_buf b = SONDE_BUF_INIT;
	const char *argv[] = {SONDE_PYTHON, SONDE_SRC_DIR "/tests/tools/check_pb_expo.py", NULL,
	                      NULL, NULL};
	char *out = NULL;
	int rc;

	if (!sonde_test_have("protoc"))
		FAIL("protoc not found: apt-get install protobuf-compiler libprotobuf-dev "
		     "python3-protobuf golang-github-prometheus-client-model-dev");
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_PROTOBUF, &b));
	argv[2] = sonde_test_tmpfile(0, b.data, b.len);
	argv[3] = sonde_test_tmpfile(1, json, json_len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0)
		FAIL("check_pb_expo.py exit %d:\n%.6000s\n--- expected:\n%.3000s", rc, out, json);
	ASSERT_CONTAINS(out, expect);
	free(out);
	sonde_buf_destroy(&b);
}

#define NOBS 4000

TEST(pb_expose_every_type_decodes_with_client_model)
{
	sonde_registry *r = sonde_registry_new();
	static const char *const lab[] = {"path"};
	static const char *const ex_names[] = {"trace_id"};
	static const char *const ex_vals[] = {"abc123"};
	static const double cb[] = {0.1, 1, 10};
	static const char *const states[] = {"a", "b"};
	sonde_metric_opts o;
	char *json = NULL;
	size_t json_len = 0, i;
	FILE *j = open_memstream(&json, &json_len);
	static double pos[NOBS], mix[NOBS], wide[NOBS];
	sonde_family *cf, *hf, *nf, *mf, *wf, *bf;
	sonde_counter *c;
	sonde_histogram *h, *n1, *n2, *n3, *nb;
	sonde_summary *s;

	ASSERT_NOT_NULL(r);
	/* counter with labels (one value not ASCII) and an exemplar */
	cf = sonde_counter_family_new(r, "req_total", "Requests \"all\"\n", 1, lab);
	ASSERT_NOT_NULL(cf);
	c = sonde_counter_with(cf, "/a");
	sonde_counter_add(c, 5);
	ASSERT_OK(sonde_counter_add_exemplar_labels(c, 2, 1, ex_names, ex_vals));
	sonde_counter_add(sonde_counter_with(cf, "/b\xc3\xa9"), 0.5);
	/* gauge */
	sonde_gauge_set(sonde_gauge_new(r, "temp", NULL), -3.25);
	/* summary */
	s = sonde_summary_new(r, "lat_summary", "s");
	ASSERT_NOT_NULL(s);
	for (i = 1; i <= 100; i++)
		sonde_summary_observe(s, (double)i);
	/* classic histogram with an exemplar on bucket 1 */
	hf = sonde_histogram_family_new(r, "classic_seconds", "c", cb, 3, 0, NULL);
	ASSERT_NOT_NULL(hf);
	h = sonde_histogram_with_n(hf, 0);
	sonde_histogram_observe(h, 0.05);
	sonde_histogram_observe(h, 5);
	sonde_histogram_observe(h, 50);
	ASSERT_OK(sonde_histogram_observe_exemplar_labels(h, 0.5, 1, ex_names, ex_vals));
	/* info and stateset */
	{
		sonde_family *inf = sonde_info_family_new(r, "build", "b", 0, NULL);
		ASSERT_NOT_NULL(inf);
		ASSERT_OK(sonde_info_add(inf, 0, NULL, NULL));
		ASSERT_OK(sonde_stateset_set(sonde_stateset_new(r, "mode", "m", 2, states), "b",
		                             true));
	}
	(void)o;

	/* native: log-normal at schema 3 (factor 1.1) */
	nf = native_family(r, "nat_lognormal", SONDE_NATIVE_ONLY, 0, 0, 0, NULL, 0, 0, NULL);
	n1 = sonde_histogram_with_n(nf, 0);
	for (i = 0; i < NOBS; i++) {
		pos[i] = exp(gauss() * 2 - 3);
		sonde_histogram_observe(n1, pos[i]);
	}
	/* zeros, negatives and a zero threshold of 0.001 at schema 0 */
	mf = native_family(r, "nat_mixed", SONDE_NATIVE_ONLY, 2, 0.001, 0, NULL, 0, 1, lab);
	n2 = sonde_histogram_with(mf, "/x");
	for (i = 0; i < NOBS; i++) {
		double u = urand();
		mix[i] = u < 0.1    ? 0
		         : u < 0.15 ? 0.0004
		         : u < 0.5  ? -exp(gauss())
		                    : exp(gauss() * 3);
		if (i == NOBS - 1) /* the last one with an exemplar */
			ASSERT_OK(sonde_histogram_observe_exemplar_labels(n2, mix[i], 1, ex_names,
			                                                  ex_vals));
		else
			sonde_histogram_observe(n2, mix[i]);
	}
	/* schema 8 over six decades */
	wf = native_family(r, "nat_fine", SONDE_NATIVE_ONLY, 1.003, 0, 255, NULL, 0, 0, NULL);
	n3 = sonde_histogram_with_n(wf, 0);
	for (i = 0; i < NOBS; i++) {
		wide[i] = 1 + urand() * 0.5;
		sonde_histogram_observe(n3, wide[i]);
	}
	/* native + classic */
	bf = native_family(r, "nat_both_seconds", SONDE_NATIVE_AND_CLASSIC, 0, 0, 0, cb, 3, 0,
	                   NULL);
	nb = sonde_histogram_with_n(bf, 0);
	for (i = 0; i < 100; i++)
		sonde_histogram_observe(nb, pos[i]);

	fputs("[\n", j);
	fprintf(j,
	        "{\"name\":\"build_info\",\"type\":\"gauge\",\"help\":\"b\",\"metrics\":[{\"gauge\":1}]},\n");
	fprintf(j,
	        "{\"name\":\"classic_seconds\",\"type\":\"histogram\",\"help\":\"c\",\"metrics\":[{"
	        "\"histogram\":{\"count\":4,\"sum\":55.55,\"buckets\":[[0.1,1],[1,2],[10,3]],"
	        "\"exemplars\":{\"1\":{\"labels\":{\"trace_id\":\"abc123\"},\"value\":0.5}}}}]},\n");
	fprintf(j, "{\"name\":\"lat_summary\",\"type\":\"summary\",\"help\":\"s\",\"metrics\":[{"
	           "\"summary\":{\"count\":100,\"sum\":5050,\"quantiles\":[0.5,0.9,0.99]}}]},\n");
	fprintf(j,
	        "{\"name\":\"mode\",\"type\":\"gauge\",\"help\":\"m\",\"metrics\":["
	        "{\"labels\":{\"mode\":\"a\"},\"gauge\":0},{\"labels\":{\"mode\":\"b\"},\"gauge\":1}]},\n");
	/* native+classic: count and sum of the first 100 */
	{
		uint64_t cum[3] = {0, 0, 0};
		size_t k;
		for (i = 0; i < 100; i++)
			for (k = 0; k < 3; k++)
				cum[k] += pos[i] <= cb[k];
		fprintf(j,
		        "{\"name\":\"nat_both_seconds\",\"type\":\"histogram\",\"help\":\"native test\","
		        "\"metrics\":[{\"native\":{\"schema\":3,\"zero_threshold\":%.17g,",
		        ldexp(1, -128));
		json_obs(j, pos, 100);
		fprintf(j, ",\"classic\":[[0.1,%llu],[1,%llu],[10,%llu]]}}]},\n",
		        (unsigned long long)cum[0], (unsigned long long)cum[1],
		        (unsigned long long)cum[2]);
	}
	fprintf(j,
	        "{\"name\":\"nat_fine\",\"type\":\"histogram\",\"help\":\"native test\",\"metrics\":"
	        "[{\"native\":{\"schema\":8,\"zero_threshold\":%.17g,",
	        ldexp(1, -128));
	json_obs(j, wide, NOBS);
	fputs("}}]},\n", j);
	fprintf(j,
	        "{\"name\":\"nat_lognormal\",\"type\":\"histogram\",\"help\":\"native test\","
	        "\"metrics\":[{\"native\":{\"schema\":3,\"zero_threshold\":%.17g,",
	        ldexp(1, -128));
	json_obs(j, pos, NOBS);
	fputs("}}]},\n", j);
	fputs("{\"name\":\"nat_mixed\",\"type\":\"histogram\",\"help\":\"native test\",\"metrics\":"
	      "[{\"labels\":{\"path\":\"/x\"},\"native\":{\"schema\":0,\"zero_threshold\":0.001,",
	      j);
	json_obs(j, mix, NOBS);
	fprintf(j, ",\"exemplars\":[{\"labels\":{\"trace_id\":\"abc123\"},\"value\":%.17g}]",
	        mix[NOBS - 1]);
	fputs("}}]},\n", j);
	fprintf(j,
	        "{\"name\":\"req_total\",\"type\":\"counter\",\"help\":\"Requests \\\"all\\\"\\n\","
	        "\"metrics\":[{\"labels\":{\"path\":\"/a\"},\"counter\":7,\"exemplar\":"
	        "{\"labels\":{\"trace_id\":\"abc123\"},\"value\":2}},"
	        "{\"labels\":{\"path\":\"/b\\u00e9\"},\"counter\":0.5}]},\n");
	fprintf(j, "{\"name\":\"temp\",\"type\":\"gauge\",\"metrics\":[{\"gauge\":-3.25}]}\n]\n");
	fclose(j);
	check_decode(r, json, json_len, "10 families ok");
	free(json);
	sonde_registry_free(r);
}

/* A narrow bucket limit over a wide range: the histogram lowers its
 * resolution (and the decoded buckets still match Prometheus' definition at
 * the schema it reports). */
TEST(pb_native_bucket_limit_halves_resolution)
{
	sonde_registry *r = sonde_registry_new();
	sonde_family *f =
	        native_family(r, "nat_limit", SONDE_NATIVE_ONLY, 1.01, 0, 20, NULL, 0, 0, NULL);
	sonde_histogram *h = sonde_histogram_with_n(f, 0);
	static double v[NOBS];
	sonde__native_read rd;
	char *json = NULL;
	size_t json_len = 0, i;
	FILE *j;

	for (i = 0; i < NOBS; i++) {
		v[i] = (i & 1 ? -1 : 1) * exp(gauss() * 4);
		sonde_histogram_observe(h, v[i]);
	}
	sonde__fam_lock(f);
	ASSERT_OK(sonde__native_snapshot(&h->c, &rd));
	sonde__fam_unlock(f);
	ASSERT_TRUE(rd.schema < 6); /* 1.01 is schema 6; 20 buckets cannot hold this */
	ASSERT_TRUE(rd.pos.n <= 20);
	ASSERT_TRUE(rd.neg.n <= 20);
	ASSERT_EQ_U64(rd.count, NOBS);
	j = open_memstream(&json, &json_len);
	fprintf(j,
	        "[{\"name\":\"nat_limit\",\"type\":\"histogram\",\"help\":\"native test\","
	        "\"metrics\":[{\"native\":{\"schema\":%d,\"zero_threshold\":%.17g,",
	        (int)rd.schema, rd.zero_threshold);
	json_obs(j, v, NOBS);
	fputs("}}]}]\n", j);
	fclose(j);
	sonde__native_read_free(&rd);
	check_decode(r, json, json_len, "1 families ok");
	free(json);
	sonde_registry_free(r);
}

/* A zero-bucket limit: the zero bucket widens before the resolution drops. */
TEST(pb_native_bucket_limit_widens_zero_bucket)
{
	sonde_registry *r = sonde_registry_new();
	sonde_metric_opts o;
	sonde_family *f;
	sonde_histogram *h;
	sonde__native_read rd;
	size_t i;

	sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, "nat_zw", "z");
	o.native = SONDE_NATIVE_ONLY;
	o.native_bucket_factor = 2; /* schema 0 */
	o.native_max_buckets = 10;
	o.native_max_zero_threshold = 1.0 / 16;
	f = sonde_family_new(r, &o);
	ASSERT_NOT_NULL(f);
	h = sonde_histogram_with_n(f, 0);
	for (i = 0; i < 14; i++)
		sonde_histogram_observe(h, ldexp(1, (int)i - 8)); /* 2^-8 .. 2^5 */
	sonde__fam_lock(f);
	ASSERT_OK(sonde__native_snapshot(&h->c, &rd));
	sonde__fam_unlock(f);
	/* 14 buckets at schema 0 > 10: the zero bucket takes 2^-8..2^-5
	 * (threshold 2^-5 <= 1/16), the rest fits at schema 0 */
	ASSERT_EQ_INT(rd.schema, 0);
	ASSERT_EQ_DBL(rd.zero_threshold, 1.0 / 32);
	ASSERT_EQ_U64(rd.zero_count, 4);
	ASSERT_EQ_U64(rd.count, 14);
	ASSERT_TRUE(rd.pos.n <= 10);
	sonde__native_read_free(&rd);
	sonde_registry_free(r);
}

TEST(pb_native_reset_policy_drops_old_buckets)
{
	sonde_registry *r = sonde_registry_new();
	sonde_metric_opts o;
	sonde_family *f;
	sonde_histogram *h;
	sonde__native_read rd;
	size_t i;

	sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, "nat_reset", "z");
	o.native = SONDE_NATIVE_ONLY;
	o.native_bucket_factor = 2;
	o.native_max_buckets = 4;
	o.native_min_reset_seconds = 1e-9; /* always due */
	f = sonde_family_new(r, &o);
	ASSERT_NOT_NULL(f);
	h = sonde_histogram_with_n(f, 0);
	for (i = 0; i < 4; i++)
		sonde_histogram_observe(h, ldexp(1, (int)i));
	sonde_histogram_observe(h, 1024); /* span 11 > 4: reset */
	sonde__fam_lock(f);
	ASSERT_OK(sonde__native_snapshot(&h->c, &rd));
	sonde__fam_unlock(f);
	ASSERT_EQ_INT(rd.schema, 0);
	ASSERT_EQ_U64(rd.count, 1);
	ASSERT_EQ_DBL(rd.sum, 1024);
	/* a native-only histogram's reads follow its native buckets */
	ASSERT_EQ_U64(sonde_histogram_count(h), 1);
	ASSERT_EQ_DBL(sonde_histogram_sum(h), 1024);
	sonde__native_read_free(&rd);
	sonde_registry_free(r);
}

TEST(pb_native_keys_match_prometheus_bounds)
{
	int32_t s;

	/* bucket k of schema s holds (2^((k-1)/2^s), 2^(k/2^s)]: each upper
	 * bound is in its own bucket, the next double up in the next one */
	for (s = SONDE_NATIVE_SCHEMA_MIN; s <= SONDE_NATIVE_SCHEMA_MAX; s++) {
		int32_t k;
		for (k = -3000; k <= 3000; k += 7) {
			double ub = sonde__native_upper(k, s);
			/* subnormal bounds are not representable exactly */
			if (ub < 0x1p-1000 || isinf(ub))
				continue;
			if (sonde__native_key(ub, s) != k)
				FAIL("schema %d: key(upper(%d) = %a) = %d", s, k, ub,
				     sonde__native_key(ub, s));
			if (sonde__native_key(nextafter(ub, INFINITY), s) != k + 1)
				FAIL("schema %d: key(just above upper(%d)) = %d", s, k,
				     sonde__native_key(nextafter(ub, INFINITY), s));
		}
	}
	/* subnormals, DBL_MAX, client_golang's schema choices */
	ASSERT_EQ_INT(sonde__native_key(5e-324, 0), -1074);
	ASSERT_EQ_INT(sonde__native_key(1.7976931348623157e308, 0), 1024);
	ASSERT_EQ_INT(sonde__native_key(1.7976931348623157e308, 8), 262144);
	ASSERT_EQ_INT(sonde__native_key(5e-324, 8), -1074 * 256);
	ASSERT_EQ_INT(sonde__native_schema_for(1.1), 3);
	ASSERT_EQ_INT(sonde__native_schema_for(2), 0);
	ASSERT_EQ_INT(sonde__native_schema_for(1.0001), 8);
	ASSERT_EQ_INT(sonde__native_schema_for(65536), -4);
	ASSERT_EQ_INT(sonde__native_schema_for(4), -1);
}

/* The hot path's index (one slice-table load, native.h) against the
 * reference definition, for every schema: at each bucket bound, one ulp
 * either side of it, and at random doubles over the whole normal range. */
static int32_t hot_key(const sonde__native_gen *g, double a)
{
	uint64_t b = sonde__dbl_bits(a);
	return (int32_t)sonde__native_gen_key(g, (uint32_t)(b >> 52), b & SONDE__NH_MANT_MASK) -
	       SONDE__NH_KEY_BIAS;
}

TEST(pb_native_hot_path_keys_match_reference)
{
	int32_t s;
	uint64_t checked = 0;

	for (s = SONDE_NATIVE_SCHEMA_MIN; s <= SONDE_NATIVE_SCHEMA_MAX; s++) {
		sonde__native_gen g;
		int32_t k, i;
		memset(&g, 0, sizeof(g));
		sonde__native_gen_key_init(&g, s, 0);
		/* every bound of three binades and of the range's ends */
		for (k = -(1022 << (s > 0 ? s : 0)) + 1; k <= (1023 << (s > 0 ? s : 0)); k++) {
			double ub = sonde__native_upper(k, s), x[3];
			int j;
			if (!(ub >= 0x1p-1021) || ub > 0x1p1023)
				continue;
			x[0] = nextafter(ub, 0);
			x[1] = ub;
			x[2] = nextafter(ub, INFINITY);
			for (j = 0; j < 3; j++, checked++)
				if (hot_key(&g, x[j]) != sonde__native_key_of(x[j], s))
					FAIL("schema %d: hot key(%a) = %d, reference %d", s, x[j],
					     hot_key(&g, x[j]), sonde__native_key_of(x[j], s));
		}
		for (i = 0; i < 200000; i++, checked++) {
			uint64_t b;
			double a;
			rs ^= rs << 13;
			rs ^= rs >> 7;
			rs ^= rs << 17;
			/* exponent field 1..2046: the normal doubles */
			b = ((rs >> 12) & SONDE__NH_MANT_MASK) | (uint64_t)(1 + rs % 2046) << 52;
			a = sonde__bits_dbl(b);
			if (hot_key(&g, a) != sonde__native_key_of(a, s))
				FAIL("schema %d: hot key(%a) = %d, reference %d", s, a,
				     hot_key(&g, a), sonde__native_key_of(a, s));
		}
	}
	ASSERT_TRUE(checked > 2600000);
}

TEST(pb_native_bounds_table_is_generated)
{
	const char *argv[] = {SONDE_PYTHON, SONDE_SRC_DIR "/tests/tools/gen_native_bounds.py",
	                      NULL};
	char *out = NULL, *file = NULL;
	FILE *f = fopen(SONDE_SRC_DIR "/lib/metrics/native_bounds.c", "rb");
	long n;

	ASSERT_NOT_NULL(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	file = calloc(1, (size_t)n + 1);
	ASSERT_EQ_INT((int)fread(file, 1, (size_t)n, f), (int)n);
	fclose(f);
	ASSERT_EQ_INT(sonde_test_run(argv, NULL, &out), 0);
	ASSERT_STREQ(out, file);
	free(out);
	free(file);
}

static void *observer(void *arg)
{
	sonde_histogram *h = arg;
	int i;

	for (i = 0; i < 20000; i++)
		sonde_histogram_observe(h, (i % 7 == 0 ? -1 : 1) * (double)(i % 1000 + 1) * 1e-3);
	return NULL;
}

TEST(pb_native_threads_and_scrapes_agree)
{
	sonde_registry *r = sonde_registry_new();
	sonde_family *f =
	        native_family(r, "nat_mt", SONDE_NATIVE_ONLY, 1.05, 0, 30, NULL, 0, 0, NULL);
	sonde_histogram *h = sonde_histogram_with_n(f, 0);
	pthread_t t[4];
	sonde_buf b = SONDE_BUF_INIT;
	sonde__native_read rd;
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_EQ_INT(pthread_create(&t[i], NULL, observer, h), 0);
	for (i = 0; i < 20; i++)
		ASSERT_OK(sonde_expose(r, SONDE_FORMAT_PROTOBUF, &b));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	sonde__fam_lock(f);
	ASSERT_OK(sonde__native_snapshot(&h->c, &rd));
	sonde__fam_unlock(f);
	ASSERT_EQ_U64(rd.count, 80000);
	ASSERT_EQ_U64(sonde_histogram_count(h), 80000);
	ASSERT_TRUE(rd.pos.n <= 30 && rd.neg.n <= 30);
	sonde__native_read_free(&rd);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* Values that take every path of the observation: the zero bucket, both
 * signs, subnormals and infinities (the slow path), and a range wide enough
 * to overflow an 8-bucket limit again and again. */
static void *wild_observer(void *arg)
{
	sonde_histogram *h = arg;
	int i;

	for (i = 0; i < 20000; i++) {
		double v;
		switch (i % 9) {
		case 0: v = 0; break;
		case 1: v = 5e-320 * (i % 5 + 1); break;
		case 2: v = (i & 1) ? INFINITY : -INFINITY; break;
		default: v = ((i % 3) ? 1 : -1) * ldexp(1 + (i % 17) / 17.0, i % 61 - 30); break;
		}
		sonde_histogram_observe(h, v);
	}
	return NULL;
}

/* Resets, zero-bucket widenings and halvings racing with observers and
 * scrapes (TSan runs this too): nothing is counted twice, every scrape
 * stays within the limit and its count is its buckets' sum. */
TEST(pb_native_resets_race_observers_and_scrapes)
{
	sonde_registry *r = sonde_registry_new();
	sonde_metric_opts o;
	sonde_family *f;
	sonde_histogram *h;
	sonde__native_read rd;
	pthread_t t[3];
	sonde_buf b = SONDE_BUF_INIT;
	int i, s;

	sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, "nat_race", "z");
	o.native = SONDE_NATIVE_ONLY;
	o.native_max_buckets = 8;
	o.native_zero_threshold = -1; /* exact zeros only: subnormals get buckets */
	o.native_max_zero_threshold = 1e-3;
	o.native_min_reset_seconds = 0.0005;
	f = sonde_family_new(r, &o);
	ASSERT_NOT_NULL(f);
	h = sonde_histogram_with_n(f, 0);
	for (i = 0; i < 3; i++)
		ASSERT_EQ_INT(pthread_create(&t[i], NULL, wild_observer, h), 0);
	for (i = 0; i < 30; i++) {
		uint64_t n;
		uint32_t j;
		ASSERT_OK(sonde_expose(r, SONDE_FORMAT_PROTOBUF, &b));
		sonde__fam_lock(f);
		ASSERT_OK(sonde__native_snapshot(&h->c, &rd));
		sonde__fam_unlock(f);
		ASSERT_TRUE(rd.pos.n <= 8 && rd.neg.n <= 8);
		ASSERT_TRUE(rd.count <= 60000);
		n = rd.zero_count;
		for (s = 0; s < 2; s++) {
			const sonde__native_side *sd = s ? &rd.neg : &rd.pos;
			for (j = 0; j < sd->n; j++)
				n += sd->count[j];
		}
		ASSERT_EQ_U64(n, rd.count);
		sonde__native_read_free(&rd);
		sonde_buf_reset(&b);
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

/* A real Prometheus 2.42 (native histograms, exemplar storage) scrapes a
 * native-only histogram with an exemplar over protobuf: it stores the
 * native series and reads the exemplar back (query_exemplars). 2.42's
 * metrics.proto has no Histogram.exemplars, so it finds the exemplar on
 * the +Inf bucket (tried: without that bucket it stores none); field 16
 * itself is checked by Google's protobuf in the test above. */
TEST_TIMEOUT(pb_native_exemplar_read_by_prometheus, 90)
{
	sonde_registry *r = sonde_registry_new();
	static const char *const ex_names[] = {"trace_id"};
	static const char *const ex_vals[] = {"4bf92f3577b34da6a3ce929d0e0e4736"};
	sonde_family *f =
	        native_family(r, "nat_ex_seconds", SONDE_NATIVE_ONLY, 0, 0, 0, NULL, 0, 0, NULL);
	sonde_histogram *h = sonde_histogram_with_n(f, 0);
	const char *argv[] = {SONDE_PYTHON, SONDE_SRC_DIR "/tests/tools/prom_native_exemplar.py",
	                      NULL,         "nat_ex_seconds",
	                      "51",         ex_vals[0],
	                      "0.25",       NULL};
	sonde_buf b = SONDE_BUF_INIT;
	char *out = NULL;
	int i, rc;

	if (!sonde_test_have("/usr/bin/prometheus") || !sonde_test_have("promtool"))
		FAIL("prometheus not found: apt-get install prometheus");
	for (i = 0; i < 50; i++)
		sonde_histogram_observe(h, 0.001 * (i + 1));
	ASSERT_OK(sonde_histogram_observe_exemplar_labels(h, 0.25, 1, ex_names, ex_vals));
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_PROTOBUF, &b));
	argv[2] = sonde_test_tmpfile(0, b.data, b.len);
	rc = sonde_test_run(argv, NULL, &out);
	if (rc != 0 || !strstr(out, " checks, 0 problems"))
		FAIL("prom_native_exemplar.py exit %d:\n%s", rc, out);
	free(out);
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(pb_native_only_text_shows_count_and_sum)
{
	sonde_registry *r = sonde_registry_new();
	sonde_family *f = native_family(r, "nat_txt", SONDE_NATIVE_ONLY, 0, 0, 0, NULL, 0, 0, NULL);
	sonde_histogram *h = sonde_histogram_with_n(f, 0);
	sonde_buf b = SONDE_BUF_INIT;

	sonde_histogram_observe(h, 2);
	sonde_histogram_observe(h, -1);
	ASSERT_OK(sonde_expose(r, SONDE_FORMAT_TEXT, &b));
	ASSERT_CONTAINS(b.data, "nat_txt_bucket{le=\"+Inf\"} 2\n");
	ASSERT_CONTAINS(b.data, "nat_txt_sum 1\n");
	ASSERT_CONTAINS(b.data, "nat_txt_count 2\n");
	sonde_buf_destroy(&b);
	sonde_registry_free(r);
}

TEST(pb_native_options_are_checked)
{
	sonde_registry *r = sonde_registry_new();
	sonde_metric_opts o;
	static const double cb[] = {1};

	sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, "bad_native", "x");
	o.native = (sonde_native_mode)7;
	ASSERT_NULL(sonde_family_new(r, &o));
	ASSERT_EQ_INT(sonde_last_status(), SONDE_EINVAL);
	o.native = SONDE_NATIVE_ONLY;
	o.buckets = cb;
	o.bucket_count = 1;
	ASSERT_NULL(sonde_family_new(r, &o));
	ASSERT_CONTAINS(sonde_last_error(), "no classic buckets");
	o.buckets = NULL;
	o.bucket_count = 0;
	o.native_bucket_factor = 0.5;
	ASSERT_NULL(sonde_family_new(r, &o));
	o.native_bucket_factor = NAN;
	ASSERT_NULL(sonde_family_new(r, &o));
	o.native_bucket_factor = 0;
	o.native_max_buckets = 256;
	ASSERT_NULL(sonde_family_new(r, &o));
	o.native_max_buckets = 0;
	o.native_zero_threshold = INFINITY;
	ASSERT_NULL(sonde_family_new(r, &o));
	o.native_zero_threshold = 0;
	o.native_min_reset_seconds = -1;
	ASSERT_NULL(sonde_family_new(r, &o));
	o.native_min_reset_seconds = 0;
	sonde_metric_opts_init(&o, SONDE_TYPE_COUNTER, "bad_native_total", "x");
	o.native = SONDE_NATIVE_ONLY;
	ASSERT_NULL(sonde_family_new(r, &o));
	ASSERT_CONTAINS(sonde_last_error(), "only for histograms");
	/* NaN is refused and counted; nothing lands in a bucket */
	{
		sonde_histogram *h;
		sonde_metric_opts_init(&o, SONDE_TYPE_HISTOGRAM, "nat_nan", "x");
		o.native = SONDE_NATIVE_ONLY;
		h = sonde_histogram_with_n(sonde_family_new(r, &o), 0);
		ASSERT_NOT_NULL(h);
		sonde_histogram_observe(h, NAN);
		sonde_histogram_observe(h, INFINITY);
		sonde_histogram_observe(h, -INFINITY);
		ASSERT_EQ_U64(sonde_histogram_count(h), 2);
	}
	sonde_registry_free(r);
}

TEST(pb_negotiates_only_when_asked)
{
	sonde_format f;
	const char *ct;
	/* Prometheus 2.42 with --enable-feature=native-histograms */
	const char *prom_native =
	        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
	        "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
	        "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
	        "*/*;q=0.1";
	/* and without it */
	const char *prom = "application/openmetrics-text;version=1.0.0,application/"
	                   "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
	                   "*/*;q=0.1";

	ASSERT_OK(sonde_expose_negotiate(prom_native, SIZE_MAX, &f, &ct));
	ASSERT_EQ_INT(f, SONDE_FORMAT_PROTOBUF);
	ASSERT_STREQ(ct, SONDE_CONTENT_TYPE_PROTOBUF);
	ASSERT_STREQ(sonde_format_content_type(SONDE_FORMAT_PROTOBUF), SONDE_CONTENT_TYPE_PROTOBUF);
	ASSERT_OK(sonde_expose_negotiate(prom, SIZE_MAX, &f, &ct));
	ASSERT_EQ_INT(f, SONDE_FORMAT_OPENMETRICS);
	ASSERT_OK(sonde_expose_negotiate("*/*", SIZE_MAX, &f, &ct));
	ASSERT_EQ_INT(f, SONDE_FORMAT_TEXT);
	ASSERT_OK(sonde_expose_negotiate("application/*", SIZE_MAX, &f, &ct));
	ASSERT_EQ_INT(f, SONDE_FORMAT_TEXT);
	/* other encodings or messages are not served: the next range wins */
	ASSERT_OK(sonde_expose_negotiate("application/vnd.google.protobuf;proto=io.prometheus."
	                                 "client.MetricFamily;encoding=text,text/plain;q=0.5",
	                                 SIZE_MAX, &f, &ct));
	ASSERT_EQ_INT(f, SONDE_FORMAT_TEXT);
	ASSERT_OK(sonde_expose_negotiate("application/vnd.google.protobuf;proto=other;"
	                                 "encoding=delimited",
	                                 SIZE_MAX, &f, &ct));
	ASSERT_EQ_INT(f, SONDE_FORMAT_TEXT);
	/* q decides: OpenMetrics preferred over protobuf */
	ASSERT_OK(sonde_expose_negotiate("application/vnd.google.protobuf;proto=io.prometheus."
	                                 "client.MetricFamily;encoding=delimited;q=0.5,"
	                                 "application/openmetrics-text",
	                                 SIZE_MAX, &f, &ct));
	ASSERT_EQ_INT(f, SONDE_FORMAT_OPENMETRICS);
	/* sonde_expose_http serves it */
	{
		sonde_registry *r = sonde_registry_new();
		sonde_buf b = SONDE_BUF_INIT;
		sonde_expose_result res;
		sonde_counter_inc(sonde_counter_new(r, "x_total", "x"));
		ASSERT_OK(sonde_expose_http(r, prom_native, NULL, &b, &res));
		ASSERT_EQ_INT(res.format, SONDE_FORMAT_PROTOBUF);
		ASSERT_STREQ(res.content_type, SONDE_CONTENT_TYPE_PROTOBUF);
		ASSERT_TRUE(b.len > 2 && (size_t)(unsigned char)b.data[0] == b.len - 1);
		sonde_buf_destroy(&b);
		sonde_registry_free(r);
	}
}
