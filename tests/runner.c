/* tests/runner.c - runs every TEST() in a forked child with a timeout. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sonde.h"
#include "test.h"

static sonde_test_case *tests;
static size_t ntests;

void sonde_test_register(sonde_test_case *tc)
{
	tc->next = tests;
	tests = tc;
	ntests++;
}

void sonde_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	exit(1);
}

static int cmp_case(const void *a, const void *b)
{
	const sonde_test_case *x = *(sonde_test_case *const *)a, *y = *(sonde_test_case *const *)b;
	int c = strcmp(x->file, y->file);
	return c ? c : strcmp(x->name, y->name);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Forks the test; kills it when its time is up. */
static bool run_one(sonde_test_case *tc, const char **why)
{
	pid_t pid;
	int st = 0;
	double deadline;

	fflush(stdout);
	fflush(stderr);
	if (getenv("SONDE_TEST_NOFORK")) {
		tc->fn();
		return true;
	}
	pid = fork();
	if (pid < 0) {
		*why = "fork failed";
		return false;
	}
	if (pid == 0) {
		setpgid(0, 0);
		tc->fn();
		fflush(stdout);
		exit(0); /* not _exit: LeakSanitizer checks at exit */
	}
	deadline = now_s() + tc->timeout_s;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			*why = "waitpid failed";
			return false;
		}
		if (now_s() > deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			*why = "timed out";
			return false;
		}
		usleep(2000);
	}
	if (WIFSIGNALED(st)) {
		static char buf[64];
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)", WTERMSIG(st),
		         strsignal(WTERMSIG(st)));
		*why = buf;
		return false;
	}
	if (WEXITSTATUS(st) != 0) {
		*why = "assertion failed";
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : getenv("T");
	sonde_test_case **all = calloc(ntests ? ntests : 1, sizeof(*all));
	sonde_test_case *tc;
	size_t i = 0, passed = 0, failed = 0;

	if (filter && !*filter)
		filter = NULL;
	for (tc = tests; tc; tc = tc->next)
		all[i++] = tc;
	qsort(all, ntests, sizeof(*all), cmp_case);
	for (i = 0; i < ntests; i++) {
		const char *why = NULL;
		double t0;
		bool ok;

		tc = all[i];
		if (filter && !strstr(tc->name, filter))
			continue;
		t0 = now_s();
		ok = run_one(tc, &why);
		if (ok) {
			passed++;
			printf("ok   %-44s %7.1f ms\n", tc->name, (now_s() - t0) * 1e3);
		} else {
			failed++;
			printf("FAIL %-44s %s\n", tc->name, why);
		}
		fflush(stdout);
	}
	free(all);
	printf("%zu passed, %zu failed\n", passed, failed);
	return failed ? 1 : 0;
}

/* ---- helpers for tests that drive outside tools ------------------------------- */

bool sonde_test_have(const char *prog)
{
	const char *argv[] = {"sh", "-c", NULL, NULL};
	char cmd[512];

	if (prog[0] == '/')
		return access(prog, X_OK) == 0;
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	argv[2] = cmd;
	return sonde_test_run(argv, NULL, NULL) == 0;
}

uint16_t sonde_test_dead_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s, (struct sockaddr *)&a, &len))
		FAIL("socket: %s", strerror(errno));
	close(s);
	return ntohs(a.sin_port);
}

int sonde_test_run(const char *const argv[], const char *in_path, char **out)
{
	int pipefd[2];
	pid_t pid;
	int st;
	size_t len = 0, cap = 4096;
	char *buf;

	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
		if (in >= 0)
			dup2(in, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	buf = malloc(cap);
	for (;;) {
		ssize_t n;
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		n = read(pipefd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *sonde_test_tmpfile(int slot, const char *data, size_t len)
{
	static char paths[8][64];
	int fd;

	snprintf(paths[slot & 7], sizeof(paths[0]), "/tmp/sonde-test-%d-%d-XXXXXX", (int)getpid(),
	         slot);
	fd = mkstemp(paths[slot & 7]);
	if (fd < 0)
		FAIL("mkstemp: %s", strerror(errno));
	if (write(fd, data, len) != (ssize_t)len)
		FAIL("write tmpfile: %s", strerror(errno));
	close(fd);
	return paths[slot & 7];
}

char *sonde_test_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

int sonde_test_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

void sonde_test_compiles_c_and_cxx(const char *src)
{
	const char *cxx[] = {"c++",
	                     "-std=c++17",
	                     "-Wall",
	                     "-Wextra",
	                     "-Werror",
	                     "-pedantic",
	                     "-I" SONDE_SRC_DIR "/include",
	                     "-x",
	                     "c++",
	                     "-c",
	                     NULL,
	                     "-o",
	                     "/dev/null",
	                     NULL};
	const char *cc[] = {
	        "cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I" SONDE_SRC_DIR "/include",
	        "-x", "c",        "-c",    NULL,      "-o",      "/dev/null",
	        NULL};
	char *out = NULL;
	int rc;

	cxx[10] = cc[9] = sonde_test_tmpfile(4, src, strlen(src));
	rc = sonde_test_run(cxx, NULL, &out);
	if (rc != 0)
		FAIL("c++ exit %d:\n%s", rc, out);
	free(out);
	rc = sonde_test_run(cc, NULL, &out);
	if (rc != 0)
		FAIL("cc exit %d:\n%s", rc, out);
	free(out);
	unlink(cxx[10]);
}
