// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The happens-before edges of barriers, pthread_once, connect/accept and
 * atomic words (hb.h lists them; hb_internal.h has the state). Locks,
 * channels, futexes and the thread lifecycle are in hb.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "hb_internal.h"

/* PTHREAD_BARRIER_SERIAL_THREAD: one waiter per round gets it, not an error. */
#define BARRIER_SERIAL (-1)

/* glibc's pthread_once_t states (nptl/pthread_once.c). */
#define ONCE_INPROGRESS 1u
#define ONCE_DONE 2u

void hb_sync__free(struct hb *hb)
{
	size_t i;
	int r;

	for (i = 0; i < hb->nr_barriers; i++) {
		vclock__fini(&hb->barriers[i].open);
		for (r = 0; r < HB_BARRIER_ROUNDS; r++)
			vclock__fini(&hb->barriers[i].closed[r]);
	}
	free(hb->barriers);
	keymap__free(hb->barrier_index);
	for (i = 0; i < hb->nr_connects; i++)
		vclock__fini(&hb->connects[i].vc);
	free(hb->connects);
	keymap__free(hb->atomics);
	keymap__free(hb->atomic_writes);
	keymap__free(hb->discarded);
	keymap__free(hb->rmw_order);
}

/* --- barriers -------------------------------------------------------------- */

static int barrier_get(struct hb *hb, const struct ipcrace_event *e, size_t *out)
{
	struct ipcrace_key k;
	struct hb_barrier *b;
	__u64 v;
	int err;

	if (!hb_obj_key(e, HB_CLASS_NONE, &k))
		return -ENOENT;
	if (keymap__get(hb->barrier_index, &k, &v)) {
		*out = v;
		return 0;
	}
	err = array__reserve(&hb->barriers, &hb->cap_barriers, hb->nr_barriers + 1,
			     sizeof(*hb->barriers));
	if (err)
		return err;
	err = keymap__set(hb->barrier_index, &k, hb->nr_barriers);
	if (err)
		return err;
	b = &hb->barriers[hb->nr_barriers];
	memset(b, 0, sizeof(*b));
	*out = hb->nr_barriers++;
	return 0;
}

/* A new round count: earlier arrivals belong to another barrier. */
static void barrier_restart(struct hb_barrier *b, __u32 count)
{
	int r;

	vclock__fini(&b->open);
	vclock__init(&b->open);
	for (r = 0; r < HB_BARRIER_ROUNDS; r++)
		b->closed_round[r] = 0;
	b->arrivals = 0;
	b->count = count;
}

/* pthread_barrier_init / destroy: whatever was counted before is over. */
int hb_barrier__reset(struct hb *hb, const struct ipcrace_event *e)
{
	__u64 v;
	struct ipcrace_key k;

	if (!hb_obj_key(e, HB_CLASS_NONE, &k) || !keymap__get(hb->barrier_index, &k, &v))
		return 0;
	barrier_restart(&hb->barriers[v], 0);
	return 0;
}

/*
 * Arrival: the thread's clock joins the open round. When the round is
 * full it closes; its departures take its clock. Without a count (not
 * read) every round shares one clock: more order, never less.
 */
int hb_barrier__arrive(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct hb_thread *th = &hb->threads[t];
	struct hb_barrier *b;
	__u32 count = (__u32)e->arg0;
	size_t idx;
	__u64 round;
	int err, slot;

	err = barrier_get(hb, e, &idx);
	if (err)
		return err == -ENOENT ? 0 : err;
	b = &hb->barriers[idx];
	if (count != b->count)
		barrier_restart(b, count);
	round = b->count ? b->arrivals / b->count : 0;
	err = vclock__join(&b->open, &th->vc);
	if (err)
		return err;
	th->barrier = idx + 1;
	th->barrier_round = round;
	b->arrivals++;
	if (b->count && b->arrivals % b->count == 0) {
		slot = round % HB_BARRIER_ROUNDS;
		err = vclock__copy(&b->closed[slot], &b->open);
		if (err)
			return err;
		b->closed_round[slot] = round + 1;
		vclock__fini(&b->open);
		vclock__init(&b->open);
	}
	return hb_thread_tick(hb, t);
}

int hb_barrier__depart(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct hb_thread *th = &hb->threads[t];
	struct hb_barrier *b;
	int slot;

	if (!th->barrier)
		return 0;
	b = &hb->barriers[th->barrier - 1];
	th->barrier = 0;
	if (e->result != 0 && e->result != BARRIER_SERIAL)
		return 0;
	slot = th->barrier_round % HB_BARRIER_ROUNDS;
	if (b->count && b->closed_round[slot] == th->barrier_round + 1)
		return vclock__join(&th->vc, &b->closed[slot]);
	/*
	 * The round never closed as counted (events lost, or a count not
	 * read): the arrivals so far are what it can have waited for.
	 */
	return vclock__join(&th->vc, &b->open);
}

/* --- pthread_once ------------------------------------------------------------ */

/*
 * The initializer stores "done" inside pthread_once and returns; a thread
 * that finds it done returns at once, and its return event can come before
 * the initializer's. So the object's clock starts, at the first return,
 * from the threads still inside pthread_once on it that found it not
 * started (one of them runs the initializer; a thread that found it in
 * progress only waits), and such a thread adds its clock when it returns.
 * Every return takes the object's clock. Two threads that both found it
 * not started are ordered although only one initialized (more order than
 * there is, never less).
 */
int hb_once__enter(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct hb_thread *th = &hb->threads[t];
	struct ipcrace_key k;

	if (!hb_obj_key(e, HB_CLASS_ONCE, &k))
		return 0;
	th->once = k;
	th->in_once = true;
	th->once_may_init = !((__u32)e->arg0 & (ONCE_INPROGRESS | ONCE_DONE));
	return 0;
}

int hb_once__return(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct hb_thread *th = &hb->threads[t];
	bool may_init = th->in_once && th->once_may_init;
	struct ipcrace_key k;
	struct hb_obj *o;
	__u32 i;
	int err = 0;

	if (!hb_obj_key(e, HB_CLASS_ONCE, &k))
		return 0;
	th->in_once = false;
	o = hb_obj_find(hb, &k);
	if (!o) {
		err = hb_obj_get(hb, &k, &o);
		for (i = 0; i < hb->ids.nr && !err; i++) {
			struct hb_thread *other = &hb->threads[i];

			if (i == t || other->exited || !other->in_once || !other->once_may_init ||
			    !ipcrace_key__equal(&other->once, &k))
				continue;
			err = vclock__join(&o->vc, &other->vc);
		}
	}
	/* only a thread that found it not started can have initialized it */
	if (!err && may_init)
		err = hb_release(hb, t, &o->vc);
	return err ? err : vclock__join(&th->vc, &o->vc);
}

/* --- connect / accept --------------------------------------------------------- */

static bool connect_inet(const struct ipcrace_key *k)
{
	return k->space == KEY_FILE && k->c == CHANKEY_CONNECT_INET;
}

/*
 * connect, at entry: a Unix connection is named exactly (the connecting
 * sock is the accepted one's peer). A TCP connector often has no port yet:
 * its clock waits in a list for the accept that names it.
 */
int hb_connect__connect(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct hb_connect *c;
	int err;

	if (!connect_inet(&e->key))
		return hb_release_to(hb, e, t, HB_CLASS_CONNECT);
	err = array__reserve(&hb->connects, &hb->cap_connects, hb->nr_connects + 1,
			     sizeof(*hb->connects));
	if (err)
		return err;
	c = &hb->connects[hb->nr_connects];
	vclock__init(&c->vc);
	err = vclock__copy(&c->vc, &hb->threads[t].vc);
	if (err) {
		vclock__fini(&c->vc);
		return err;
	}
	c->listener = e->key.a;
	c->connector = e->key.b;
	c->thread = t;
	hb->nr_connects++;
	return hb_thread_tick(hb, t);
}

/* connect returned: its channel key names the connector's own endpoint. */
int hb_connect__opened(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	size_t i;

	if (e->arg1 != (__u64)-1 || e->key.space != KEY_FILE || e->key.c != CHANKEY_INET_STREAM)
		return 0;
	for (i = hb->nr_connects; i-- > 0;) {
		struct hb_connect *c = &hb->connects[i];

		if (c->thread == t && !c->connector && c->listener == e->key.b) {
			c->connector = e->key.a;
			break;
		}
	}
	return 0;
}

static void connect_drop(struct hb *hb, size_t i)
{
	vclock__fini(&hb->connects[i].vc);
	hb->connects[i] = hb->connects[--hb->nr_connects];
}

static bool same_port(__u64 endpoint_a, __u64 endpoint_b)
{
	return (endpoint_a & 0xffff) == (endpoint_b & 0xffff);
}

/*
 * accept returned. TCP: the connect that names this connection (same
 * listener, same connector port); else those to this listener whose
 * connector is not known yet: exactly the one when there is one, all of
 * them when several (more order than there is, never less).
 */
int hb_connect__accept(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct vclock *vc = &hb->threads[t].vc;
	size_t i, nr_unknown = 0, unknown = 0;
	int err = 0;

	if (!connect_inet(&e->key))
		return hb_acquire_from(hb, e, t, HB_CLASS_CONNECT);
	for (i = 0; i < hb->nr_connects; i++) {
		struct hb_connect *c = &hb->connects[i];

		if (c->listener != e->key.a)
			continue;
		if (c->connector && same_port(c->connector, e->key.b)) {
			err = vclock__join(vc, &c->vc);
			connect_drop(hb, i);
			return err;
		}
		if (!c->connector) {
			nr_unknown++;
			unknown = i;
		}
	}
	if (nr_unknown == 1) {
		err = vclock__join(vc, &hb->connects[unknown].vc);
		connect_drop(hb, unknown);
		return err;
	}
	for (i = 0; i < hb->nr_connects && nr_unknown && !err; i++) {
		if (hb->connects[i].listener == e->key.a && !hb->connects[i].connector)
			err = vclock__join(vc, &hb->connects[i].vc);
	}
	return err;
}

/* --- atomic variables ------------------------------------------------------------ */

/*
 * An atomic variable is named by the key of its first byte (the access's
 * own key: the word it starts at, to the byte). A guard's first byte is one
 * too: __cxa_guard_release stores it, the compiler's fast path loads it.
 */
static bool atomic_key(const struct ipcrace_event *e, struct ipcrace_key *out)
{
	return hb_obj_key(e, HB_CLASS_NONE, out);
}

static int keymap_lazy(struct keymap **m)
{
	if (!*m)
		*m = keymap__new();
	return *m ? 0 : -ENOMEM;
}

/* hb->rmw_order keys: a thread's RMW count, its last RMW's variable, an update */
#define RMW_COUNT 1
#define RMW_LAST 2
#define RMW_UPDATE 3

static struct ipcrace_key rmw_key(__u32 pid, __u32 tid, __u64 kind, __u64 nth)
{
	struct ipcrace_key k = { .a = ((__u64)pid << 32) | tid, .b = nth, .c = kind };

	return k;
}

/* FNV-1a over a variable's key: which variable a thread's last RMW was on. */
static __u64 key_hash(const struct ipcrace_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	__u64 h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < offsetof(struct ipcrace_key, __pad); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h | 1;
}

/*
 * Before the first event (the driver's first pass): a thread's RMW of a
 * variable begins an update when the thread's next RMW is of the same
 * variable (a seqlock writer's two increments; a CAS lock's acquire and
 * release). hb_atomic__access counts the RMWs again to find them.
 */
static int rmw_note(struct hb *hb, const struct ipcrace_event *e, const struct ipcrace_key *var)
{
	struct ipcrace_key count = rmw_key(e->pid, e->tid, RMW_COUNT, 0);
	struct ipcrace_key last = rmw_key(e->pid, e->tid, RMW_LAST, 0);
	struct ipcrace_key update;
	__u64 n = 0, prev = 0, h = key_hash(var);
	int err = keymap_lazy(&hb->rmw_order);

	if (err)
		return err;
	keymap__get(hb->rmw_order, &count, &n);
	keymap__get(hb->rmw_order, &last, &prev);
	if (n && prev == h) {
		update = rmw_key(e->pid, e->tid, RMW_UPDATE, n - 1);
		err = keymap__set(hb->rmw_order, &update, 1);
	}
	if (!err)
		err = keymap__set(hb->rmw_order, &last, h);
	return err ? err : keymap__set(hb->rmw_order, &count, n + 1);
}

/* Does this RMW (thread t's, counted) begin an update? Only after a first pass. */
static bool rmw_begins_update(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct hb_thread *th = &hb->threads[t];
	struct ipcrace_key k;
	__u64 one;

	if (e->ts != th->last_rmw_ts || e->addr != th->last_rmw_addr || !th->rmws) {
		th->rmws++;
		th->last_rmw_ts = e->ts;
		th->last_rmw_addr = e->addr;
	}
	k = rmw_key(e->pid, e->tid, RMW_UPDATE, th->rmws - 1);
	return hb->rmw_order && keymap__get(hb->rmw_order, &k, &one);
}

int hb__note_atomic(struct hb *hb, const struct ipcrace_event *e)
{
	struct ipcrace_key k;
	bool atomic = (e->type == EV_MEM_ACCESS &&
		       (e->flags & (EVF_ATOMIC | EVF_RELAXED | EVF_ORDERED))) ||
		      e->type == EV_GUARD_RELEASE || e->type == EV_GUARD_ACQUIRE_RET;
	int err;

	if (!atomic || !atomic_key(e, &k))
		return 0;
	err = keymap__set(hb->atomics, &k, 1);
	/* a relaxed RMW begins no update (hb_atomic__access does not count it), a plain move is none */
	if (!err && e->type == EV_MEM_ACCESS && (e->flags & EVF_ATOMIC) && !(e->flags & EVF_RELAXED)) {
		k.__pad = 0;
		err = rmw_note(hb, e, &k);
	}
	return err;
}

bool hb__atomic_location(const struct hb *hb, const struct ipcrace_key *k)
{
	struct ipcrace_key key = *k;
	__u64 one;

	key.__pad = 0;
	return keymap__get(hb->atomics, &key, &one);
}

/*
 * A debug register reports an access after it happened, each CPU in its
 * own time: a lock's release (a plain store, a LOCK-prefixed RMW) can
 * reach the trace a few microseconds after the exchange that it let win
 * on another CPU (8 us seen on the test VM, 2 busy cores). A write of an
 * atomic variable that comes this soon after another thread's RMW of it
 * may have come first: that thread takes the write's order too, from the
 * write on (its accesses in between are not rechecked).
 */
#define HB_ATOMIC_SKEW_NS 100000ull
/* hb->atomics values: the last RMW's thread + 1 above its ts, 0: none */
#define HB_ATOMIC_TS_BITS 40
#define HB_ATOMIC_TS_MASK ((1ull << HB_ATOMIC_TS_BITS) - 1)

static __u64 atomic_last_rmw(__u32 t, __u64 ts)
{
	return ((__u64)(t + 1) << HB_ATOMIC_TS_BITS) | (ts & HB_ATOMIC_TS_MASK);
}

/* The thread whose RMW of the variable may come after this write, or -1. */
static long atomic_skewed_rmw(const struct hb *hb, const struct ipcrace_key *k,
			      const struct ipcrace_event *e, __u32 t)
{
	__u64 last, age;
	__u32 other;

	if (!keymap__get(hb->atomics, k, &last) || !(last >> HB_ATOMIC_TS_BITS))
		return -1;
	other = (last >> HB_ATOMIC_TS_BITS) - 1;
	age = (e->ts - last) & HB_ATOMIC_TS_MASK;
	if (other == t || other >= hb->ids.nr || hb->threads[other].exited ||
	    age > HB_ATOMIC_SKEW_NS)
		return -1;
	return other;
}


/* --- read sections: copies a seqlock reader throws away -------------------------- */

/*
 * A seqlock reader loads the sequence (an atomic variable), copies the data
 * with plain loads, and loads the sequence again; when a writer changed it
 * in between, or it was odd (a writer inside), the copy is thrown away and
 * made again. The copy's loads may overlap the writer's stores: not a race
 * that matters, the values are never used. Epochs name the pieces: a write
 * of an atomic variable ticks its thread, and the thread's accesses up to
 * its next release are a write epoch (a seqlock writer's update); a plain
 * load of an atomic variable ticks its thread too, and its accesses up to
 * its next atomic access are a read section (a copy). A plain read of a
 * read section and a plain write of a write epoch conflict not when
 *  - another thread wrote the section's variable before the section ended
 *    (the sequence moved: thrown away), or
 *  - the section's thread had seen the write that began the write epoch
 *    (the sequence was odd: a reader that waits for an even sequence made
 *    its real first load after the writer's next write, whose trap reached
 *    the trace late, and a reader that does not wait throws the copy away).
 * Everything else is ordered as before: a kept copy's first load took the
 * last write's order, and the writer's next write takes the reader's
 * (read_vc). What this misses: a real race between a plain read right after
 * a load of an atomic variable and a plain write right after a write of an
 * atomic variable, when those overlap as above.
 */
static __u64 atomic_writes(const struct hb *hb, const struct ipcrace_key *k)
{
	__u64 n = 0;

	if (hb->atomic_writes)
		keymap__get(hb->atomic_writes, k, &n);
	return n;
}

static int atomic_count_write(struct hb *hb, const struct ipcrace_key *k)
{
	int err = keymap_lazy(&hb->atomic_writes);

	return err ? err : keymap__set(hb->atomic_writes, k, atomic_writes(hb, k) + 1);
}

/* hb->discarded keys: a thrown-away read section, or a write epoch */
#define EPOCH_DISCARDED 1
#define EPOCH_WRITE 2
#define EPOCH_SECTION 3
#define EPOCH_UPDATE 4

static struct ipcrace_key epoch_key(__u32 thread, __u32 clock, __u64 kind)
{
	struct ipcrace_key k = { .a = thread, .b = clock, .c = kind };

	return k;
}

static bool epoch_marked(const struct hb *hb, struct hb_epoch ep, __u64 kind)
{
	struct ipcrace_key k = epoch_key(ep.thread, ep.clock, kind);
	__u64 one;

	return hb->discarded && keymap__get(hb->discarded, &k, &one);
}

static int epoch_mark(struct hb *hb, __u32 thread, __u32 clock, __u64 kind)
{
	struct ipcrace_key k = epoch_key(thread, clock, kind);
	int err = keymap_lazy(&hb->discarded);

	return err ? err : keymap__set(hb->discarded, &k, 1);
}

/* The thread's section, if open, ends here: thrown away when written meanwhile. */
static int section_close(struct hb *hb, __u32 t)
{
	struct hb_thread *th = &hb->threads[t];

	if (!th->in_section)
		return 0;
	th->in_section = false;
	if (atomic_writes(hb, &th->section_word) == th->section_writes)
		return 0;
	return epoch_mark(hb, t, th->section_clock, EPOCH_DISCARDED);
}

static int section_open(struct hb *hb, __u32 t, const struct ipcrace_key *word)
{
	struct hb_thread *th = &hb->threads[t];

	th->section_word = *word;
	th->section_writes = atomic_writes(hb, word);
	th->section_clock = vclock__get(&th->vc, t);
	th->in_section = true;
	return epoch_mark(hb, t, th->section_clock, EPOCH_SECTION);
}

/* Is `read` in a read section thrown away because the sequence moved? */
static bool section_moved(const struct hb *hb, struct hb_epoch read)
{
	const struct hb_thread *th = &hb->threads[read.thread];

	/* still open: thrown away once the variable has been written since */
	if (th->in_section && th->section_clock == read.clock)
		return atomic_writes(hb, &th->section_word) != th->section_writes;
	return epoch_marked(hb, read, EPOCH_DISCARDED);
}

bool hb__read_discarded(const struct hb *hb, struct hb_epoch read, struct hb_epoch write)
{
	const struct hb_thread *reader;

	if (read.thread >= hb->ids.nr || write.thread >= hb->ids.nr ||
	    read.thread == write.thread || !epoch_marked(hb, write, EPOCH_WRITE))
		return false;
	reader = &hb->threads[read.thread];
	if (!epoch_marked(hb, read, EPOCH_SECTION) &&
	    !(reader->in_section && reader->section_clock == read.clock))
		return false;
	if (section_moved(hb, read))
		return true;
	/*
	 * The reader saw the RMW that began an update (the writer's next RMW
	 * is of the same variable): an odd sequence.
	 */
	return epoch_marked(hb, write, EPOCH_UPDATE) &&
	       vclock__get(&reader->vc, write.thread) + 1 == write.clock;
}

/*
 * A plain load an access probe recorded at the load itself, before it
 * ran: the kernel runs it after the probe, and a thread preempted in
 * between (a busy machine) runs it late. Loads recorded after they ran
 * carry EVF_AFTER_RUN (the probe after an acquire load), watchpoint hits
 * have no EVF_PROBE, atomics are recorded after they ran.
 */
static bool load_recorded_before(const struct ipcrace_event *e)
{
	return (e->flags & EVF_PROBE) && !(e->flags & (EVF_ATOMIC | EVF_WRITE | EVF_AFTER_RUN));
}

/*
 * Thread t's event e after such a load: the load ran before e, and what
 * it read may be a release that reached the trace between its record and
 * e (another process's exchange of a flag this process only loads and
 * stores, before the probes know the flag as atomic here, or before the
 * probe after the load is attached: the flag's message would look
 * unordered). The load takes the variable's order as it is
 * now. What it cannot tell: a release that came after the load ran; a
 * race ordered by that one alone is missed (README, "Limits").
 */
int hb_atomic__load_ran(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct hb_thread *th = &hb->threads[t];
	size_t obj = th->load_pending;

	/* the load's own record again (race.c feeds each access twice) */
	if (e->type == EV_MEM_ACCESS && e->ts == th->load_pending_ts)
		return 0;
	th->load_pending = 0;
	if (obj > hb->nr_objs)
		return 0;
	return vclock__join(&th->vc, &hb->objs[obj - 1].vc);
}

/*
 * x86-TSO, on an atomic variable: a write (a LOCK-prefixed RMW, an XCHG,
 * a plain store: a C11 release or seq_cst store, a test-and-set unlock)
 * takes what every earlier access of the variable released and releases
 * into vc; a plain load (a C11 acquire load) takes vc, what the writes
 * before it released, and releases into read_vc, which only later writes
 * take: what a thread did before loading a value is before any write that
 * replaces that value (TSO keeps loads in order and a LOCK-prefixed RMW is
 * a full barrier; that is how a seqlock reader's data reads come before
 * the writer's next update). Two loads do not order each other. Plain
 * accesses to other words are data: no edge.
 */
int hb_atomic__access(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct vclock *vc = &hb->threads[t].vc;
	bool write = e->flags & (EVF_ATOMIC | EVF_WRITE);
	struct ipcrace_key k, tagged;
	struct hb_obj *o;
	long skewed = -1;
	int err;

	if (!atomic_key(e, &k))
		return 0;
	k.__pad = 0;
	if (!(e->flags & EVF_ATOMIC) && !hb__atomic_location(hb, &k))
		return 0;
	/*
	 * A relaxed atomic (EVF_RELAXED: its source says memory_order_relaxed)
	 * orders nothing: x86 would, C11 does not, and a program whose
	 * correctness rests on it has a race on every other platform. Its
	 * location is atomic all the same (hb__note_atomic): never data.
	 */
	if (e->flags & EVF_RELAXED)
		return 0;
	err = section_close(hb, t);
	if (!err && write)
		err = atomic_count_write(hb, &k);
	if (err)
		return err;
	if (write)
		skewed = atomic_skewed_rmw(hb, &k, e, t);
	/* a write replaces the last RMW: a later write is not skewed against it */
	if (e->flags & EVF_ATOMIC)
		err = keymap__set(hb->atomics, &k, atomic_last_rmw(t, e->ts));
	else
		err = write ? keymap__set(hb->atomics, &k, 1) : 0;
	if (err)
		return err;
	tagged = hb_tagged_key(k, HB_CLASS_ATOMIC);
	err = hb_obj_get(hb, &tagged, &o);
	if (err)
		return err;
	err = vclock__join(vc, &o->vc);
	if (err)
		return err;
	if (!write) {
		if (load_recorded_before(e)) {
			hb->threads[t].load_pending = (size_t)(o - hb->objs) + 1;
			hb->threads[t].load_pending_ts = e->ts;
		}
		err = hb_release(hb, t, &o->read_vc);
		return err ? err : section_open(hb, t, &k);
	}
	err = vclock__join(vc, &o->read_vc);
	if (!err)
		err = hb_release(hb, t, &o->vc);
	if (!err)
		err = epoch_mark(hb, t, vclock__get(vc, t), EPOCH_WRITE);
	if (!err && (e->flags & EVF_ATOMIC) && rmw_begins_update(hb, e, t))
		err = epoch_mark(hb, t, vclock__get(vc, t), EPOCH_UPDATE);
	if (!err && skewed >= 0)
		err = vclock__join(&hb->threads[skewed].vc, &o->vc);
	return err;
}

/*
 * The release half of an atomic RMW, recorded before the RMW ran
 * (EV_ATOMIC_RELEASE): what the thread did so far goes into the variable,
 * as the RMW's own record does again after it ran. Recorded only after, a
 * load that read the RMW's value could come first in the stream and miss
 * it. Nothing else: the RMW's record counts the write, acquires, and
 * closes a read section.
 */
int hb_atomic__release(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct ipcrace_key k;
	struct hb_obj *o;
	int err;

	if ((e->flags & EVF_RELAXED) || !atomic_key(e, &k))
		return 0;
	k.__pad = 0;
	k = hb_tagged_key(k, HB_CLASS_ATOMIC);
	err = hb_obj_get(hb, &k, &o);
	return err ? err : hb_release(hb, t, &o->vc);
}

/*
 * __cxa_guard_release, at entry: the initializer is done and the guard's
 * first byte is set next. A later __cxa_guard_acquire that returns 0, or
 * the compiler's inline load of that byte, takes this order.
 */
int hb_guard__release(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct ipcrace_key k;
	struct hb_obj *o;
	int err;

	if (!atomic_key(e, &k))
		return 0;
	err = keymap__set(hb->atomics, &k, 1);
	if (err)
		return err;
	k = hb_tagged_key(k, HB_CLASS_ATOMIC);
	err = hb_obj_get(hb, &k, &o);
	return err ? err : hb_release(hb, t, &o->vc);
}

/* __cxa_guard_acquire returned 0: another thread's initializer finished. */
int hb_guard__acquired(struct hb *hb, const struct ipcrace_event *e, __u32 t)
{
	struct ipcrace_key k;
	struct hb_obj *o;

	if (e->result != 0 || !atomic_key(e, &k))
		return 0;
	k = hb_tagged_key(k, HB_CLASS_ATOMIC);
	o = hb_obj_find(hb, &k);
	return o ? vclock__join(&hb->threads[t].vc, &o->vc) : 0;
}
