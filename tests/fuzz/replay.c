/* tests/fuzz/replay.c - replays a fuzz target's corpus in make test. */
#include <dirent.h>
#include <sys/stat.h>

#include "fuzz.h"

size_t sonde_fuzz_replay(const char *name, int (*fn)(const uint8_t *, size_t))
{
	char dir[1024], path[2048];
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", SONDE_SRC_DIR, name);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		FILE *f;
		struct stat st;
		uint8_t *buf;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		/* exactly size bytes (malloc(0) may be NULL: use 1 then) */
		buf = malloc(st.st_size ? (size_t)st.st_size : 1);
		f = fopen(path, "rb");
		if (!f || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
			FAIL("cannot read %s", path);
		fclose(f);
		fn(buf, (size_t)st.st_size);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}
