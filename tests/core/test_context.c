/* tests/core/test_context.c - the per-thread current context and nested scopes. */
#include <pthread.h>

#include "sonde.h"
#include "test.h"

static sonde_span_context mk(uint8_t b)
{
	sonde_span_context c;
	memset(&c, 0, sizeof(c));
	memset(c.trace_id, b, sizeof(c.trace_id));
	memset(c.span_id, b, sizeof(c.span_id));
	c.trace_flags = SONDE_TRACE_FLAG_SAMPLED;
	return c;
}

TEST(context_nested_scopes_restore)
{
	sonde_context_scope outer, inner;
	sonde_span_context a = mk(1), b = mk(2);

	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
	sonde_context_attach(&outer, &a);
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 1);
	sonde_context_attach(&inner, &b);
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 2);
	/* out of order: refused, nothing changes */
	ASSERT_EQ_INT(sonde_context_detach(&outer), SONDE_ESTATE);
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 2);
	ASSERT_OK(sonde_context_detach(&inner));
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 1);
	ASSERT_EQ_INT(sonde_context_detach(&inner), SONDE_ESTATE);
	ASSERT_OK(sonde_context_detach(&outer));
	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
	ASSERT_EQ_INT(sonde_context_detach(NULL), SONDE_EINVAL);
	sonde_context_attach(NULL, &a);
	ASSERT_FALSE(sonde_span_context_valid(NULL));
}

static void *other_thread(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)sonde_span_context_valid(sonde_context_current());
}

TEST(context_is_per_thread)
{
	sonde_context_scope s;
	sonde_span_context a = mk(7);
	pthread_t t;
	void *seen;

	sonde_context_attach(&s, &a);
	pthread_create(&t, NULL, other_thread, NULL);
	pthread_join(t, &seen);
	ASSERT_TRUE(seen == NULL);
	ASSERT_OK(sonde_context_detach(&s));
}
