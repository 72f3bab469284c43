/* tests/core/test_instance.c - two copies of libsonde in one process are
 * reported by the later one (issue 13.17): this test binary holds a static
 * copy (the library's objects linked in, as a host links libsonde.a), and
 * the test loads the shared library beside it, then a second shared copy
 * under another file name, each with RTLD_LOCAL as Python's ctypes does. */
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include "sonde.h"
#include "test.h"

#define SHARED_LIB SONDE_VARIANT_DIR "/../libsonde.so"

typedef struct copy {
	void *h;
	int (*check)(void);
	const char *(*last_error)(void);
	int (*expose)(sonde_registry *, sonde_format, sonde_buf *);
	void (*buf_destroy)(sonde_buf *);
} copy;

static void load(copy *c, const char *path)
{
	c->h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!c->h)
		FAIL("dlopen %s: %s (build it with `make`)", path, dlerror());
	/* right after dlopen, on the loading thread: the copy's last error */
	c->last_error = (const char *(*)(void))dlsym(c->h, "sonde_last_error");
	c->check = (int (*)(void))dlsym(c->h, "sonde_instance_check");
	c->expose =
	        (int (*)(sonde_registry *, sonde_format, sonde_buf *))dlsym(c->h, "sonde_expose");
	c->buf_destroy = (void (*)(sonde_buf *))dlsym(c->h, "sonde_buf_destroy");
	if (!c->last_error || !c->check || !c->expose || !c->buf_destroy)
		FAIL("%s lacks sonde_instance_check or another symbol", path);
}

/* The copy's default registry, as text (its own sonde_expose). */
static char *page(copy *c)
{
	sonde_buf b = SONDE_BUF_INIT;
	char *s;

	ASSERT_EQ_INT(c->expose(NULL, SONDE_FORMAT_TEXT, &b), SONDE_OK);
	s = strdup(b.data);
	c->buf_destroy(&b);
	return s;
}

/* Copies the file at src to dst (a second copy of the shared library under
 * another name: dlopen of the same path would return the first one). */
static void copy_file(const char *src, const char *dst)
{
	char buf[65536];
	ssize_t n;
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	if (in < 0 || out < 0)
		FAIL("copy %s -> %s failed", src, dst);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			FAIL("write %s failed", dst);
	close(in);
	close(out);
}

TEST(second_library_copy_reports_itself)
{
	copy a, b;
	char tmpl[] = "/tmp/sonde-instance-XXXXXX", path[64];
	char *s;
	sonde_buf mine = SONDE_BUF_INIT;

	/* the static copy of this binary was the only one when it loaded */
	ASSERT_EQ_INT(sonde_instance_check(), SONDE_OK);

	load(&a, SHARED_LIB);
	ASSERT_CONTAINS(a.last_error(), "another copy of libsonde (0.1.0, in the program)");
	ASSERT_CONTAINS(a.last_error(), "libsonde.so");
	ASSERT_EQ_INT(a.check(), SONDE_ESTATE);
	s = page(&a);
	ASSERT_CONTAINS(s, "\nsonde_duplicate_instances_total 1\n");
	free(s);

	/* a third copy, shared again, under another file name: two others */
	ASSERT_TRUE(mkdtemp(tmpl) != NULL);
	snprintf(path, sizeof(path), "%s/libsonde-copy.so", tmpl);
	copy_file(SHARED_LIB, path);
	load(&b, path);
	unlink(path);
	rmdir(tmpl);
	ASSERT_CONTAINS(b.last_error(), "another copy of libsonde");
	ASSERT_CONTAINS(b.last_error(), "libsonde-copy.so");
	ASSERT_EQ_INT(b.check(), SONDE_ESTATE);
	s = page(&b);
	ASSERT_CONTAINS(s, "\nsonde_duplicate_instances_total 2\n");
	free(s);

	/* the first copy is not told (documented) and keeps a clean page */
	ASSERT_EQ_INT(sonde_instance_check(), SONDE_OK);
	ASSERT_EQ_INT(sonde_expose(NULL, SONDE_FORMAT_TEXT, &mine), SONDE_OK);
	ASSERT_NOT_CONTAINS(mine.data, "sonde_duplicate_instances_total");
	sonde_buf_destroy(&mine);
}
