/*
 * tests/integration/test_crash.c - the crash flush (issue 20): processes
 * that die by a signal, run as children, leave every record in their
 * file, the kept debug records before the error, and one crash record;
 * the exit status still names the signal; a handler installed before
 * sonde's still runs.
 *
 * Under AddressSanitizer (ThreadSanitizer), the sanitizer's own SIGSEGV
 * handler is the one sonde chains to: it reports and exits with status 1
 * (66) instead of dying by the signal, so there the status check is that
 * one. TSan's handler, entered by two faulting threads at once, does not
 * return: that test is left to the other builds.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sonde.h"
#include "sonde/log.h"
#include "test.h"

#define EXAMPLES_DIR SONDE_VARIANT_DIR "/examples"

#define slurp sonde_test_read_file
#define count sonde_test_count

/* The line (its start) that contains needle, or NULL. */
static const char *line_of(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (!p)
		return NULL;
	while (p > hay && p[-1] != '\n')
		p--;
	return p;
}

static void tmp_path(char *out, size_t cap, const char *tag)
{
	snprintf(out, cap, "/tmp/sonde-crash-%s-%d.log", tag, (int)getpid());
	unlink(out);
}

/* Runs sonde-crash-example FILE N MODE; its wait status. */
static int run_example(const char *file, int n, const char *mode)
{
	char ns[16];
	pid_t pid;
	int st = 0;

	snprintf(ns, sizeof(ns), "%d", n);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2); /* ASan's report, the shell's notice */
		execl(EXAMPLES_DIR "/sonde-crash-example", "sonde-crash-example", file, ns, mode,
		      (char *)NULL);
		_exit(127);
	}
	ASSERT_TRUE(pid > 0);
	ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
	return st;
}

static void assert_died_by(int st, int sig)
{
	/* the sanitizers handle SIGSEGV, SIGBUS and SIGFPE by default (not
	 * SIGILL or SIGABRT): their handler, chained after ours, exits */
#if defined(__SANITIZE_ADDRESS__)
	if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE) {
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1);
		return;
	}
#elif defined(__SANITIZE_THREAD__)
	if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE) {
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 66);
		return;
	}
#endif
	if (!WIFSIGNALED(st))
		FAIL("status %#x: not killed by a signal (want %d)", st, sig);
	ASSERT_EQ_INT(WTERMSIG(st), sig);
}

/* Every info record, the error, the kept debug records (the last 128 of
 * n) before it, and the crash record naming the signal. */
static void check_example_file(const char *path, int n, const char *signame)
{
	char *text = slurp(path), want[96];
	const char *err, *crash, *first_kept, *last_step;
	int i, kept = n < 128 ? n : 128;

	ASSERT_NOT_NULL(text);
	ASSERT_EQ_INT(count(text, "\"message\":\"step\""), n);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want),
		         "\"message\":\"step\",\"service\":\"crash-example\",\"i\":%d,", i);
		if (!strstr(text, want))
			FAIL("step %d is missing", i);
	}
	ASSERT_EQ_INT(count(text, "\"_replayed\":true"), kept);
	ASSERT_EQ_INT(count(text, "\"message\":\"detail\""), kept);
	snprintf(
	        want, sizeof(want),
	        "\"message\":\"detail\",\"service\":\"crash-example\",\"i\":%d,\"_replayed\":true}",
	        n - kept);
	first_kept = line_of(text, want);
	ASSERT_NOT_NULL(first_kept);
	err = line_of(text, "\"message\":\"giving up\"");
	ASSERT_NOT_NULL(err);
	snprintf(want, sizeof(want), "\"i\":%d,", n - 1);
	last_step = line_of(text, want);
	/* the kept records come before the error, after the steps */
	ASSERT_TRUE(first_kept < err);
	ASSERT_TRUE(last_step && last_step < first_kept);
	ASSERT_CONTAINS(first_kept, "\"level\":\"debug\"");
	crash = line_of(text, "\"message\":\"crash\"");
	ASSERT_NOT_NULL(crash);
	ASSERT_TRUE(crash > err);
	snprintf(want, sizeof(want), "\"signal\":\"%s\"", signame);
	ASSERT_CONTAINS(crash, want);
	ASSERT_CONTAINS(crash, "\"backtrace\":[\"0x");
	ASSERT_CONTAINS(crash, "\"records_skipped\":0");
	free(text);
}

TEST(crash_example_segv_flushes_everything)
{
	char path[128];

	tmp_path(path, sizeof(path), "segv");
	assert_died_by(run_example(path, 1000, "segv"), SIGSEGV);
	check_example_file(path, 1000, "SIGSEGV");
	{
		char *text = slurp(path);
		ASSERT_NOT_NULL(text);
		ASSERT_CONTAINS(text, "\"fault_address\":\"0x8\"");
		free(text);
	}
	unlink(path);
}

TEST(crash_example_abort_flushes_everything)
{
	char path[128];

	tmp_path(path, sizeof(path), "abort");
	assert_died_by(run_example(path, 1000, "abort"), SIGABRT);
	check_example_file(path, 1000, "SIGABRT");
	unlink(path);
}

TEST(crash_example_few_records)
{
	char path[128];

	tmp_path(path, sizeof(path), "few");
	assert_died_by(run_example(path, 3, "segv"), SIGSEGV);
	check_example_file(path, 3, "SIGSEGV");
	unlink(path);
}

/* ---- in-process children ------------------------------------------------------------- */

static char marker_path[160];

/* The host's own crash handler, installed before sonde's: it leaves a
 * mark, then dies the default way (as crash reporters do). */
static void host_handler(int sig)
{
	int fd = open(marker_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct sigaction dfl;

	if (fd >= 0) {
		if (write(fd, "host", 4) != 4) {
			/* nothing to do in a handler */
		}
		close(fd);
	}
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static int cb_lines(void *ctx, sonde_log_level level, const char *line, size_t len)
{
	(void)ctx, (void)level, (void)line, (void)len;
	return 0;
}

static sonde_logger *file_logger(const char *path, bool with_callback)
{
	sonde_log_sink *s[2];
	sonde_log_opts o;
	sonde_logger *l;

	s[0] = sonde_log_sink_file(path, NULL);
	s[1] = with_callback ? sonde_log_sink_callback(cb_lines, NULL, NULL) : NULL;
	if (!s[0] || (with_callback && !s[1]))
		_exit(90);
	sonde_log_opts_init(&o, "crash-test");
	o.level_env = "";
	o.sinks = s;
	o.sink_count = with_callback ? 2 : 1;
	l = sonde_logger_new(&o);
	sonde_log_sink_free(s[0]);
	sonde_log_sink_free(s[1]);
	if (!l)
		_exit(91);
	return l;
}

/* A write into the unmapped page at 0, as through a member of a NULL
 * struct pointer (not NULL itself, which UBSan would stop first). */
static void segv_now(void)
{
	volatile uintptr_t near_null = 8;
	*(volatile int *)near_null = 7;
}

static int wait_child(pid_t pid)
{
	int st = 0;

	ASSERT_TRUE(pid > 0);
	ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
	return st;
}

/* the handler installed before sonde's runs after the flush, and the
 * process still dies by the signal; callback sinks are skipped, counted */
TEST(crash_chains_to_the_previous_handler)
{
	char path[128];
	char *text, *mark;
	pid_t pid;
	int st;

	tmp_path(path, sizeof(path), "chain");
	snprintf(marker_path, sizeof(marker_path), "%s.mark", path);
	unlink(marker_path);
	pid = fork();
	if (pid == 0) {
		struct sigaction sa;
		sonde_logger *l;
		int i;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = host_handler;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, NULL);
		l = file_logger(path, true);
		if (sonde_log_crash_flush_enable() != SONDE_OK || !sonde_log_crash_flush_enabled())
			_exit(92);
		for (i = 0; i < 200; i++)
			LOG_WARN(l, "before the fault", LOG_INT("n", i));
		segv_now();
		_exit(93);
	}
	st = wait_child(pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ_INT(WTERMSIG(st), SIGSEGV);
	mark = slurp(marker_path);
	ASSERT_NOT_NULL(mark);
	ASSERT_STREQ(mark, "host");
	text = slurp(path);
	ASSERT_NOT_NULL(text);
	ASSERT_EQ_INT(count(text, "\"message\":\"before the fault\""), 200);
	ASSERT_CONTAINS(text, "\"signal\":\"SIGSEGV\"");
	/* the records the backend had not written were skipped on the
	 * callback sink; the ones it had written were not */
	ASSERT_CONTAINS(text, "\"callback_records_skipped\":");
	free(text);
	free(mark);
	unlink(path);
	unlink(marker_path);
}

/* Real faults for each signal: SIGSEGV (above), SIGBUS (a mapped file
 * page past the file's end), SIGILL (ud2), SIGFPE (a hardware integer
 * division by zero), SIGABRT (abort). */
static void fault(int sig)
{
	switch (sig) {
	case SIGBUS: {
		char tmpl[] = "/tmp/sonde-crash-bus-XXXXXX";
		int fd = mkstemp(tmpl);
		volatile char *p;

		if (fd < 0 || ftruncate(fd, 4096) != 0)
			_exit(95);
		p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		unlink(tmpl);
		if (p == MAP_FAILED || ftruncate(fd, 0) != 0)
			_exit(96);
		p[100] = 1; /* the page is past the (now empty) file's end */
		break;
	}
	case SIGILL: __builtin_trap(); break;
	case SIGFPE:
#if defined(__x86_64__)
		__asm__ volatile("xor %%ecx, %%ecx\n\tdiv %%ecx" : : : "eax", "ecx", "edx");
#else
		raise(SIGFPE);
#endif
		break;
	case SIGABRT: abort();
	default: segv_now();
	}
	_exit(97);
}

TEST(crash_every_signal_flushes_and_dies_by_it)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	static const char *const names[] = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"};
	size_t i;

	for (i = 0; i < 5; i++) {
		char path[128], want[64], tag[16];
		char *text;
		pid_t pid;

		snprintf(tag, sizeof(tag), "sig%d", sigs[i]);
		tmp_path(path, sizeof(path), tag);
		pid = fork();
		if (pid == 0) {
			sonde_logger *l = file_logger(path, false);
			int k;

			if (sonde_log_crash_flush_enable() != SONDE_OK)
				_exit(92);
			for (k = 0; k < 300; k++)
				LOG_INFO(l, "before", LOG_INT("k", k));
			fault(sigs[i]);
		}
		assert_died_by(wait_child(pid), sigs[i]);
		text = slurp(path);
		ASSERT_NOT_NULL(text);
		ASSERT_EQ_INT(count(text, "\"message\":\"before\""), 300);
		snprintf(want, sizeof(want), "\"signal\":\"%s\"", names[i]);
		if (!strstr(text, want))
			FAIL("%s: no crash record naming it", names[i]);
		free(text);
		unlink(path);
	}
}

/* disable puts the previous handler back: no crash record then */
TEST(crash_flush_disable_restores)
{
	char path[128];
	char *text;
	pid_t pid;
	int st;

	tmp_path(path, sizeof(path), "off");
	pid = fork();
	if (pid == 0) {
		sonde_logger *l = file_logger(path, false);
		if (sonde_log_crash_flush_enable() != SONDE_OK ||
		    sonde_log_crash_flush_enable() != SONDE_OK || /* idempotent */
		    sonde_log_crash_flush_disable() != SONDE_OK || sonde_log_crash_flush_enabled())
			_exit(92);
		LOG_INFO(l, "written by the backend");
		if (sonde_log_flush() != SONDE_OK)
			_exit(94);
		raise(SIGABRT);
		_exit(93);
	}
	st = wait_child(pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ_INT(WTERMSIG(st), SIGABRT);
	text = slurp(path);
	ASSERT_NOT_NULL(text);
	ASSERT_CONTAINS(text, "written by the backend");
	ASSERT_NOT_CONTAINS(text, "\"message\":\"crash\"");
	free(text);
	unlink(path);
}

#if !defined(__SANITIZE_THREAD__)
static pthread_barrier_t both;

static void *crash_thread(void *arg)
{
	sonde_logger *l = arg;

	LOG_ERROR(l, "thread about to fault");
	pthread_barrier_wait(&both);
	segv_now();
	return NULL;
}

/* two threads fault together: one flushes, the other waits for it; the
 * process dies by SIGSEGV, with no hang (the test's timeout) */
TEST(crash_two_threads_at_once)
{
	char path[128];
	char *text;
	pid_t pid;
	int st;

	tmp_path(path, sizeof(path), "two");
	pid = fork();
	if (pid == 0) {
		sonde_logger *l = file_logger(path, false);
		pthread_t t[2];
		int i;

		if (sonde_log_crash_flush_enable() != SONDE_OK)
			_exit(92);
		pthread_barrier_init(&both, NULL, 2);
		for (i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, crash_thread, l);
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
		_exit(93);
	}
	st = wait_child(pid);
	assert_died_by(st, SIGSEGV);
	text = slurp(path);
	ASSERT_NOT_NULL(text);
	ASSERT_EQ_INT(count(text, "\"message\":\"thread about to fault\""), 2);
	ASSERT_TRUE(count(text, "\"message\":\"crash\"") >= 1);
	free(text);
	unlink(path);
}
#endif

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
static volatile int stop_depth = -1; /* never reached: the stack ends first */

static int depth(int n)
{
	volatile char pad[512];

	pad[0] = (char)n;
	if (n == stop_depth)
		return 0;
	return depth(n + 1) + pad[0];
}

static void *overflow_thread(void *arg)
{
	sonde_logger *l = arg;

	LOG_INFO(l, "recursing"); /* the thread's first log call: its alt stack */
	return (void *)(intptr_t)depth(0);
}

/* a stack overflow runs the handler on the thread's alternate stack */
TEST(crash_stack_overflow_uses_the_alternate_stack)
{
	char path[128];
	char *text;
	pid_t pid;
	int st;

	tmp_path(path, sizeof(path), "overflow");
	pid = fork();
	if (pid == 0) {
		sonde_logger *l = file_logger(path, false);
		pthread_t t;

		if (sonde_log_crash_flush_enable() != SONDE_OK)
			_exit(92);
		pthread_create(&t, NULL, overflow_thread, l);
		pthread_join(t, NULL);
		_exit(93);
	}
	st = wait_child(pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ_INT(WTERMSIG(st), SIGSEGV);
	text = slurp(path);
	ASSERT_NOT_NULL(text);
	ASSERT_CONTAINS(text, "\"message\":\"recursing\"");
	ASSERT_CONTAINS(text, "\"signal\":\"SIGSEGV\"");
	free(text);
	unlink(path);
}
#endif

TEST(crash_thread_init_gives_an_alternate_stack)
{
	stack_t ss;

	ASSERT_OK(sonde_log_crash_thread_init());
	ASSERT_EQ_INT(sigaltstack(NULL, &ss), 0);
	ASSERT_FALSE(ss.ss_flags & SS_DISABLE);
	ASSERT_TRUE(ss.ss_size >= 16384);
	ASSERT_OK(sonde_log_crash_thread_init()); /* kept */
}

/* The crash flush formats records in each sink's profile (issue 15):
 * ecs, otel and console files get every record, with their nested and
 * error fields, and the crash record (JSON for the JSON profiles, logfmt
 * for console). */
TEST(crash_flush_writes_every_profile)
{
	char path[3][128];
	static const sonde_log_format fmts[3] = {SONDE_LOG_FORMAT_ECS, SONDE_LOG_FORMAT_OTEL,
	                                         SONDE_LOG_FORMAT_CONSOLE};
	static const char *const tags[3] = {"ecs", "otel", "console"};
	static const char *const want[3][3] = {
	        {"\"message\":\"before the fault\"", "\"metadata\":{\"k\":1,\"a\":[true]}",
	         "\"error\":{\"type\":\"IOError\",\"message\":\"disk full\"}"},
	        {"\"body\":\"before the fault\"", "\"metadata\":{\"k\":1,\"a\":[true]}",
	         "\"exception.type\":\"IOError\",\"exception.message\":\"disk full\""},
	        {" WARN  before the fault service=crash-test ", " metadata.k=1 metadata.a.0=true",
	         " err.type=IOError err.message=\"disk full\""}};
	pid_t pid;
	int i, j;

	for (i = 0; i < 3; i++) {
		tmp_path(path[i], sizeof(path[i]), tags[i]);
		unlink(path[i]);
	}
	pid = fork();
	if (pid == 0) {
		sonde_log_sink *s[3];
		sonde_log_sink_opts so;
		sonde_log_opts o;
		sonde_logger *l;
		unsigned char mem[64], emem[64];
		sonde_log_tree t, e;

		for (i = 0; i < 3; i++) {
			sonde_log_sink_opts_init(&so);
			so.format = fmts[i];
			so.format_env = "";
			so.color = -1;
			s[i] = sonde_log_sink_file(path[i], &so);
			if (!s[i])
				_exit(90);
		}
		sonde_log_opts_init(&o, "crash-test");
		o.level_env = "";
		o.sinks = s;
		o.sink_count = 3;
		l = sonde_logger_new(&o);
		if (!l)
			_exit(91);
		sonde_log_tree_init(&t, mem, sizeof mem);
		if (sonde_log_tree_object(&t) || sonde_log_tree_key(&t, "k") ||
		    sonde_log_tree_i64(&t, 1) || sonde_log_tree_key(&t, "a") ||
		    sonde_log_tree_array(&t) || sonde_log_tree_bool(&t, true) ||
		    sonde_log_tree_end(&t) || sonde_log_tree_end(&t))
			_exit(92);
		sonde_log_tree_init(&e, emem, sizeof emem);
		if (sonde_log_tree_error(&e, "IOError", SIZE_MAX, "disk full", SIZE_MAX, NULL, 0))
			_exit(93);
		if (sonde_log_crash_flush_enable() != SONDE_OK)
			_exit(94);
		for (i = 0; i < 200; i++)
			LOG_WARN(l, "before the fault", LOG_INT("n", i), LOG_OBJ("metadata", &t),
			         LOG_ERR("err", &e));
		segv_now();
		_exit(95);
	}
	(void)wait_child(pid);
	for (i = 0; i < 3; i++) {
		char *text = slurp(path[i]);

		ASSERT_NOT_NULL(text);
		for (j = 0; j < 3; j++)
			if (count(text, want[i][j]) != 200)
				FAIL("%s: %d lines with %s, want 200:\n%.2000s", tags[i],
				     count(text, want[i][j]), want[i][j], text);
		ASSERT_CONTAINS(text, i < 2 ? "\"signal\":\"SIGSEGV\"" : " signal=SIGSEGV");
		free(text);
		unlink(path[i]);
	}
}

/* Records that name their thread's scope (sent whole once per push, then
 * by generation) keep the scope's fields in the crash flush: some of the
 * whole blocks were taken by the backend before the fault, some are in
 * the ring with the records that name them. */
TEST(crash_flush_keeps_scoped_fields)
{
	char path[128];
	pid_t pid;

	tmp_path(path, sizeof(path), "scoped");
	unlink(path);
	pid = fork();
	if (pid == 0) {
		sonde_log_sink *s = sonde_log_sink_file(path, NULL);
		sonde_log_scope a, b;
		sonde_log_field fa = sonde_log_field_str("user_id", "u1");
		sonde_log_field fb = sonde_log_field_i64("round", 0);
		sonde_log_opts o;
		sonde_logger *l;
		int i;

		if (!s)
			_exit(90);
		sonde_log_opts_init(&o, "crash-test");
		o.level_env = "";
		o.sinks = &s;
		o.sink_count = 1;
		l = sonde_logger_new(&o);
		if (!l || sonde_log_crash_flush_enable() != SONDE_OK)
			_exit(91);
		if (sonde_log_scope_push(&a, &fa, 1) != SONDE_OK)
			_exit(92);
		for (i = 0; i < 600; i++) {
			if (i % 100 == 0) {
				fb.v.i = i / 100;
				if ((i && sonde_log_scope_pop(&b) != SONDE_OK) ||
				    sonde_log_scope_push(&b, &fb, 1) != SONDE_OK)
					_exit(93);
			}
			LOG_INFO(l, "scoped", LOG_INT("n", i));
		}
		segv_now();
		_exit(95);
	}
	(void)wait_child(pid);
	{
		char *text = slurp(path), want[96];
		int i;

		ASSERT_NOT_NULL(text);
		ASSERT_EQ_INT(count(text, "\"message\":\"scoped\""), 600);
		ASSERT_EQ_INT(count(text, "_truncated"), 0);
		for (i = 0; i < 600; i++) {
			snprintf(want, sizeof(want), "\"user_id\":\"u1\",\"round\":%d,\"n\":%d}",
			         i / 100, i);
			if (!strstr(text, want))
				FAIL("record %d lacks its scoped fields:\n%.2000s", i, text);
		}
		free(text);
	}
	unlink(path);
}
