// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The access-probe planner (access_plan.h). */
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../analyzer/array.h"
#include "access_plan.h"
#include "access_cover.h"
#include "access_decode.h"
#include "access_sites.h"
#include "elf_syms.h"
#include "insn_classify.h"

struct access_plan {
	csh cs;
	struct access_site *sites;
	size_t nr_sites;
	size_t cap_sites;
	size_t nr_groups;
	size_t group_sites;	/* sites in the current group */
	size_t nr_memory_insns;
	size_t nr_atomic_before;	/* XCHGs recorded before they run */
	size_t nr_release_before;	/* atomics whose release is recorded before they run */
	size_t nr_release_after;	/* ... whose release is only recorded after */
	size_t nr_loads_kept;	/* loads an RMW covers, kept for their order */
	size_t skipped[ASKIP_MAX];
};

static const char *const skip_names[ASKIP_MAX] = {
	[ASKIP_STACK] = "own stack",
	[ASKIP_BRANCH] = "indirect branch",
	[ASKIP_ATOMIC_NEXT] = "atomic with no safe next instruction",
	[ASKIP_VSIB] = "gather/scatter",
	[ASKIP_ADDRESSING] = "unusual addressing",
	[ASKIP_TOO_MANY] = "too many operands",
	[ASKIP_UNDECODABLE] = "undecodable",
};

const char *access_skip__name(enum access_skip why)
{
	return why < ASKIP_MAX ? skip_names[why] : "?";
}

struct access_plan *access_plan__new(void)
{
	struct access_plan *p = calloc(1, sizeof(*p));

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &p->cs) != CS_ERR_OK) {
		free(p);
		errno = EINVAL;
		return NULL;
	}
	cs_option(p->cs, CS_OPT_DETAIL, CS_OPT_ON);
	return p;
}

void access_plan__free(struct access_plan *p)
{
	if (!p)
		return;
	cs_close(&p->cs);
	free(p->sites);
	free(p);
}

size_t access_plan__count(const struct access_plan *p)
{
	return p->nr_sites;
}

const struct access_site *access_plan__site(const struct access_plan *p, size_t i)
{
	return i < p->nr_sites ? &p->sites[i] : NULL;
}

void access_plan__add_op_flags(struct access_plan *p, size_t i, __u32 op, __u16 flags)
{
	struct access_operand *o;

	if (i >= p->nr_sites || op >= p->sites[i].desc.nr_ops || op >= ACCESS_OPS_MAX)
		return;
	o = &p->sites[i].desc.ops[op];
	o->flags |= flags;
	/*
	 * A relaxed load orders nothing (the analyzer only notes its location
	 * as atomic): recorded before it runs is as good as after, and a probe
	 * after it would cost a single-step at every run for nothing.
	 */
	if (o->flags & AOP_RELAXED)
		o->flags &= ~AOP_POSTABLE;
}

size_t access_plan__nr_groups(const struct access_plan *p)
{
	return p->nr_sites ? p->sites[p->nr_sites - 1].desc.group + 1 : 0;
}

size_t access_plan__nr_memory_insns(const struct access_plan *p)
{
	return p->nr_memory_insns;
}

size_t access_plan__nr_atomic_before(const struct access_plan *p)
{
	return p->nr_atomic_before;
}

size_t access_plan__nr_release_before(const struct access_plan *p)
{
	return p->nr_release_before;
}

size_t access_plan__nr_release_after(const struct access_plan *p)
{
	return p->nr_release_after;
}

size_t access_plan__nr_loads_kept(const struct access_plan *p)
{
	return p->nr_loads_kept;
}

size_t access_plan__skipped(const struct access_plan *p, enum access_skip why)
{
	return why < ASKIP_MAX ? p->skipped[why] : 0;
}

static bool any_atomic(const struct access_operand *ops, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (ops[i].flags & AOP_ATOMIC)
			return true;
	return false;
}

/*
 * A site with an atomic operand is a group of its own: its probe is never
 * detached (bpf/access.bpf.c never caps it), and a plain group's detach
 * must not take it along.
 */
static int site_add(struct access_plan *p, __u64 vaddr, __u64 offset, __u64 next_offset,
		    const struct access_operand *ops, size_t nr)
{
	bool atomic = any_atomic(ops, nr);
	struct access_site *s;
	int err;

	if (p->group_sites == ACCESS_GROUP_SITES || (atomic && p->group_sites)) {
		p->nr_groups++;
		p->group_sites = 0;
	}
	err = array__reserve(&p->sites, &p->cap_sites, p->nr_sites + 1, sizeof(*p->sites));
	if (err)
		return err;
	s = &p->sites[p->nr_sites++];
	memset(s, 0, sizeof(*s));
	s->vaddr = vaddr;
	s->offset = offset;
	s->next_offset = next_offset;
	s->desc.nr_ops = nr;
	s->desc.group = p->nr_groups;
	memcpy(s->desc.ops, ops, nr * sizeof(*ops));
	p->group_sites++;
	if (atomic) {
		p->nr_groups++;
		p->group_sites = 0;
	}
	return 0;
}

/*
 * The last site planned is insns[i - 1]'s: it takes the release operands
 * too when there is room, in a group of its own (an atomic site is never
 * detached, plain sites around it may be).
 */
static bool release_join_last(struct access_plan *p, __u64 vaddr,
			      const struct access_operand *rel, size_t nr)
{
	struct access_site *s = p->nr_sites ? &p->sites[p->nr_sites - 1] : NULL;

	if (!s || s->vaddr != vaddr || s->desc.nr_ops + nr > ACCESS_OPS_MAX)
		return false;
	memcpy(&s->desc.ops[s->desc.nr_ops], rel, nr * sizeof(*rel));
	s->desc.nr_ops += nr;
	if (p->group_sites > 1) {
		p->group_sites--;
		s->desc.group = ++p->nr_groups;
	}
	if (p->group_sites) {
		p->nr_groups++;
		p->group_sites = 0;
	}
	return true;
}

/*
 * Plans where the release half of the atomic insns[i] is recorded before
 * it runs (AOP_RELEASE): at the atomic itself when it has no LOCK prefix
 * (returned in own, for its own site), else at insns[i - 1]. carry: its
 * operands as evaluated after it, at insns[i + 1].
 */
static int plan_release(struct access_plan *p, const struct func_info *fi, const cs_insn *insns,
			size_t i, __u64 vaddr0, __u64 offset0, const struct access_operand *carry,
			size_t nr_carry, struct access_operand *own, size_t *nr_own)
{
	const cs_insn *insn = &insns[i];
	struct access_operand rel[ACCESS_OPS_MAX];
	__s8 back;

	for (size_t k = 0; k < nr_carry; k++) {
		rel[k] = carry[k];
		rel[k].flags |= AOP_RELEASE;
		rel[k].ip_delta = 0;
		rel[k].rip_delta = (__s8)insn->size;
	}
	if (insn->detail->x86.prefix[0] != X86_PREFIX_LOCK) {
		if (*nr_own + nr_carry > ACCESS_OPS_MAX) {
			p->nr_release_after++;
			return 0;
		}
		memcpy(&own[*nr_own], rel, nr_carry * sizeof(*rel));
		*nr_own += nr_carry;
		p->nr_release_before++;
		return 0;
	}
	if (!access_sites__release_before(p->cs, fi, insns, i, carry, nr_carry)) {
		p->nr_release_after++;
		return 0;
	}
	back = (__s8)insns[i - 1].size;
	for (size_t k = 0; k < nr_carry; k++) {
		rel[k].ip_delta = back;
		rel[k].rip_delta = (__s8)(back + insn->size);
	}
	p->nr_release_before++;
	if (release_join_last(p, insns[i - 1].address, rel, nr_carry))
		return 0;
	if (p->nr_sites && p->sites[p->nr_sites - 1].vaddr == insns[i - 1].address) {
		/* its probe is full: the release is recorded after the atomic */
		p->nr_release_before--;
		p->nr_release_after++;
		return 0;
	}
	return site_add(p, insns[i - 1].address, offset0 + (insns[i - 1].address - vaddr0), 0,
			rel, nr_carry);
}

/* Whether every operand of s is the thread's own frame, none atomic. */
static bool site_frame_only(const struct access_site *s)
{
	if (!s->desc.nr_ops)
		return false;
	for (size_t i = 0; i < s->desc.nr_ops && i < ACCESS_OPS_MAX; i++)
		if (!(s->desc.ops[i].flags & AOP_FRAME) || (s->desc.ops[i].flags & AOP_ATOMIC))
			return false;
	return true;
}

/*
 * The sites of one function, sites[first..]: those that touch only the
 * thread's own frame (AOP_FRAME) move after the others, into groups of
 * their own. BPF detaches such a group early, once a single-threaded
 * process's thread has spent its budget there (bpf/access.bpf.c): only
 * that thread can touch its frame, so the traps after are for nothing,
 * and the function's other probes (heap, globals) must not go with them.
 * The groups are numbered again in site order as site_add would: a new
 * one when full, and an atomic site alone.
 */
static int split_frame_sites(struct access_plan *p, size_t first)
{
	size_t n = p->nr_sites - first, nr_frame = 0, j = first, k = 0, size = 0;
	struct access_site *frame;
	bool prev_atomic = false;
	__u32 group;

	for (size_t i = first; i < p->nr_sites; i++)
		nr_frame += site_frame_only(&p->sites[i]);
	if (!nr_frame || nr_frame == n)
		return 0;	/* one kind only: grouped apart already */
	frame = malloc(nr_frame * sizeof(*frame));
	if (!frame)
		return -ENOMEM;
	group = p->sites[first].desc.group;	/* the function's first (site order) */
	for (size_t i = first; i < p->nr_sites; i++) {
		if (site_frame_only(&p->sites[i]))
			frame[k++] = p->sites[i];
		else
			p->sites[j++] = p->sites[i];
	}
	memcpy(&p->sites[j], frame, nr_frame * sizeof(*frame));
	free(frame);
	for (size_t i = first; i < p->nr_sites; i++) {
		bool atomic = any_atomic(p->sites[i].desc.ops, p->sites[i].desc.nr_ops);

		if (i > first && (size == ACCESS_GROUP_SITES || atomic || prev_atomic || i == j)) {
			group++;
			size = 0;
		}
		p->sites[i].desc.group = group;
		size++;
		prev_atomic = atomic;
	}
	/* where site_add goes on: after an atomic, a new group */
	p->nr_groups = prev_atomic ? group + 1 : group;
	p->group_sites = prev_atomic ? 0 : size;
	return 0;
}

/*
 * Plans the memory operands of insns[i]; pending: an atomic's, carried
 * over to insns[*pending_at].
 */
static int plan_insn(struct access_plan *p, const struct func_info *fi, const cs_insn *insns,
		     size_t n, size_t i, __u64 vaddr0, __u64 offset0,
		     struct access_operand *pending, size_t *nr_pending, size_t *pending_at)
{
	const cs_insn *insn = &insns[i];
	const cs_x86 *x = &insn->detail->x86;
	struct access_operand ops[ACCESS_OPS_MAX * 2];
	size_t nr = 0, nr_mem = 0, rmw = 0, load_op = 0;
	bool atomic;
	int why, err;

	/* what an atomic before this instruction left to evaluate here */
	if (*nr_pending && *pending_at == i) {
		memcpy(ops, pending, *nr_pending * sizeof(*ops));
		nr = *nr_pending;
		*nr_pending = 0;
	}
	for (int k = 0; k < x->op_count; k++)
		nr_mem += x->operands[k].type == X86_OP_MEM;
	if (nr_mem)
		p->nr_memory_insns++;
	if (nr_mem && access_decode__accesses_nothing(insn))
		nr_mem = 0;
	if (nr_mem && access_decode__indirect_branch(insn)) {
		p->skipped[ASKIP_BRANCH]++;
		nr_mem = 0;
	}
	atomic = nr_mem && access_decode__is_atomic(insn, true);
	if (atomic) {
		/*
		 * An atomic is recorded after it ran, at the next instruction:
		 * recorded before, a compare-exchange that wins only after
		 * another thread's release would come before that release in
		 * the trace, unordered by it. The kernel refuses a uprobe on a
		 * LOCK-prefixed instruction anyway; an XCHG whose next
		 * instruction is no safe probe is probed where it is (recorded
		 * before it runs: better than not at all).
		 */
		struct access_operand carry[ACCESS_OPS_MAX];
		size_t nr_carry = 0;

		for (int k = 0; k < x->op_count && nr_carry < ACCESS_OPS_MAX; k++) {
			if (x->operands[k].type != X86_OP_MEM)
				continue;
			why = access_decode__operand(fi, insn, k, &carry[nr_carry]);
			if (why) {
				p->skipped[why - 1]++;
				continue;
			}
			carry[nr_carry].flags |= AOP_ATOMIC;
			carry[nr_carry].ip_delta = -(__s8)insn->size;
			carry[nr_carry].rip_delta = 0;
			nr_carry++;
		}
		if (nr_carry && access_sites__atomic_next(fi, insns, n, i, carry, nr_carry)) {
			size_t at = access_sites__atomic_record_at(p->cs, fi, insns, n, i, carry, nr_carry);
			__s64 back = insns[at].address - insn->address;

			for (size_t k = 0; k < nr_carry; k++) {
				carry[k].ip_delta = (__s8)-back;
				carry[k].rip_delta = (__s8)(insn->size - back);
			}
			memcpy(pending, carry, nr_carry * sizeof(*carry));
			*nr_pending = nr_carry;
			*pending_at = at;
			nr_mem = 0;
			err = plan_release(p, fi, insns, i, vaddr0, offset0, carry, nr_carry, ops,
					   &nr);
			if (err)
				return err;
		} else if (x->prefix[0] == X86_PREFIX_LOCK) {
			p->skipped[ASKIP_ATOMIC_NEXT] += nr_carry;
			nr_mem = 0;
		} else if (nr_carry) {
			p->nr_atomic_before++;
		}
	}
	for (int k = 0; k < x->op_count && nr_mem; k++) {
		if (x->operands[k].type != X86_OP_MEM)
			continue;
		if (nr == ACCESS_OPS_MAX) {
			p->skipped[ASKIP_TOO_MANY]++;
			continue;
		}
		why = access_decode__operand(fi, insn, k, &ops[nr]);
		if (why) {
			p->skipped[why - 1]++;
			continue;
		}
		if (atomic) {
			ops[nr].flags |= AOP_ATOMIC;
		} else {
			if (access_sites__load_next(p->cs, fi, insns, n, i, &ops[nr]))
				ops[nr].flags |= AOP_POSTABLE;
			if (!rmw) {
				rmw = access_cover__rmw_after(p->cs, fi, insns, n, i, &ops[nr]);
				load_op = nr;
			}
		}
		nr++;
	}
	if (!nr)
		return 0;
	err = site_add(p, insn->address, offset0 + (insn->address - vaddr0),
		       i + 1 < n ? offset0 + (insns[i + 1].address - vaddr0) : 0, ops, nr);
	if (!err && rmw) {
		p->sites[p->nr_sites - 1].rmw_vaddr = insns[rmw].address;
		p->sites[p->nr_sites - 1].load_op = load_op;
	}
	return err;
}

/*
 * The operand that records the access of the atomic RMW at vaddr (after
 * it ran, at a later instruction; or at the XCHG itself), among the few
 * sites after site i (nothing with memory lies between a load and the
 * RMW that covers it); NULL when it was not planned.
 */
static const struct access_operand *rmw_record(const struct access_plan *p, size_t i, __u64 vaddr)
{
	for (size_t k = i + 1; k < p->nr_sites && k <= i + ACCESS_COVER_WINDOW + 2; k++) {
		const struct access_site *s = &p->sites[k];

		for (__u32 j = 0; j < s->desc.nr_ops && j < ACCESS_OPS_MAX; j++) {
			const struct access_operand *op = &s->desc.ops[j];

			if ((op->flags & AOP_ATOMIC) && !(op->flags & AOP_RELEASE) &&
			    s->vaddr + (__u64)(__s64)op->ip_delta == vaddr)
				return op;
		}
	}
	return NULL;
}

/*
 * What a load's record gives that the RMW's after it does not, when the
 * load goes on to the RMW of its bytes with nothing recorded in between
 * (README, "Access probes"): the analyzer takes a location as atomic from
 * its first event in either case (it reads the trace twice), BPF marks the
 * word atomic at the RMW's record too, and the RMW, recorded after it ran,
 * acquires at least what the load did (a later write in the variable's
 * order) and releases into the variable, which covers the load's release
 * into the writes after it. Only its order: an acquire (an ordered load,
 * or a plain one, which x86 makes one) before a relaxed RMW is the only
 * acquire there, and stays. A relaxed load orders nothing.
 */
static bool load_covered(const struct access_plan *p, size_t i)
{
	const struct access_site *s = &p->sites[i];
	const struct access_operand *rmw, *load;

	if (!s->rmw_vaddr || s->load_op >= s->desc.nr_ops || s->load_op >= ACCESS_OPS_MAX)
		return false;
	rmw = rmw_record(p, i, s->rmw_vaddr);
	if (!rmw)
		return false;
	load = &s->desc.ops[s->load_op];
	return (load->flags & AOP_RELAXED) || !(rmw->flags & AOP_RELAXED);
}

size_t access_plan__elide_loads(struct access_plan *p)
{
	size_t w = 0, dropped = 0;
	__u32 group = 0, old_group = 0;

	for (size_t i = 0; i < p->nr_sites; i++) {
		struct access_site *s = &p->sites[i];

		if (s->rmw_vaddr && load_covered(p, i)) {
			for (__u32 k = s->load_op; k + 1 < s->desc.nr_ops; k++)
				s->desc.ops[k] = s->desc.ops[k + 1];
			s->desc.nr_ops--;
			s->rmw_vaddr = 0;
			dropped++;
		} else if (s->rmw_vaddr) {
			p->nr_loads_kept++;
		}
		if (!s->desc.nr_ops)
			continue;
		if (w != i)
			p->sites[w] = *s;
		w++;
	}
	p->nr_sites = w;
	/* the groups again, in site order: a dropped site may have emptied one */
	for (size_t i = 0; i < p->nr_sites; i++) {
		__u32 g = p->sites[i].desc.group;

		if (i && g != old_group)
			group++;
		old_group = g;
		p->sites[i].desc.group = group;
	}
	p->nr_groups = p->nr_sites ? group + 1 : 0;
	p->group_sites = 0;
	return dropped;
}

int access_plan__add_code(struct access_plan *p, const __u8 *code, size_t len, __u64 vaddr,
			  __u64 offset, bool known_function)
{
	struct access_operand pending[ACCESS_OPS_MAX];
	struct func_info fi = {};
	cs_insn *insns = NULL, *one;
	size_t n = 0, cap = 0, nr_pending = 0, pending_at = 0, first_site;
	const __u8 *at = code;
	size_t left = len;
	uint64_t addr = vaddr;
	int err = 0;

	one = cs_malloc(p->cs);
	if (!one)
		return -ENOMEM;
	while (left) {
		if (!cs_disasm_iter(p->cs, &at, &left, &addr, one)) {
			/* padding or data: skip a byte, try again */
			p->skipped[ASKIP_UNDECODABLE]++;
			at++;
			left--;
			addr++;
			continue;
		}
		err = array__reserve(&insns, &cap, n + 1, sizeof(*insns));
		if (err)
			goto out;
		insns[n] = *one;
		/* each keeps its own detail: copy it out of the iterator's */
		insns[n].detail = malloc(sizeof(*one->detail));
		if (!insns[n].detail) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(insns[n].detail, one->detail, sizeof(*one->detail));
		n++;
	}
	err = access_decode__scan_function(insns, n, known_function, &fi);
	if (err)
		goto out;
	if (p->group_sites) {
		p->nr_groups++;
		p->group_sites = 0;
	}
	first_site = p->nr_sites;
	for (size_t i = 0; i < n && !err; i++)
		err = plan_insn(p, &fi, insns, n, i, vaddr, offset, pending, &nr_pending,
				&pending_at);
	if (nr_pending)
		p->skipped[ASKIP_ATOMIC_NEXT] += nr_pending;
	if (!err)
		err = split_frame_sites(p, first_site);
out:
	for (size_t i = 0; i < n; i++)
		free(insns[i].detail);
	free(insns);
	free(fi.targets);
	cs_free(one, 1);
	return err;
}

/* Sections whose code is not the program's own: lazy binding stubs, crt. */
static bool section_skipped(const char *name)
{
	return !name || !strncmp(name, ".plt", 4) || !strcmp(name, ".init") ||
	       !strcmp(name, ".fini");
}

/* Plans [lo, hi) of one section: function bodies from the symbols, and the gaps. */
static int plan_section(struct access_plan *p, const struct elf_syms *syms, const __u8 *data,
			__u64 sec_vaddr, __u64 sec_offset, __u64 size)
{
	__u64 at = sec_vaddr, end = sec_vaddr + size;
	int err = 0;

	while (at < end && !err) {
		struct elf_func fn;
		__u64 stop;

		if (!elf_syms__func_at(syms, at, &fn) && fn.vaddr == at && fn.size) {
			stop = fn.vaddr + fn.size < end ? fn.vaddr + fn.size : end;
			err = access_plan__add_code(p, data + (at - sec_vaddr), stop - at, at,
						    sec_offset + (at - sec_vaddr), true);
			at = stop;
			continue;
		}
		/* no function starts here: code up to the next one that does */
		for (stop = at + 1; stop < end; stop++)
			if (!elf_syms__func_at(syms, stop, &fn) && fn.vaddr == stop)
				break;
		if (!elf_syms__func_at(syms, at, &fn) && fn.vaddr < at) {
			/* inside a symbol that started earlier (aliases, nesting): done */
			at = fn.vaddr + fn.size > at && fn.vaddr + fn.size < stop ?
			     fn.vaddr + fn.size : stop;
			continue;
		}
		err = access_plan__add_code(p, data + (at - sec_vaddr), stop - at, at,
					    sec_offset + (at - sec_vaddr), false);
		at = stop;
	}
	return err;
}

int access_plan__add_file(struct access_plan *p, const char *path)
{
	struct elf_syms *syms;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *elf = NULL;
	int fd, err = 0;

	syms = elf_syms__open(path);
	if (!syms)
		return -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out_syms;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx)) {
		err = -EINVAL;
		goto out_close;
	}
	while ((scn = elf_nextscn(elf, scn)) && !err) {
		Elf_Data *data;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) ||
		    section_skipped(elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || data->d_size < sh.sh_size)
			continue;
		err = plan_section(p, syms, data->d_buf, sh.sh_addr, sh.sh_offset, sh.sh_size);
	}
out_close:
	if (elf)
		elf_end(elf);
	close(fd);
out_syms:
	elf_syms__close(syms);
	return err;
}
