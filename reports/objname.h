/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Readable names for locks, channels and memory words: "mutex in
 * /dev/shm/bank +0x40", "mutex 0x55d0c0a0 in pid 10", "rwlock in anonymous
 * shared memory (from pid 10) +0x8". The key says what the object is; the
 * trace's mapping records say where it lives. Names are raw (they may hold
 * a traced program's path): renderers escape them.
 */
#ifndef IPCRACE_OBJNAME_H
#define IPCRACE_OBJNAME_H

#include <stdbool.h>
#include <stddef.h>
#include "../analyzer/trace.h"
#include "../analyzer/findings.h"

#define OBJNAME_LEN (TRACE_PATH_LEN + 128)

/* Where an object lives, resolved through the trace's mappings. */
struct objname {
	/* "file-shared", "anon-shared", "private", "sysv-shm", "memfd",
	 * "sysv-sem", "sysv-msg", "channel", "unknown" */
	const char *space;
	/* "/dev/shm/bank", "anonymous shared memory (from pid 10)",
	 * "pid 10", "SysV semaphore 3 #0", ... */
	char where[OBJNAME_LEN];
	__u64 offset;			/* in the object, when has_offset */
	bool has_offset;
	const struct trace_mapping *mapping;	/* the mapping that named it, or NULL */
};

/* "mutex", "rwlock", "semaphore", "SysV semaphore", ... ("object" if unknown) */
const char *objname__kind_name(__u16 obj);
/* The same as a JSON identifier: "mutex", "sysv-semaphore", "fcntl-lock"... */
const char *objname__kind_id(__u16 obj);

void objname__describe(const struct trace *t, const struct finding_object *o,
		       struct objname *out);

/* The full readable name into buf (always NUL-terminated); returns buf. */
char *objname__format(char *buf, size_t len, const struct trace *t,
		      const struct finding_object *o);

#endif /* IPCRACE_OBJNAME_H */
