// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Event blocks (trace_block.h; the encoding is described in
 * trace_format.h, "Version 3"). The encoder looks entries up in small hash
 * tables cleared per block; the decoder needs no lookup at all: a
 * reference is an index. Every read of the decoder is bounded by the
 * block's end, every value checked against the field it fills.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "trace_block.h"

/* ctl bits: which fields follow (the time delta always does) */
#define BLK_TYPE	0x01u	/* varint type */
#define BLK_THREAD	0x02u	/* thread reference */
#define BLK_OBJECT	0x04u	/* object reference */
#define BLK_STACK	0x08u	/* stack reference */
#define BLK_ARG0	0x10u	/* zigzag varint arg0 - previous arg0 */
#define BLK_ARG1	0x20u	/* zigzag varint arg1 - previous arg1 */
#define BLK_RESULT	0x40u	/* zigzag varint result */
#define BLK_FLAGS	0x80u	/* varint flags */

static inline __u64 zigzag(__u64 v)
{
	return (v << 1) ^ (__u64)((__s64)v >> 63);
}

static inline __u64 unzigzag(__u64 v)
{
	return (v >> 1) ^ -(v & 1);
}

static inline unsigned char *put_varint(unsigned char *p, __u64 v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

unsigned char *trace_block__put_varint(unsigned char *p, __u64 v)
{
	return put_varint(p, v);
}

static inline __u64 mix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static void thread_of(struct trace_block_thread *th, const struct ipcrace_event *e)
{
	size_t n = strnlen(e->comm, IPCRACE_COMM_LEN - 1);

	th->pid = e->pid;
	th->tid = e->tid;
	memset(th->comm, 0, sizeof(th->comm));
	memcpy(th->comm, e->comm, n);
}

static void object_of(struct trace_block_object *o, const struct ipcrace_event *e)
{
	memset(o, 0, sizeof(*o));
	o->addr = e->addr;
	o->key.a = e->key.a;
	o->key.b = e->key.b;
	o->key.c = e->key.c;
	o->key.space = e->key.space;
	o->obj = e->obj;
}

static bool same_object(const struct ipcrace_event *x, const struct ipcrace_event *y)
{
	return x->addr == y->addr && x->key.a == y->key.a && x->key.b == y->key.b &&
	       x->key.c == y->key.c && x->key.space == y->key.space && x->obj == y->obj;
}

static unsigned thread_hash(const struct trace_block_thread *th)
{
	return mix64((__u64)th->pid << 32 ^ th->tid) & (TRACE_BLOCK_HASH_SLOTS - 1);
}

static unsigned object_hash(const struct trace_block_object *o)
{
	return mix64(o->addr ^ mix64(o->key.a ^ o->key.b * 31 ^ o->key.c * 131 ^
				     (__u64)o->key.space << 56 ^ (__u64)o->obj << 48)) &
	       (TRACE_BLOCK_HASH_SLOTS - 1);
}

static unsigned stack_hash(__u64 id)
{
	return mix64(id) & (TRACE_BLOCK_HASH_SLOTS - 1);
}

void trace_block_enc__reset(struct trace_block_enc *b)
{
	b->len = TRACE_BLOCK_HDR_LEN;
	b->nr = 0;
	memset(&b->prev, 0, sizeof(b->prev));
	b->nr_threads = b->nr_objects = b->nr_stacks = 0;
	memset(b->thread_slots, 0, sizeof(b->thread_slots));
	memset(b->object_slots, 0, sizeof(b->object_slots));
	memset(b->stack_slots, 0, sizeof(b->stack_slots));
}

/* The slot holding th, or the empty slot where it would go. */
static unsigned thread_slot(const struct trace_block_enc *b, const struct trace_block_thread *th)
{
	unsigned s = thread_hash(th);

	while (b->thread_slots[s]) {
		const struct trace_block_thread *x = &b->threads[b->thread_slots[s] - 1];

		if (x->pid == th->pid && x->tid == th->tid && !memcmp(x->comm, th->comm, sizeof(x->comm)))
			break;
		s = (s + 1) & (TRACE_BLOCK_HASH_SLOTS - 1);
	}
	return s;
}

static unsigned object_slot(const struct trace_block_enc *b, const struct trace_block_object *o)
{
	unsigned s = object_hash(o);

	while (b->object_slots[s] && memcmp(&b->objects[b->object_slots[s] - 1], o, sizeof(*o)))
		s = (s + 1) & (TRACE_BLOCK_HASH_SLOTS - 1);
	return s;
}

static unsigned stack_slot(const struct trace_block_enc *b, __u64 id)
{
	unsigned s = stack_hash(id);

	while (b->stack_slots[s] && b->stacks[b->stack_slots[s] - 1] != id)
		s = (s + 1) & (TRACE_BLOCK_HASH_SLOTS - 1);
	return s;
}

int trace_block_enc__add(struct trace_block_enc *b, const struct ipcrace_event *e)
{
	const struct ipcrace_event *prev = &b->prev;
	unsigned char tmp[TRACE_BLOCK_EVENT_MAX], *p = tmp + 1;
	struct trace_block_thread th, prev_th;
	struct trace_block_object o;
	unsigned tslot = 0, oslot = 0, sslot = 0;
	bool new_thread = false, new_object = false, new_stack = false;
	unsigned ctl = 0;
	size_t n;

	if (!e->type || e->type >= EV_TYPE_MAX || e->obj >= OBJ_KIND_MAX)
		return -EINVAL;	/* the reader would refuse the whole block */
	if (b->nr >= TRACE_BLOCK_MAX_EVENTS)
		return -ENOSPC;
	if (e->type != prev->type || !b->nr) {
		ctl |= BLK_TYPE;
		p = put_varint(p, e->type);
	}
	p = put_varint(p, zigzag(e->ts - prev->ts));

	/* raw bytes first: the same raw comm is the same string */
	if (e->pid != prev->pid || e->tid != prev->tid ||
	    memcmp(e->comm, prev->comm, sizeof(e->comm))) {
		thread_of(&th, e);
		thread_of(&prev_th, prev);
	} else {
		th = prev_th = (struct trace_block_thread){ 0 };
	}
	if (memcmp(&th, &prev_th, sizeof(th))) {
		ctl |= BLK_THREAD;
		tslot = thread_slot(b, &th);
		if (b->thread_slots[tslot]) {
			p = put_varint(p, b->thread_slots[tslot] - 1u);
		} else {
			if (b->nr_threads >= TRACE_BLOCK_TABLE_MAX)
				return -ENOSPC;
			new_thread = true;
			p = put_varint(p, b->nr_threads);
			p = put_varint(p, th.pid);
			p = put_varint(p, zigzag((__u64)((__s64)th.tid - (__s64)th.pid)));
			n = strlen(th.comm);
			*p++ = (unsigned char)n;
			memcpy(p, th.comm, n);
			p += n;
		}
	}

	if (!same_object(e, prev)) {
		object_of(&o, e);
		ctl |= BLK_OBJECT;
		oslot = object_slot(b, &o);
		if (b->object_slots[oslot]) {
			p = put_varint(p, b->object_slots[oslot] - 1u);
		} else {
			if (b->nr_objects >= TRACE_BLOCK_TABLE_MAX)
				return -ENOSPC;
			new_object = true;
			p = put_varint(p, b->nr_objects);
			p = put_varint(p, zigzag(o.addr - prev->addr));
			p = put_varint(p, o.obj);
			p = put_varint(p, o.key.space);
			p = put_varint(p, zigzag(o.key.a - prev->key.a));
			p = put_varint(p, zigzag((o.key.b - o.addr) - (prev->key.b - prev->addr)));
			p = put_varint(p, zigzag((o.key.c - o.addr) - (prev->key.c - prev->addr)));
		}
	}

	if (e->stack_id != prev->stack_id) {
		ctl |= BLK_STACK;
		if (!e->stack_id) {
			*p++ = 0;
		} else {
			sslot = stack_slot(b, e->stack_id);
			if (b->stack_slots[sslot]) {
				p = put_varint(p, b->stack_slots[sslot]);
			} else {
				if (b->nr_stacks >= TRACE_BLOCK_TABLE_MAX)
					return -ENOSPC;
				new_stack = true;
				p = put_varint(p, b->nr_stacks + 1u);
				memcpy(p, &e->stack_id, sizeof(e->stack_id));
				p += sizeof(e->stack_id);
			}
		}
	}
	if (e->arg0 != prev->arg0) {
		ctl |= BLK_ARG0;
		p = put_varint(p, zigzag(e->arg0 - prev->arg0));
	}
	if (e->arg1 != prev->arg1) {
		ctl |= BLK_ARG1;
		p = put_varint(p, zigzag(e->arg1 - prev->arg1));
	}
	if (e->result != prev->result) {
		ctl |= BLK_RESULT;
		p = put_varint(p, zigzag((__u64)(__s64)e->result));
	}
	if (e->flags != prev->flags) {
		ctl |= BLK_FLAGS;
		p = put_varint(p, e->flags);
	}
	tmp[0] = (unsigned char)ctl;
	n = (size_t)(p - tmp);
	if (b->len + n > sizeof(b->data))
		return -ENOSPC;

	/* it fits: commit */
	memcpy(b->data + b->len, tmp, n);
	b->len += n;
	b->nr++;
	if (new_thread) {
		b->threads[b->nr_threads++] = th;
		b->thread_slots[tslot] = (__u16)b->nr_threads;
	}
	if (new_object) {
		b->objects[b->nr_objects++] = o;
		b->object_slots[oslot] = (__u16)b->nr_objects;
	}
	if (new_stack) {
		b->stacks[b->nr_stacks++] = e->stack_id;
		b->stack_slots[sslot] = (__u16)b->nr_stacks;
	}
	b->prev = *e;
	return 0;
}

const void *trace_block__seal(__u8 *data, size_t nr, size_t used, size_t *len)
{
	__u16 n = (__u16)nr;

	*len = 0;
	if (!nr)
		return NULL;
	memcpy(data, &n, sizeof(n));
	*len = used;
	return data;
}

const void *trace_block_enc__finish(struct trace_block_enc *b, size_t *len)
{
	return trace_block__seal(b->data, b->nr, b->len, len);
}

/* A varint of at most 10 bytes before end: false when cut or longer. */
static inline bool get_varint(const unsigned char **pp, const unsigned char *end, __u64 *v)
{
	const unsigned char *p = *pp;
	__u64 x = 0;
	unsigned shift = 0;

	/* one and two bytes first: most values of a block */
	if (p < end && *p < 0x80) {
		*v = *p;
		*pp = p + 1;
		return true;
	}
	if (end - p >= 2 && p[1] < 0x80) {
		*v = (__u64)(p[0] & 0x7f) | (__u64)p[1] << 7;
		*pp = p + 2;
		return true;
	}
	while (p < end && shift < 70) {
		unsigned char c = *p++;

		x |= (__u64)(c & 0x7f) << shift;
		if (c < 0x80) {
			if (shift == 63 && c > 1)
				return false;	/* more than 64 bits */
			*v = x;
			*pp = p;
			return true;
		}
		shift += 7;
	}
	return false;
}

bool trace_block__get_varint(const unsigned char **p, const unsigned char *end, __u64 *v)
{
	return get_varint(p, end, v);
}

/*
 * Most bytes one event can take in a block, whatever its bytes: the ctl
 * byte, 17 varints of at most 10 bytes (type, time, thread and its pid and
 * tid, object and its six fields, stack, arg0, arg1, result, flags), a
 * comm of at most 15 bytes and its length, a stack id.
 */
#define EVENT_BYTES_MAX (1u + 17u * 10u + 16u + 8u)

/* get_varint with at least 10 bytes before the block's end: no bound to check. */
static inline bool get_varint_room(const unsigned char **pp, __u64 *v)
{
	const unsigned char *p = *pp;

	if (p[0] < 0x80) {
		*v = p[0];
		*pp = p + 1;
		return true;
	}
	if (p[1] < 0x80) {
		*v = (__u64)(p[0] & 0x7f) | (__u64)p[1] << 7;
		*pp = p + 2;
		return true;
	}
	return get_varint(pp, p + 10, v);
}

#define BAD(msg)		\
	do {			\
		*why = (msg);	\
		return -EINVAL;	\
	} while (0)

/* room: the event cannot reach the block's end (EVENT_BYTES_MAX) */
#define VARINT(v)							\
	do {								\
		if (!(room ? get_varint_room(&p, &(v)) : get_varint(&p, end, &(v)))) \
			BAD("event block: value cut off or too long");	\
	} while (0)

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the event block decoder stores field pairs as little-endian words"
#endif

static inline void store64(struct ipcrace_event *e, size_t off, __u64 v)
{
	memcpy((unsigned char *)e + off, &v, sizeof(v));
}

/*
 * The state is kept in scalars and each event stored field by field: an
 * event struct updated in place and then copied whole would load 16 bytes
 * over a narrower store just made (a store-forwarding stall: half of the
 * decoder's time when it did).
 */
int trace_block__decode(struct trace_block_dec *d, const unsigned char *data, size_t len,
			struct ipcrace_event *out, const char **why)
{
	const unsigned char *p = data, *end = data + len;
	unsigned nr_threads = 0, nr_objects = 0, nr_stacks = 0;
	__u64 ts = 0, stack_id = 0, addr = 0, arg0 = 0, arg1 = 0, ka = 0, kb = 0, kc = 0;
	__u64 comm_lo = 0, comm_hi = 0;
	__u32 pid = 0, tid = 0, space = 0, flags = 0, type = 0, obj = 0;
	__s32 result = 0;
	__u16 nr;
	__u64 v;

	*why = NULL;
	if (len < TRACE_BLOCK_HDR_LEN)
		BAD("event block shorter than its count");
	memcpy(&nr, p, sizeof(nr));
	p += sizeof(nr);
	if (!nr || nr > TRACE_BLOCK_MAX_EVENTS)
		BAD("event block count out of range");

	for (unsigned i = 0; i < nr; i++) {
		struct ipcrace_event *e = &out[i];
		bool room = (size_t)(end - p) >= EVENT_BYTES_MAX;
		unsigned ctl;

		if (p >= end)
			BAD("event block cut off");
		ctl = *p++;
		if (ctl & BLK_TYPE) {
			VARINT(v);
			if (!v || v >= EV_TYPE_MAX)
				BAD("event type out of range");
			type = (__u32)v;
		} else if (!i) {
			BAD("first event of a block without its type");
		}
		VARINT(v);
		ts += unzigzag(v);
		if (ctl & BLK_THREAD) {
			const struct trace_block_thread *th;

			VARINT(v);
			if (v == nr_threads) {
				struct trace_block_thread *nt = &d->threads[nr_threads];
				__u64 npid, dtid, ntid;

				if (nr_threads >= TRACE_BLOCK_TABLE_MAX)
					BAD("event block: too many threads");
				VARINT(npid);
				VARINT(dtid);
				ntid = npid + unzigzag(dtid);
				if (npid > 0xffffffffull || ntid > 0xffffffffull)
					BAD("event block: thread id out of range");
				if (p >= end || *p >= IPCRACE_COMM_LEN || (size_t)(end - p) < 1u + *p)
					BAD("event block: comm cut off or too long");
				nt->pid = (__u32)npid;
				nt->tid = (__u32)ntid;
				memset(nt->comm, 0, sizeof(nt->comm));
				memcpy(nt->comm, p + 1, *p);
				p += 1 + *p;
				nr_threads++;
			} else if (v > nr_threads) {
				BAD("event block: reference to no thread");
			}
			th = &d->threads[v];
			pid = th->pid;
			tid = th->tid;
			memcpy(&comm_lo, th->comm, 8);
			memcpy(&comm_hi, th->comm + 8, 8);
		}
		if (ctl & BLK_OBJECT) {
			const struct trace_block_object *o;

			VARINT(v);
			if (v == nr_objects) {
				struct trace_block_object *no = &d->objects[nr_objects];
				__u64 daddr, nobj, nspace, da, db, dc;

				if (nr_objects >= TRACE_BLOCK_TABLE_MAX)
					BAD("event block: too many objects");
				VARINT(daddr);
				VARINT(nobj);
				VARINT(nspace);
				VARINT(da);
				VARINT(db);
				VARINT(dc);
				if (nobj >= OBJ_KIND_MAX)
					BAD("event object kind out of range");
				if (nspace > 0xffffffffull)
					BAD("event block: key space out of range");
				memset(no, 0, sizeof(*no));
				no->addr = addr + unzigzag(daddr);
				no->obj = (__u32)nobj;
				no->key.space = (__u32)nspace;
				no->key.a = ka + unzigzag(da);
				no->key.b = no->addr + (kb - addr) + unzigzag(db);
				no->key.c = no->addr + (kc - addr) + unzigzag(dc);
				nr_objects++;
			} else if (v > nr_objects) {
				BAD("event block: reference to no object");
			}
			o = &d->objects[v];
			addr = o->addr;
			ka = o->key.a;
			kb = o->key.b;
			kc = o->key.c;
			space = o->key.space;
			obj = o->obj;
		}
		if (ctl & BLK_STACK) {
			VARINT(v);
			if (!v) {
				stack_id = 0;
			} else if (v == nr_stacks + 1u) {
				if (nr_stacks >= TRACE_BLOCK_TABLE_MAX)
					BAD("event block: too many stacks");
				if ((size_t)(end - p) < sizeof(stack_id))
					BAD("event block: stack id cut off");
				memcpy(&stack_id, p, sizeof(stack_id));
				p += sizeof(stack_id);
				d->stacks[nr_stacks++] = stack_id;
			} else if (v > nr_stacks) {
				BAD("event block: reference to no stack");
			} else {
				stack_id = d->stacks[v - 1];
			}
		}
		if (ctl & BLK_ARG0) {
			VARINT(v);
			arg0 += unzigzag(v);
		}
		if (ctl & BLK_ARG1) {
			VARINT(v);
			arg1 += unzigzag(v);
		}
		if (ctl & BLK_RESULT) {
			__s64 res;

			VARINT(v);
			res = (__s64)unzigzag(v);
			if (res < INT32_MIN || res > INT32_MAX)
				BAD("event block: result out of range");
			result = (__s32)res;
		}
		if (ctl & BLK_FLAGS) {
			VARINT(v);
			if (v > 0xffffffffull)
				BAD("event block: flags out of range");
			flags = (__u32)v;
		}
		/* eight bytes a store (the layout is checked in trace_format.h) */
		store64(e, 0, IPCRACE_REC_EVENT | (__u64)sizeof(*e) << 32);
		e->ts = ts;
		e->stack_id = stack_id;
		e->addr = addr;
		e->arg0 = arg0;
		e->arg1 = arg1;
		e->key.a = ka;
		e->key.b = kb;
		e->key.c = kc;
		store64(e, offsetof(struct ipcrace_event, key.space), space);
		store64(e, offsetof(struct ipcrace_event, pid), pid | (__u64)tid << 32);
		store64(e, offsetof(struct ipcrace_event, type),
			type | obj << 16 | (__u64)(__u32)result << 32);
		store64(e, offsetof(struct ipcrace_event, flags), flags);
		memcpy(e->comm, &comm_lo, 8);
		memcpy(e->comm + 8, &comm_hi, 8);
	}
	if (p != end)
		BAD("event block: bytes after its last event");
	return nr;
}
