// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "objname.h"

const char *objname__kind_name(__u16 obj)
{
	switch ((enum ipcrace_obj_kind)obj) {
	case OBJ_MUTEX:		return "mutex";
	case OBJ_RWLOCK:	return "rwlock";
	case OBJ_SPIN:		return "spinlock";
	case OBJ_SEM:		return "semaphore";
	case OBJ_SYSV_SEM:	return "SysV semaphore";
	case OBJ_FLOCK:		return "flock";
	case OBJ_FCNTL_LOCK:	return "fcntl lock";
	case OBJ_PIPE:		return "pipe";
	case OBJ_FIFO:		return "FIFO";
	case OBJ_SOCKET:	return "socket";
	case OBJ_MQ:		return "message queue";
	case OBJ_SYSV_MSG:	return "SysV message queue";
	case OBJ_EVENTFD:	return "eventfd";
	case OBJ_FUTEX:		return "futex";
	case OBJ_MEMORY:	return "memory";
	case OBJ_COND:		return "condition variable";
	case OBJ_BARRIER:	return "barrier";
	case OBJ_ONCE:		return "pthread_once";
	case OBJ_GUARD:		return "static-init guard";
	case OBJ_SIGNAL:	return "signal";
	case OBJ_NONE:
	case OBJ_KIND_MAX:
		break;
	}
	return "object";
}

const char *objname__kind_id(__u16 obj)
{
	switch ((enum ipcrace_obj_kind)obj) {
	case OBJ_MUTEX:		return "mutex";
	case OBJ_RWLOCK:	return "rwlock";
	case OBJ_SPIN:		return "spinlock";
	case OBJ_SEM:		return "semaphore";
	case OBJ_SYSV_SEM:	return "sysv-semaphore";
	case OBJ_FLOCK:		return "flock";
	case OBJ_FCNTL_LOCK:	return "fcntl-lock";
	case OBJ_PIPE:		return "pipe";
	case OBJ_FIFO:		return "fifo";
	case OBJ_SOCKET:	return "socket";
	case OBJ_MQ:		return "mq";
	case OBJ_SYSV_MSG:	return "sysv-msg";
	case OBJ_EVENTFD:	return "eventfd";
	case OBJ_FUTEX:		return "futex";
	case OBJ_MEMORY:	return "memory";
	case OBJ_COND:		return "cond";
	case OBJ_BARRIER:	return "barrier";
	case OBJ_ONCE:		return "once";
	case OBJ_GUARD:		return "guard";
	case OBJ_SIGNAL:	return "signal";
	case OBJ_NONE:
	case OBJ_KIND_MAX:
		break;
	}
	return "unknown";
}

static bool obj_is_channel(__u16 obj)
{
	return obj == OBJ_PIPE || obj == OBJ_FIFO || obj == OBJ_SOCKET ||
	       obj == OBJ_MQ || obj == OBJ_EVENTFD;
}

static bool str_starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/*
 * A mapping of the object (dev, ino), in any process. Prefer shared
 * mappings: a private mapping of the same file is a copy, not the object.
 */
static const struct trace_mapping *find_mapping(const struct trace *t, __u64 dev, __u64 ino)
{
	const struct trace_mapping *found = NULL;
	size_t i;

	/* (0, 0) is private anonymous memory, the identity of nothing */
	if (!dev && !ino)
		return NULL;
	for (i = 0; i < t->nr_mappings; i++) {
		const struct trace_mapping *m = &t->mappings[i];

		if (m->dev != dev || m->ino != ino)
			continue;
		if (m->flags & MAPF_SHARED)
			return m;
		if (!found)
			found = m;
	}
	return found;
}

/* Names a file-backed object from the path the kernel showed in maps. */
static void describe_mapping(const struct trace_mapping *m, struct objname *out)
{
	char path[TRACE_PATH_LEN];
	size_t len;

	memcpy(path, m->path, sizeof(path));
	path[sizeof(path) - 1] = '\0';
	len = strlen(path);
	/* the kernel appends " (deleted)" to unlinked files */
	if (len > 10 && !strcmp(path + len - 10, " (deleted)"))
		path[len - 10] = '\0';

	if (!path[0] || !strcmp(path, "/dev/zero") || str_starts(path, "/dev/zero ")) {
		/* MAP_SHARED | MAP_ANONYMOUS is backed by a deleted /dev/zero */
		out->space = "anon-shared";
		snprintf(out->where, sizeof(out->where),
			 "anonymous shared memory (from pid %u)", m->pid);
	} else if (str_starts(path, "/SYSV")) {
		out->space = "sysv-shm";
		snprintf(out->where, sizeof(out->where), "SysV shm key 0x%s", path + 5);
	} else if (str_starts(path, "/memfd:")) {
		out->space = "memfd";
		snprintf(out->where, sizeof(out->where), "%s", path + 1);
	} else {
		out->space = "file-shared";
		snprintf(out->where, sizeof(out->where), "%s", path);
	}
}

/* The channel keys of events.h (CHANKEY_*): one direction of data flow. */
static void describe_channel(const struct ipcrace_key *k, struct objname *out)
{
	switch (k->c) {
	case CHANKEY_UNIX:
		snprintf(out->where, sizeof(out->where), "unix to sock 0x%llx",
			 (unsigned long long)k->a);
		break;
	case CHANKEY_INET_STREAM:
		snprintf(out->where, sizeof(out->where), "tcp %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u",
			 (unsigned)(k->b >> 16) & 0xff, (unsigned)(k->b >> 24) & 0xff,
			 (unsigned)(k->b >> 32) & 0xff, (unsigned)(k->b >> 40) & 0xff,
			 (unsigned)k->b & 0xffff,
			 (unsigned)(k->a >> 16) & 0xff, (unsigned)(k->a >> 24) & 0xff,
			 (unsigned)(k->a >> 32) & 0xff, (unsigned)(k->a >> 40) & 0xff,
			 (unsigned)k->a & 0xffff);
		break;
	case CHANKEY_INET_DGRAM:
		snprintf(out->where, sizeof(out->where), "udp to port %llu",
			 (unsigned long long)k->a);
		break;
	case CHANKEY_EVENTFD:
		snprintf(out->where, sizeof(out->where), "0x%llx", (unsigned long long)k->b);
		break;
	case CHANKEY_CONNECT_UNIX:
		snprintf(out->where, sizeof(out->where), "unix connection from sock 0x%llx",
			 (unsigned long long)k->a);
		break;
	case CHANKEY_CONNECT_INET:
		snprintf(out->where, sizeof(out->where),
			 "tcp connection to %u.%u.%u.%u:%u from port %u",
			 (unsigned)(k->a >> 16) & 0xff, (unsigned)(k->a >> 24) & 0xff,
			 (unsigned)(k->a >> 32) & 0xff, (unsigned)(k->a >> 40) & 0xff,
			 (unsigned)k->a & 0xffff, (unsigned)k->b & 0xffff);
		break;
	default:
		snprintf(out->where, sizeof(out->where), "inode %llu (dev %u:%u)",
			 (unsigned long long)k->b, major(k->a), minor(k->a));
		break;
	}
}

void objname__describe(const struct trace *t, const struct finding_object *o,
		       struct objname *out)
{
	const struct ipcrace_key *k = &o->key;
	const struct trace_mapping *m;

	memset(out, 0, sizeof(*out));
	out->space = "unknown";
	switch ((enum ipcrace_key_space)k->space) {
	case KEY_FILE:
		if (obj_is_channel(o->obj)) {
			out->space = "channel";
			describe_channel(k, out);
			break;
		}
		out->offset = k->c;
		out->has_offset = true;
		m = t ? find_mapping(t, k->a, k->b) : NULL;
		if (m) {
			out->mapping = m;
			describe_mapping(m, out);
		} else {
			out->space = "file-shared";
			snprintf(out->where, sizeof(out->where), "file dev %u:%u inode %llu",
				 major(k->a), minor(k->a), (unsigned long long)k->b);
		}
		break;
	case KEY_PRIVATE:
		out->space = "private";
		snprintf(out->where, sizeof(out->where), "0x%llx in pid %llu",
			 (unsigned long long)k->b, (unsigned long long)k->a);
		break;
	case KEY_SYSV_SEM:
		out->space = "sysv-sem";
		snprintf(out->where, sizeof(out->where), "SysV semaphore %llu #%llu",
			 (unsigned long long)k->a, (unsigned long long)k->b);
		break;
	case KEY_SYSV_MSG:
		out->space = "sysv-msg";
		snprintf(out->where, sizeof(out->where), "SysV message queue %llu",
			 (unsigned long long)k->a);
		break;
	case KEY_NONE:
		/* the tracer could not resolve it: the raw address is all we have */
		snprintf(out->where, sizeof(out->where), "0x%llx in pid %u",
			 (unsigned long long)o->addr, o->pid);
		break;
	}
}

char *objname__format(char *buf, size_t len, const struct trace *t,
		      const struct finding_object *o)
{
	const char *kind = objname__kind_name(o->obj);
	bool is_lock = o->obj != OBJ_MEMORY && o->obj != OBJ_NONE;
	struct objname n;
	char off[32] = "";

	if (!len)
		return buf;
	objname__describe(t, o, &n);
	if (n.has_offset)
		snprintf(off, sizeof(off), " +0x%llx", (unsigned long long)n.offset);

	if (!is_lock) {
		snprintf(buf, len, "%s%s", n.where, off);
	} else if (!strcmp(n.space, "sysv-sem") || !strcmp(n.space, "sysv-msg")) {
		/* the place already says what it is */
		snprintf(buf, len, "%s", n.where);
	} else if (!strcmp(n.space, "private") || !strcmp(n.space, "channel") ||
		   !strcmp(n.space, "unknown")) {
		snprintf(buf, len, "%s %s", kind, n.where);
	} else if (o->obj == OBJ_SEM && n.mapping &&
		   str_starts(n.mapping->path, "/dev/shm/sem.")) {
		/* sem_open: the file is the semaphore */
		snprintf(buf, len, "%s %s%s", kind, n.where, off);
	} else if (o->obj == OBJ_FLOCK || o->obj == OBJ_FCNTL_LOCK) {
		snprintf(buf, len, "%s on %s", kind, n.where);
	} else {
		snprintf(buf, len, "%s in %s%s", kind, n.where, off);
	}
	return buf;
}
