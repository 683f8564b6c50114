// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Mapping blocks (trace_maps.h; the encoding is in trace_format.h,
 * "Version 3"). Each mapping is coded against the one before it: the time,
 * pid, file (dev, inode, build-id, path) and protection only when they
 * change, the start from the previous end, the offset from where the
 * previous segment's would continue.
 */
#include <errno.h>
#include <string.h>

#include "trace_block.h"
#include "trace_maps.h"

#define MAPS_TS		0x01u	/* zz ts - previous ts */
#define MAPS_PID	0x02u	/* varint pid */
#define MAPS_FILE	0x04u	/* varint dev, ino; u8 n, n bytes of build-id; u8 n, n bytes of path */
#define MAPS_PROT	0x08u	/* varint prot, flags */
#define MAPS_KNOWN	0x0fu

static inline __u64 zigzag(__u64 v)
{
	return (v << 1) ^ (__u64)((__s64)v >> 63);
}

static inline __u64 unzigzag(__u64 v)
{
	return (v >> 1) ^ -(v & 1);
}

#define put_varint trace_block__put_varint

void trace_maps_enc__reset(struct trace_maps_enc *b)
{
	b->len = TRACE_MAPS_HDR_LEN;
	b->nr = 0;
	memset(&b->prev, 0, sizeof(b->prev));
}

static bool same_file(const struct trace_mapping *x, const struct trace_mapping *y)
{
	return x->dev == y->dev && x->ino == y->ino && x->build_id_len == y->build_id_len &&
	       !memcmp(x->build_id, y->build_id, x->build_id_len) &&
	       !strcmp(x->path, y->path);
}

int trace_maps_enc__add(struct trace_maps_enc *b, const struct trace_mapping *in)
{
	/* ctl, ts, pid, dev, ino, build-id, path, prot, flags, start, length, offset */
	unsigned char tmp[1 + 6 * 10 + 1 + TRACE_BUILD_ID_MAX + 1 + TRACE_PATH_LEN + 3 * 10];
	const struct trace_mapping *prev = &b->prev;
	unsigned char *p = tmp + 1;
	struct trace_mapping m;
	unsigned ctl = 0;
	size_t n;

	if (in->start > in->end || in->build_id_len > TRACE_BUILD_ID_MAX)
		return -EINVAL;
	if (b->nr >= TRACE_MAPS_MAX_ENTRIES)
		return -ENOSPC;
	memset(&m, 0, sizeof(m));
	m.ts = in->ts;
	m.start = in->start;
	m.end = in->end;
	m.pgoff = in->pgoff;
	m.dev = in->dev;
	m.ino = in->ino;
	m.pid = in->pid;
	m.prot = in->prot;
	m.flags = in->flags;
	m.build_id_len = in->build_id_len;
	memcpy(m.build_id, in->build_id, in->build_id_len);
	memcpy(m.path, in->path, strnlen(in->path, sizeof(in->path) - 1));

	if (m.ts != prev->ts) {
		ctl |= MAPS_TS;
		p = put_varint(p, zigzag(m.ts - prev->ts));
	}
	if (m.pid != prev->pid) {
		ctl |= MAPS_PID;
		p = put_varint(p, m.pid);
	}
	if (!same_file(&m, prev)) {
		ctl |= MAPS_FILE;
		p = put_varint(p, m.dev);
		p = put_varint(p, m.ino);
		*p++ = (unsigned char)m.build_id_len;
		memcpy(p, m.build_id, m.build_id_len);
		p += m.build_id_len;
		n = strlen(m.path);
		*p++ = (unsigned char)n;
		memcpy(p, m.path, n);
		p += n;
	}
	if (m.prot != prev->prot || m.flags != prev->flags) {
		ctl |= MAPS_PROT;
		p = put_varint(p, m.prot);
		p = put_varint(p, m.flags);
	}
	p = put_varint(p, zigzag(m.start - prev->end));
	p = put_varint(p, m.end - m.start);
	p = put_varint(p, zigzag(m.pgoff - (prev->pgoff + (prev->end - prev->start))));
	tmp[0] = (unsigned char)ctl;
	n = (size_t)(p - tmp);
	if (b->len + n > sizeof(b->data))
		return -ENOSPC;
	memcpy(b->data + b->len, tmp, n);
	b->len += n;
	b->nr++;
	b->prev = m;
	return 0;
}

const void *trace_maps_enc__finish(struct trace_maps_enc *b, size_t *len)
{
	return trace_block__seal(b->data, b->nr, b->len, len);
}

#define BAD(msg)		\
	do {			\
		*why = (msg);	\
		return -EINVAL;	\
	} while (0)

#define VARINT(v)							\
	do {								\
		if (!trace_block__get_varint(&p, end, &(v)))		\
			BAD("mapping block: value cut off or too long");\
	} while (0)

int trace_maps__decode(const unsigned char *data, size_t len, struct trace_mapping *out,
		       const char **why)
{
	const unsigned char *p = data, *end = data + len;
	struct trace_mapping prev;
	__u16 nr;
	__u64 v, w;

	*why = NULL;
	if (len < TRACE_MAPS_HDR_LEN)
		BAD("mapping block shorter than its count");
	memcpy(&nr, p, sizeof(nr));
	p += sizeof(nr);
	if (!nr || nr > TRACE_MAPS_MAX_ENTRIES)
		BAD("mapping block count out of range");
	memset(&prev, 0, sizeof(prev));
	for (unsigned i = 0; i < nr; i++) {
		struct trace_mapping *m = &out[i];
		unsigned ctl;

		if (p >= end)
			BAD("mapping block cut off");
		ctl = *p++;
		if (ctl & ~MAPS_KNOWN)
			BAD("mapping block: unknown fields");
		*m = prev;
		if (ctl & MAPS_TS) {
			VARINT(v);
			m->ts = prev.ts + unzigzag(v);
		}
		if (ctl & MAPS_PID) {
			VARINT(v);
			if (v > 0xffffffffull)
				BAD("mapping block: pid out of range");
			m->pid = (__u32)v;
		}
		if (ctl & MAPS_FILE) {
			VARINT(m->dev);
			VARINT(m->ino);
			if (p >= end || *p > TRACE_BUILD_ID_MAX || (size_t)(end - p) < 1u + *p)
				BAD("mapping block: build-id cut off or too long");
			m->build_id_len = *p;
			memset(m->build_id, 0, sizeof(m->build_id));
			memcpy(m->build_id, p + 1, *p);
			p += 1 + *p;
			if (p >= end || (size_t)(end - p) < 1u + *p)
				BAD("mapping block: path cut off");
			memset(m->path, 0, sizeof(m->path));
			memcpy(m->path, p + 1, *p);	/* at most 255: the NUL stays */
			p += 1 + *p;
		}
		if (ctl & MAPS_PROT) {
			VARINT(v);
			VARINT(w);
			if (v > 0xffffffffull || w > 0xffffffffull)
				BAD("mapping block: protection out of range");
			m->prot = (__u32)v;
			m->flags = (__u32)w;
		}
		VARINT(v);
		m->start = prev.end + unzigzag(v);
		VARINT(v);
		if (v > ~m->start)
			BAD("mapping block: mapping ends past the address space");
		m->end = m->start + v;
		VARINT(v);
		m->pgoff = prev.pgoff + (prev.end - prev.start) + unzigzag(v);
		prev = *m;
	}
	if (p != end)
		BAD("mapping block: bytes after its last mapping");
	return nr;
}
