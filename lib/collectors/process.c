/*
 * lib/collectors/process.c - the standard process metrics, read from /proc.
 *
 * Names and meanings as client_golang's process collector has them, so
 * existing dashboards work: CPU seconds (user + system), resident and
 * virtual memory, open and maximum file descriptors, start time, threads.
 * One parse of /proc serves every sample of a scrape: the values are
 * cached for 100 ms.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "collectors/collectors.h"

typedef struct proc_values {
	double cpu_seconds, rss_bytes, vsize_bytes, open_fds, max_fds, start_time, threads;
	bool ok;
} proc_values;

static pthread_mutex_t proc_mu = PTHREAD_MUTEX_INITIALIZER;

/* Taken by the collector's callbacks, which run under a family lock:
 * ranked after the registries for fork. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&proc_mu);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&proc_mu);
}

static const sonde__fork_hooks proc_fork = {SONDE_FORK_RANK_COLLECTOR, fork_prepare, fork_release,
                                            fork_release};
static proc_values cached;
static int64_t cached_at_ns;
static double boot_time; /* btime from /proc/stat, read once */

static ssize_t read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = 0, r;

	if (fd < 0)
		return -1;
	while ((size_t)got < n - 1 && (r = read(fd, buf + got, n - 1 - (size_t)got)) > 0)
		got += r;
	close(fd);
	buf[got] = '\0';
	return got;
}

static double read_boot_time(void)
{
	char buf[8192];
	const char *p;

	if (read_file("/proc/stat", buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "\nbtime ");
	return p ? strtod(p + 7, NULL) : 0;
}

static double count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	double n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the descriptor opendir itself holds */
}

/* /proc/self/stat: fields after the ")" that ends the command name
 * (which may contain spaces): state is field 3; utime 14, stime 15,
 * num_threads 20, starttime 22, vsize 23, rss 24 (pages). */
static void refresh(proc_values *v)
{
	char buf[4096];
	const char *p;
	double f[64];
	int i;
	struct rlimit rl;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);

	memset(v, 0, sizeof(*v));
	if (read_file("/proc/self/stat", buf, sizeof(buf)) <= 0)
		return;
	p = strrchr(buf, ')');
	if (!p)
		return;
	p += 2; /* ") " then the state letter, field 3 */
	for (i = 3; i <= 24 && *p; i++) {
		char *end;
		if (i == 3) {
			while (*p && *p != ' ')
				p++;
			continue;
		}
		f[i] = strtod(p, &end);
		if (end == p)
			return;
		p = end;
	}
	if (i <= 24 || tck <= 0 || page <= 0)
		return;
	if (boot_time == 0)
		boot_time = read_boot_time();
	v->cpu_seconds = (f[14] + f[15]) / (double)tck;
	v->threads = f[20];
	v->start_time = boot_time + f[22] / (double)tck;
	v->vsize_bytes = f[23];
	v->rss_bytes = f[24] * (double)page;
	v->open_fds = count_fds();
	v->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
	                     ? (double)rl.rlim_cur
	                     : 0;
	v->ok = true;
}

static double value(size_t offset)
{
	proc_values v;
	int64_t now = sonde_now_mono_ns();

	pthread_mutex_lock(&proc_mu);
	if (cached_at_ns == 0 || now - cached_at_ns > 100 * 1000000 || now < cached_at_ns) {
		refresh(&cached);
		cached_at_ns = now;
	}
	v = cached;
	pthread_mutex_unlock(&proc_mu);
	return v.ok ? *(const double *)(const void *)((const char *)&v + offset) : 0;
}

#define FIELD_FN(field)                                     \
	static double read_##field(void *arg)               \
	{                                                   \
		(void)arg;                                  \
		return value(offsetof(proc_values, field)); \
	}
FIELD_FN(cpu_seconds)
FIELD_FN(rss_bytes)
FIELD_FN(vsize_bytes)
FIELD_FN(open_fds)
FIELD_FN(max_fds)
FIELD_FN(start_time)
FIELD_FN(threads)

static const struct {
	const char *name, *help;
	sonde_metric_type type;
	sonde_value_fn fn;
} metrics[] = {
        {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
         SONDE_TYPE_COUNTER, read_cpu_seconds},
        {"process_max_fds", "Maximum number of open file descriptors.", SONDE_TYPE_GAUGE,
         read_max_fds},
        {"process_open_fds", "Number of open file descriptors.", SONDE_TYPE_GAUGE, read_open_fds},
        {"process_resident_memory_bytes", "Resident memory size in bytes.", SONDE_TYPE_GAUGE,
         read_rss_bytes},
        {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
         SONDE_TYPE_GAUGE, read_start_time},
        {"process_threads", "Number of OS threads in the process.", SONDE_TYPE_GAUGE, read_threads},
        {"process_virtual_memory_bytes", "Virtual memory size in bytes.", SONDE_TYPE_GAUGE,
         read_vsize_bytes},
};

int sonde_process_collector_register(sonde_registry *r)
{
	size_t i;

	if (!r)
		r = sonde_registry_default();
	if (!r)
		return SONDE_ENOMEM;
	sonde__fork_register(&proc_fork);
	for (i = 0; i < SONDE_ARRAY_LEN(metrics); i++) {
		sonde_family *f =
		        metrics[i].type == SONDE_TYPE_COUNTER
		                ? sonde_counter_func_new(r, metrics[i].name, metrics[i].help,
		                                         metrics[i].fn, NULL)
		                : sonde_gauge_func_new(r, metrics[i].name, metrics[i].help,
		                                       metrics[i].fn, NULL);
		if (!f) {
			int st = sonde_last_status();
			while (i-- > 0) {
				sonde_family *g = sonde_registry_find(r, metrics[i].name);
				if (g)
					sonde__ignore(sonde_registry_unregister(r, g));
			}
			return sonde__fail(st, "process collector: %s", sonde_last_error());
		}
	}
	return SONDE_OK;
}

int sonde_process_collector_unregister(sonde_registry *r)
{
	size_t i, found = 0;

	if (!r)
		r = sonde_registry_default();
	if (!r)
		return SONDE_ENOMEM;
	for (i = 0; i < SONDE_ARRAY_LEN(metrics); i++) {
		sonde_family *f = sonde_registry_find(r, metrics[i].name);
		if (f && f->func && sonde_registry_unregister(r, f) == SONDE_OK)
			found++;
	}
	return found ? SONDE_OK
	             : sonde__fail(SONDE_ENOENT,
	                           "process collector: not registered in this registry");
}
