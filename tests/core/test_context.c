/* tests/core/test_context.c - the per-thread current context and nested scopes. */
#include <pthread.h>
#include <stdlib.h>

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
	ASSERT_OK(sonde_context_detach(&inner));
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 1);
	ASSERT_EQ_INT(sonde_context_detach(&inner), SONDE_ESTATE); /* twice */
	ASSERT_OK(sonde_context_detach(&outer));
	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
	ASSERT_EQ_INT(sonde_context_detach(NULL), SONDE_EINVAL);
	sonde_context_attach(NULL, &a);
	ASSERT_FALSE(sonde_span_context_valid(NULL));
}

/* issue 13.2: out of order, the outer scope is dropped when the inner one
 * goes, and the thread never reads the (freed) scopes again */
TEST(context_out_of_order_detach_then_free)
{
	sonde_context_scope *outer = malloc(sizeof(*outer)), *inner = malloc(sizeof(*inner));
	sonde_span_context a = mk(1), b = mk(2);

	ASSERT_NOT_NULL(outer);
	ASSERT_NOT_NULL(inner);
	sonde_context_attach(outer, &a);
	sonde_context_attach(inner, &b);
	ASSERT_EQ_INT(sonde_context_detach(outer), SONDE_ESTATE); /* left alone */
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 2);
	ASSERT_EQ_INT(sonde_context_detach(outer), SONDE_ESTATE); /* twice */
	memset(outer, 0xee, sizeof(*outer));
	free(outer);
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 2);
	ASSERT_OK(sonde_context_detach(inner));
	free(inner);
	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
}

/* more than SONDE_CONTEXT_DEPTH_MAX: the extra scope is not attached */
TEST(context_depth_limit)
{
	sonde_context_scope s[SONDE_CONTEXT_DEPTH_MAX + 1];
	sonde_span_context a = mk(3), b = mk(4);

	for (int i = 0; i < SONDE_CONTEXT_DEPTH_MAX; i++)
		sonde_context_attach(&s[i], &a);
	sonde_context_attach(&s[SONDE_CONTEXT_DEPTH_MAX], &b);
	ASSERT_EQ_INT(sonde_last_status(), SONDE_ELIMIT);
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 3);
	ASSERT_EQ_INT(sonde_context_detach(&s[SONDE_CONTEXT_DEPTH_MAX]), SONDE_ESTATE);
	for (int i = SONDE_CONTEXT_DEPTH_MAX; i-- > 0;)
		ASSERT_OK(sonde_context_detach(&s[i]));
	ASSERT_FALSE(sonde_span_context_valid(sonde_context_current()));
}

static void *detach_elsewhere(void *arg)
{
	return (void *)(intptr_t)sonde_context_detach(arg);
}

/* issue 13.2: detached on another thread, then freed: the attaching thread
 * keeps a copy of the context, never a pointer into the scope */
TEST(context_detach_on_other_thread_then_free)
{
	sonde_context_scope *s = malloc(sizeof(*s)), inner;
	sonde_span_context a = mk(5), b = mk(6);
	pthread_t t;
	void *st;

	ASSERT_NOT_NULL(s);
	sonde_context_attach(s, &a);
	pthread_create(&t, NULL, detach_elsewhere, s);
	pthread_join(t, &st);
	ASSERT_EQ_INT((int)(intptr_t)st, SONDE_ESTATE);
	memset(s, 0xee, sizeof(*s));
	free(s);
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 5);
	sonde_context_attach(&inner, &b);
	ASSERT_OK(sonde_context_detach(&inner));
	ASSERT_EQ_INT(sonde_context_current()->trace_id[0], 5);
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
