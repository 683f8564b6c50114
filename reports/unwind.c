// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libunwind.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../analyzer/array.h"
#include "escape.h"
#include "unwind.h"

/*
 * Exported by libunwind (perf and others use it) but in no public header:
 * binary search of an .eh_frame_hdr table read through the accessors.
 */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

#define UNWIND_MODS_MAX 16		/* modules one walk remembers */
#define UNWIND_LOADS_MAX 16		/* PT_LOAD segments of one file */

/* .eh_frame_hdr encodings this reader accepts (what binutils and lld write). */
#define EH_PE_udata4 0x03
#define EH_PE_sdata4 0x0b
#define EH_PE_datarel 0x30
#define EH_HDR_LEN 12			/* version, 3 encodings, eh_frame_ptr, fde_count */

struct elf_load {
	__u64 vaddr, offset, filesz;
};

/* One ELF file, mapped once: its loadable bytes and its unwind table. */
struct unwind_elf {
	char *path;
	const char *name;		/* first module name it was used for */
	char *name_copy;
	unsigned char *map;
	size_t size;
	struct elf_load loads[UNWIND_LOADS_MAX];
	size_t nr_loads;
	__u64 link_base;		/* p_vaddr - p_offset of the first PT_LOAD */
	bool has_table;
	__u64 hdr_vaddr;		/* .eh_frame_hdr */
	__u64 fde_count;
	__u64 nr_dwarf, nr_fp;		/* frames unwound from this file's code */
};

struct unwinder {
	unw_addr_space_t as;
	struct unwind_elf *elfs;
	size_t nr_elfs, cap_elfs;
};

struct call_module {
	struct unwind_module m;
	struct unwind_elf *elf;		/* NULL: no readable file */
};

/* One walk: what the accessors see through libunwind's arg. */
struct unwind_call {
	struct unwinder *u;
	const struct unwind_target_ops *ops;
	void *ctx;
	const __u64 *regs;
	struct call_module mods[UNWIND_MODS_MAX];
	size_t nr_mods, next_slot;
	enum unwind_method last;	/* how the last step found its frame */
	struct unwind_elf *last_elf;	/* the code it stepped from */
};

const char *unwind_method__name(enum unwind_method how)
{
	switch (how) {
	case UNWIND_REGS:
		return "registers";
	case UNWIND_DWARF:
		return "dwarf";
	case UNWIND_FP:
		return "frame pointer";
	}
	return "?";
}

/* --- ELF files ----------------------------------------------------------- */

static __u64 read_u32(const unsigned char *p)
{
	__u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The search table of .eh_frame_hdr at file offset off, when usable. */
static void elf_parse_eh_frame_hdr(struct unwind_elf *e, __u64 off, __u64 len)
{
	const unsigned char *h;

	if (off > e->size || len < EH_HDR_LEN || e->size - off < EH_HDR_LEN)
		return;
	h = e->map + off;
	if (h[0] != 1 || (h[1] & 0x0f) != EH_PE_sdata4 || h[2] != EH_PE_udata4 ||
	    h[3] != (EH_PE_datarel | EH_PE_sdata4))
		return;
	e->fde_count = read_u32(h + 8);
	if (!e->fde_count || e->fde_count > (e->size - off - EH_HDR_LEN) / 8)
		return;
	e->has_table = true;
}

static int elf_load_file(struct unwind_elf *e)
{
	GElf_Phdr ph;
	size_t i, phnum;
	struct stat st;
	bool first = true;
	Elf *elf;
	int fd, err = 0;

	fd = open(e->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
		err = -ENOEXEC;
		goto close_fd;
	}
	e->map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (e->map == MAP_FAILED) {
		e->map = NULL;
		err = -errno;
		goto close_fd;
	}
	e->size = st.st_size;
	elf = elf_memory((char *)e->map, e->size);
	if (!elf || elf_getphdrnum(elf, &phnum)) {
		err = -ENOEXEC;
		goto end_elf;
	}
	for (i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && e->nr_loads < UNWIND_LOADS_MAX) {
			if (first)
				e->link_base = ph.p_vaddr - ph.p_offset;
			first = false;
			e->loads[e->nr_loads].vaddr = ph.p_vaddr;
			e->loads[e->nr_loads].offset = ph.p_offset;
			/* bytes past the file (a stripped debug file's NOBITS) are not there */
			e->loads[e->nr_loads].filesz = ph.p_offset > e->size ? 0 :
				(ph.p_filesz < e->size - ph.p_offset ? ph.p_filesz : e->size - ph.p_offset);
			e->nr_loads++;
		} else if (ph.p_type == PT_GNU_EH_FRAME) {
			e->hdr_vaddr = ph.p_vaddr;
			elf_parse_eh_frame_hdr(e, ph.p_offset, ph.p_filesz);
		}
	}
	if (first)
		err = -ENOEXEC;
end_elf:
	elf_end(elf);
close_fd:
	close(fd);
	return err;
}

/* The file at path, mapped on first use; NULL when it cannot be read. */
static struct unwind_elf *unwinder__elf(struct unwinder *u, const char *path, const char *name)
{
	struct unwind_elf *e;
	size_t i;

	for (i = 0; i < u->nr_elfs; i++)
		if (!strcmp(u->elfs[i].path, path))
			return u->elfs[i].map ? &u->elfs[i] : NULL;
	if (array__reserve(&u->elfs, &u->cap_elfs, u->nr_elfs + 1, sizeof(*u->elfs)))
		return NULL;
	e = &u->elfs[u->nr_elfs];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	e->name_copy = name ? strdup(name) : NULL;
	if (!e->path) {
		free(e->name_copy);
		return NULL;
	}
	e->name = e->name_copy ? e->name_copy : e->path;
	u->nr_elfs++;
	if (elf_load_file(e)) {
		if (e->map)
			munmap(e->map, e->size);
		e->map = NULL;
		return NULL;
	}
	return e;
}

/* Bytes of the file image mapped at base, if addr..addr+len lies in it. */
static bool elf_read(const struct unwind_elf *e, __u64 base, __u64 addr, void *buf, size_t len)
{
	__u64 v = addr - base + e->link_base;
	size_t i;

	for (i = 0; i < e->nr_loads; i++) {
		const struct elf_load *l = &e->loads[i];

		if (v < l->vaddr || v - l->vaddr >= l->filesz || l->filesz - (v - l->vaddr) < len)
			continue;
		memcpy(buf, e->map + l->offset + (v - l->vaddr), len);
		return true;
	}
	return false;
}

/* --- one walk ------------------------------------------------------------- */

static struct call_module *call__module_at(struct unwind_call *c, __u64 addr)
{
	struct call_module *cm;
	struct unwind_module m;
	size_t i;

	for (i = 0; i < c->nr_mods; i++)
		if (c->mods[i].m.start <= addr && addr < c->mods[i].m.end)
			return &c->mods[i];
	memset(&m, 0, sizeof(m));
	if (c->ops->find_module(c->ctx, addr, &m) || !(m.start <= addr && addr < m.end))
		return NULL;
	if (c->nr_mods < UNWIND_MODS_MAX) {
		cm = &c->mods[c->nr_mods++];
	} else {
		cm = &c->mods[c->next_slot];
		c->next_slot = (c->next_slot + 1) % UNWIND_MODS_MAX;
	}
	cm->m = m;
	cm->elf = m.elf_path ? unwinder__elf(c->u, m.elf_path, m.name) : NULL;
	return cm;
}

static int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			      int need_unwind_info, void *arg)
{
	struct unwind_call *c = arg;
	struct call_module *cm = call__module_at(c, ip);
	unw_dyn_info_t di;
	__u64 bias;
	int ret;

	c->last = UNWIND_FP;
	c->last_elf = cm ? cm->elf : NULL;
	if (!cm || !cm->elf || !cm->elf->has_table)
		return -UNW_ENOINFO;
	bias = cm->m.base - cm->elf->link_base;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = cm->m.start;
	di.end_ip = cm->m.end;
	di.u.rti.segbase = cm->elf->hdr_vaddr + bias;
	di.u.rti.table_data = di.u.rti.segbase + EH_HDR_LEN;
	/* in words: 2 x 4 bytes per entry */
	di.u.rti.table_len = cm->elf->fde_count * 8 / sizeof(unw_word_t);
	ret = UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info, arg);
	if (ret >= 0)
		c->last = UNWIND_DWARF;
	return ret;
}

static void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	/* libunwind frees what dwarf_search_unwind_table allocated */
	(void)as;
	(void)pi;
	(void)arg;
}

static int acc_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as;
	(void)addr;
	(void)arg;
	return -UNW_ENOINFO;
}

static int acc_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp,
			  int write, void *arg)
{
	struct unwind_call *c = arg;
	size_t i;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	/* the unwind tables and code: from the modules' files */
	for (i = 0; i < c->nr_mods; i++)
		if (c->mods[i].elf && elf_read(c->mods[i].elf, c->mods[i].m.base, addr,
					       valp, sizeof(*valp)))
			return 0;
	if (c->ops->read_mem(c->ctx, addr, valp, sizeof(*valp)) == 0)
		return 0;
	return -UNW_EINVAL;
}

static int acc_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *valp,
			  int write, void *arg)
{
	struct unwind_call *c = arg;
	int r;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	switch (reg) {
	case UNW_X86_64_RIP:
		r = UREG_IP;
		break;
	case UNW_X86_64_RSP:
		r = UREG_SP;
		break;
	case UNW_X86_64_RBP:
		r = UREG_BP;
		break;
	case UNW_X86_64_RBX:
		r = UREG_BX;
		break;
	case UNW_X86_64_R12:
		r = UREG_R12;
		break;
	case UNW_X86_64_R13:
		r = UREG_R13;
		break;
	case UNW_X86_64_R14:
		r = UREG_R14;
		break;
	case UNW_X86_64_R15:
		r = UREG_R15;
		break;
	default:
		return -UNW_EBADREG;	/* not captured: no CFA rule of ours needs it */
	}
	*valp = c->regs[r];
	return 0;
}

static int acc_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val,
			    int write, void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EBADREG;
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *cur, void *arg)
{
	(void)as;
	(void)cur;
	(void)arg;
	return -UNW_EINVAL;
}

static int acc_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			     unw_word_t *off, void *arg)
{
	(void)as;
	(void)addr;
	(void)buf;
	(void)len;
	(void)off;
	(void)arg;
	return -UNW_EINVAL;	/* names come from the symbolizer */
}

static unw_accessors_t accessors = {
	.find_proc_info = acc_find_proc_info,
	.put_unwind_info = acc_put_unwind_info,
	.get_dyn_info_list_addr = acc_get_dyn_info_list_addr,
	.access_mem = acc_access_mem,
	.access_reg = acc_access_reg,
	.access_fpreg = acc_access_fpreg,
	.resume = acc_resume,
	.get_proc_name = acc_get_proc_name,
};

struct unwinder *unwinder__new(void)
{
	struct unwinder *u;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->as = unw_create_addr_space(&accessors, 0);
	if (!u->as) {
		free(u);
		errno = ENOMEM;
		return NULL;
	}
	/* one address space serves every process: nothing cached by ip */
	unw_set_caching_policy(u->as, UNW_CACHE_NONE);
	return u;
}

void unwinder__free(struct unwinder *u)
{
	size_t i;

	if (!u)
		return;
	for (i = 0; i < u->nr_elfs; i++) {
		if (u->elfs[i].map)
			munmap(u->elfs[i].map, u->elfs[i].size);
		free(u->elfs[i].path);
		free(u->elfs[i].name_copy);
	}
	free(u->elfs);
	unw_destroy_addr_space(u->as);
	free(u);
}

/* The callee-saved registers of the cursor's frame, as its unwind rules recover them. */
static void cursor_regs(unw_cursor_t *cur, __u64 out[UREG_NR])
{
	static const struct {
		int ureg;
		unw_regnum_t unw;
	} map[] = {
		{ UREG_IP, UNW_REG_IP }, { UREG_SP, UNW_REG_SP }, { UREG_BP, UNW_X86_64_RBP },
		{ UREG_BX, UNW_X86_64_RBX }, { UREG_R12, UNW_X86_64_R12 },
		{ UREG_R13, UNW_X86_64_R13 }, { UREG_R14, UNW_X86_64_R14 },
		{ UREG_R15, UNW_X86_64_R15 },
	};
	unw_word_t v;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		out[map[i].ureg] = unw_get_reg(cur, map[i].unw, &v) < 0 ? 0 : v;
}

static int unwind_walk(struct unwinder *u, const struct unwind_target_ops *ops, void *ctx,
		       const __u64 regs[UREG_NR], struct unwind_frame *frames,
		       __u64 (*frame_regs)[UREG_NR], size_t max)
{
	struct unwind_call c = { .u = u, .ops = ops, .ctx = ctx, .regs = regs };
	unw_word_t ip, sp, prev_sp = regs ? regs[UREG_SP] : 0;
	unw_cursor_t cur;
	size_t n = 0;

	if (!u || !ops || !ops->read_mem || !ops->find_module || !regs || !frames)
		return -EINVAL;
	if (!max || !call__module_at(&c, regs[UREG_IP]))
		return 0;
	frames[n].ip = regs[UREG_IP];
	frames[n].sp = regs[UREG_SP];
	if (frame_regs)
		memcpy(frame_regs[n], regs, sizeof(frame_regs[n]));
	frames[n++].how = UNWIND_REGS;
	if (unw_init_remote(&cur, u->as, &c) < 0)
		return n;
	while (n < max) {
		c.last = UNWIND_FP;
		c.last_elf = NULL;
		if (unw_step(&cur) <= 0)
			break;
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 ||
		    unw_get_reg(&cur, UNW_REG_SP, &sp) < 0)
			break;
		/* a caller's frame is above its callee's: anything else is garbage */
		if (!ip || sp <= prev_sp)
			break;
		/* the call instruction, just before the return address */
		if (!call__module_at(&c, ip - 1))
			break;
		frames[n].ip = ip;
		frames[n].sp = sp;
		if (frame_regs)
			cursor_regs(&cur, frame_regs[n]);
		frames[n++].how = c.last;
		if (c.last_elf) {
			if (c.last == UNWIND_DWARF)
				c.last_elf->nr_dwarf++;
			else
				c.last_elf->nr_fp++;
		}
		prev_sp = sp;
	}
	return n;
}

int unwinder__unwind(struct unwinder *u, const struct unwind_target_ops *ops, void *ctx,
		     const __u64 regs[UREG_NR], struct unwind_frame *frames, size_t max)
{
	return unwind_walk(u, ops, ctx, regs, frames, NULL, max);
}

int unwinder__unwind_regs(struct unwinder *u, const struct unwind_target_ops *ops, void *ctx,
			  const __u64 regs[UREG_NR], struct unwind_frame *frames,
			  __u64 (*frame_regs)[UREG_NR], size_t max)
{
	if (!frame_regs)
		return -EINVAL;
	return unwind_walk(u, ops, ctx, regs, frames, frame_regs, max);
}

void unwinder__print_stats(const struct unwinder *u, FILE *out)
{
	size_t i;

	if (!u)
		return;
	for (i = 0; i < u->nr_elfs; i++) {
		const struct unwind_elf *e = &u->elfs[i];

		fprintf(out, "ipcrace: unwind: ");
		escape__text(out, e->name, SIZE_MAX);
		if (!e->map) {
			fprintf(out, ": cannot read ");
			escape__text(out, e->path, SIZE_MAX);
			fprintf(out, ": walks stop there\n");
			continue;
		}
		if (strcmp(e->name, e->path)) {
			fprintf(out, " (from ");
			escape__text(out, e->path, SIZE_MAX);
			fprintf(out, ")");
		}
		fprintf(out, ": %s; %llu frames by dwarf, %llu by frame pointer\n",
			e->has_table ? ".eh_frame" : "no .eh_frame_hdr table, frame pointers",
			(unsigned long long)e->nr_dwarf, (unsigned long long)e->nr_fp);
	}
}
