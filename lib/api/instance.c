/*
 * lib/api/instance.c - one copy of libsonde per process, or a clear report.
 *
 * A process gets two copies of sonde when, say, a Go or Rust component that
 * linked libsonde.a is loaded into a Python process that uses libsonde.so.
 * Each copy has its own default registry, logger and trace context, so the
 * component's series never reach the page the host serves. Nothing fails;
 * the data just goes somewhere nobody scrapes. This file makes that visible.
 *
 * The rendezvous is the dynamic loader's own list of loaded objects, which
 * every copy can read: each copy carries an ELF note (name "sonde", type
 * INSTANCE_NOTE_TYPE) in an allocated note section, so the note ends up in
 * a PT_NOTE segment of whatever object holds that copy: libsonde.so, a host
 * executable linked with libsonde.a, or a Go/Rust shared object with a
 * static copy inside (symbols hidden or not). At load, before main() or
 * within dlopen(), a constructor walks every loaded object's PT_NOTE
 * segments (dl_iterate_phdr) and counts the sonde notes other than its own.
 *
 * Why not an environment variable or dlsym: dlsym(RTLD_DEFAULT) cannot see
 * a static copy whose symbols are hidden, nor an RTLD_LOCAL one; setenv is
 * not thread-safe against other threads' getenv (a copy dlopen()ed by
 * Python may run while host threads read the environment), an inherited
 * variable survives exec into an unrelated image, and telling one image
 * from the next would need a per-exec nonce. The loader's list has none of
 * these problems: it is this image's, it is locked by the loader, and it
 * loses an object on dlclose(). The walk reads memory only.
 *
 * Limits: objects in another link-map namespace (dlmopen with
 * LM_ID_NEWLM) are not seen from this one; copies from before this change
 * carry no note and are not counted; a copy reports only copies loaded
 * before (or together with) it, so the first copy of a process never
 * learns of a later one; the later copy is the one that says so.
 *
 * Cost: once per copy, at load; no allocation unless another copy is
 * found. Then this copy's last error (on the loading thread) says where
 * the other copy lives, sonde_instance_check() returns SONDE_ESTATE with
 * the same text on any thread, and the counter
 * sonde_duplicate_instances_total on this copy's default registry counts
 * the other copies. Never aborts, never prints.
 */
#include <link.h>
#include <stdio.h>

#include "core/sonde-int.h"

#define INSTANCE_NOTE_TYPE 0x31444e53u /* "SND1" */

/* The note: header, name "sonde\0" padded to 8, a 4-byte descriptor (the
 * version of this copy). ELF notes are 4-byte aligned here. The section
 * name starting with ".note" makes the assembler give it SHT_NOTE, and
 * "a" (allocated) puts it into a PT_NOTE segment; `used` and the read in
 * is_mine() keep it from being dropped. */
typedef struct instance_note {
	uint32_t namesz, descsz, type;
	char name[8];
	uint32_t version;
} instance_note;

/* Under clang's ASan a global gets a redzone after it, which would pad the
 * note segment with poisoned bytes: this one must not have one. */
#if defined(__clang__) && defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NOTE_NO_REDZONE __attribute__((no_sanitize("address")))
#endif
#endif
#ifndef NOTE_NO_REDZONE
#define NOTE_NO_REDZONE
#endif

NOTE_NO_REDZONE __attribute__((section(".note.sonde.instance"), aligned(4),
                               used)) static const instance_note sonde_instance_note = {
        6, 4, INSTANCE_NOTE_TYPE, "sonde", SONDE_VERSION_HEX};

/* Set once by the constructor, before any other call can reach this copy
 * (dlopen() returns, or main() starts, after constructors ran), and only
 * read afterwards. */
static int instance_status;
static char instance_msg[1024];

typedef struct scan {
	const void *mine; /* this copy's note, as mapped */
	unsigned others;
	char where[256]; /* the object holding the first other copy */
	uint32_t version;
} scan;

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

/* A note segment is mapped memory of other objects, padded as their
 * linker and sanitizer laid it out: read it byte by byte, unchecked by
 * ASan (a neighbour's global redzone may sit inside the segment). */
__attribute__((no_sanitize_address)) static uint32_t rd32(const unsigned char *p)
{
	uint32_t v = 0;
	int i;

	/* the object's own byte order, which is ours */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (i = 0; i < 4; i++)
		v = v << 8 | p[i];
#else
	for (i = 3; i >= 0; i--)
		v = v << 8 | p[i];
#endif
	return v;
}

__attribute__((no_sanitize_address)) static bool is_sonde_name(const unsigned char *p)
{
	static const char want[6] = "sonde";
	int i;

	for (i = 0; i < 6; i++)
		if (p[i] != (unsigned char)want[i])
			return false;
	return true;
}

__attribute__((no_sanitize_address)) static void scan_notes(scan *s, const char *obj,
                                                            const unsigned char *p, size_t len,
                                                            size_t align)
{
	size_t off = 0;

	while (off + 12 <= len) {
		uint32_t namesz, descsz, type;
		size_t name_off, desc_off, next;

		namesz = rd32(p + off);
		descsz = rd32(p + off + 4);
		type = rd32(p + off + 8);
		name_off = off + 12;
		desc_off = name_off + align_up(namesz, align);
		next = desc_off + align_up(descsz, align);
		if (desc_off < name_off || next < desc_off || next > len)
			return; /* malformed: stop reading this segment */
		if (type == INSTANCE_NOTE_TYPE && namesz == 6 && descsz == 4 &&
		    is_sonde_name(p + name_off) && p + off != (const unsigned char *)s->mine) {
			if (s->others++ == 0) {
				snprintf(s->where, sizeof(s->where), "%s", obj);
				s->version = rd32(p + desc_off);
			}
		}
		off = next;
	}
}

static int each_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	scan *s = arg;
	const char *obj = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "the program";

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		scan_notes(s, obj, (const unsigned char *)(info->dlpi_addr + ph->p_vaddr),
		           ph->p_memsz, ph->p_align == 8 ? 8 : 4);
	}
	return 0;
}

/* The object this copy lives in, for the message. */
static int find_mine(struct dl_phdr_info *info, size_t size, void *arg)
{
	scan *s = arg;
	uintptr_t note = (uintptr_t)s->mine;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && note >= lo && note < lo + ph->p_memsz) {
			snprintf(s->where, sizeof(s->where), "%s",
			         info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name
			                                               : "the program");
			return 1;
		}
	}
	return 0;
}

/* Priority 102: after lib/api/defaults.c (101) installed the default
 * registry's wiring, which the counter below may create; before the
 * host's C++ static initializers (default priority). */
__attribute__((constructor(102))) static void instance_detect(void)
{
	scan s = {.mine = &sonde_instance_note};
	scan me = {.mine = &sonde_instance_note};
	sonde_counter *c;

	dl_iterate_phdr(each_object, &s);
	if (s.others == 0)
		return;
	dl_iterate_phdr(find_mine, &me);
	snprintf(instance_msg, sizeof(instance_msg),
	         "another copy of libsonde (%u.%u.%u, in %s) is loaded in this process: this copy "
	         "(in %s) has its own default registry, logger and trace context, and its "
	         "series do not reach the other's exposition; link every component against "
	         "the shared libsonde.so",
	         (unsigned)(s.version >> 16), (unsigned)((s.version >> 8) & 0xff),
	         (unsigned)(s.version & 0xff), s.where, me.where[0] ? me.where : "?");
	instance_status = SONDE_ESTATE;
	c = sonde_counter_new(NULL, "sonde_duplicate_instances_total",
	                      "Other copies of libsonde found loaded in this process when this "
	                      "copy initialized (each has its own registry).");
	sonde_counter_add_u64(c, s.others); /* NULL (out of memory) is a no-op */
	sonde__ignore(sonde__fail(SONDE_ESTATE, "%s", instance_msg));
}

int sonde_instance_check(void)
{
	if (instance_status != SONDE_OK)
		return sonde__fail(instance_status, "%s", instance_msg);
	return SONDE_OK;
}
