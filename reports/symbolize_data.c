// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../analyzer/ustack.h"
#include "buildid.h"
#include "debuginfo.h"
#include "escape.h"
#include "symbolize.h"
#include "unwind.h"
#include "symbolize_internal.h"

/* --- data: global variables ---------------------------------------------- */

/* How the loader maps segments on x86-64: page by page. */
#define SYM_PAGE_MASK 0xfffull
/* Nesting of types and array dimensions followed before giving up. */
#define SYM_TYPE_DEPTH 32
#define SYM_ARRAY_DIMS 8
#define SYM_SCOPE_DEPTH 16

/*
 * The file mapping that holds addr's bytes in m's snapshot: m itself when
 * file-backed; for an anonymous private mapping, the writable file mapping
 * it directly continues (the part of .bss past the last file page, which
 * the loader maps as zero-filled anonymous memory). NULL otherwise.
 */
static const struct trace_mapping *data_file_mapping(const struct symbolizer *s,
						     const struct trace_mapping *m)
{
	size_t lo, hi, i;

	if (m->path[0] == '/')
		return m;
	/* [heap], [stack], shared anonymous memory: no module's */
	if (m->path[0] || (m->flags & MAPF_SHARED))
		return NULL;
	symbolizer__pid_range(s, m->pid, &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct trace_mapping *c = s->maps[i];

		if (c->ts == m->ts && c->end == m->start && c->path[0] == '/' &&
		    (c->prot & PROT_WRITE) && !(c->flags & MAPF_SHARED))
			return c;
	}
	return NULL;
}

/*
 * The module (Dwfl) address of addr, which lies in fm or in the anonymous
 * memory right after it. The loader maps each PT_LOAD segment from its
 * file page, so fm maps file offset fm->pgoff + (addr - fm->start) of one
 * segment; .bss continues that image past the file. Segments sharing a
 * file page (.rodata and .data) differ in write permission. A mapping that
 * starts before its segment's first page or ends past its file image is
 * not the loader's (a whole ELF file mapped as data): no address then.
 */
static int data_module_addr(const struct sym_file *f, const struct trace_mapping *fm,
			    __u64 addr, __u64 *out)
{
	__u64 x, page_off, file_end, map_end;
	GElf_Addr bias;
	GElf_Phdr ph;
	size_t i, phnum;
	Elf *elf;

	elf = dwfl_module_getelf(f->mod, &bias);
	if (!elf || elf_getphdrnum(elf, &phnum))
		return -ENOEXEC;
	x = fm->pgoff + (addr - fm->start);
	map_end = fm->pgoff + (fm->end - fm->start);
	for (i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (!(ph.p_flags & PF_W) != !(fm->prot & PROT_WRITE))
			continue;
		page_off = ph.p_offset & ~SYM_PAGE_MASK;
		file_end = (ph.p_offset + ph.p_filesz + SYM_PAGE_MASK) & ~SYM_PAGE_MASK;
		if (fm->pgoff < page_off || map_end > file_end)
			continue;
		if (x < ph.p_offset || x - ph.p_offset >= ph.p_memsz)
			continue;
		*out = ph.p_vaddr + (x - ph.p_offset) + bias;
		return 0;
	}
	return -ENOENT;
}

static int die_location_addr(Dwarf_Die *die, Dwarf_Addr *out)
{
	Dwarf_Attribute attr, res;
	Dwarf_Op *ops;
	size_t nops;

	if (!dwarf_attr(die, DW_AT_location, &attr) ||
	    dwarf_getlocation(&attr, &ops, &nops) || nops != 1)
		return -ENOENT;
	switch (ops[0].atom) {
	case DW_OP_addr:
		*out = ops[0].number;
		return 0;
	case DW_OP_addrx:
	case DW_OP_GNU_addr_index:
		/* an index into .debug_addr: libdw resolves it */
		if (dwarf_getlocation_attr(&attr, &ops[0], &res) || dwarf_formaddr(&res, out))
			return -ENOENT;
		return 0;
	default:
		return -ENOENT;		/* TLS, registers, stack: not a global */
	}
}

/*
 * A DW_TAG_variable at address want among parent's children: globals at
 * the CU's top level, static locals inside functions and blocks.
 */
static bool find_variable(Dwarf_Die *parent, Dwarf_Addr want, int depth, Dwarf_Die *out)
{
	Dwarf_Die child;
	Dwarf_Addr a;
	int tag;

	if (depth > SYM_SCOPE_DEPTH || dwarf_child(parent, &child))
		return false;
	do {
		tag = dwarf_tag(&child);
		if (tag == DW_TAG_variable && !die_location_addr(&child, &a) && a == want) {
			*out = child;
			return true;
		}
		if ((tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block ||
		     tag == DW_TAG_namespace) && find_variable(&child, want, depth + 1, out))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* The variable DIE defined at module address sym_addr, in any CU. */
static bool module_find_variable(Dwfl_Module *mod, __u64 sym_addr, Dwarf_Die *out)
{
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias;

	while ((cu = dwfl_module_nextcu(mod, cu, &bias)))
		if (find_variable(cu, sym_addr - bias, 0, out))
			return true;
	return false;
}

/* The type DIE a DIE refers to (DW_AT_type, through declarations). */
static bool die_type(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;

	return dwarf_attr_integrate(die, DW_AT_type, &attr) && dwarf_formref_die(&attr, out);
}

/* Byte range [*off, *off + *size) of a member in its struct or union. */
static bool member_range(Dwarf_Die *member, Dwarf_Word *off, Dwarf_Word *size)
{
	Dwarf_Word bit_off, bit_size;
	Dwarf_Attribute attr;
	Dwarf_Die type;
	Dwarf_Op *ops;
	size_t nops;

	*off = 0;
	if (dwarf_attr(member, DW_AT_data_member_location, &attr)) {
		if (dwarf_formudata(&attr, off)) {
			/* DWARF 2 style: a DW_OP_plus_uconst expression */
			if (dwarf_getlocation(&attr, &ops, &nops) || nops != 1 ||
			    ops[0].atom != DW_OP_plus_uconst)
				return false;
			*off = ops[0].number;
		}
	} else if (dwarf_formudata(dwarf_attr(member, DW_AT_data_bit_offset, &attr),
				   &bit_off) == 0 &&
		   dwarf_formudata(dwarf_attr(member, DW_AT_bit_size, &attr), &bit_size) == 0) {
		/* a bit-field: the bytes its bits touch */
		*off = bit_off / 8;
		*size = (bit_off % 8 + bit_size + 7) / 8;
		return true;
	}
	/* union members have no location: they all start at 0 */
	if (!die_type(member, &type) || dwarf_aggregate_size(&type, size))
		*size = 0;
	return true;
}

struct name_buf {
	char *s;
	size_t len, n;
};

static void name_buf__add(struct name_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void name_buf__add(struct name_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->n >= b->len)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->s + b->n, b->len - b->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		b->n = b->n + r < b->len ? b->n + r : b->len - 1;
}

/* The member of struct/union type holding *off: ".name" appended, *off made relative. */
static bool struct_step(Dwarf_Die *type, Dwarf_Word *off, struct name_buf *b)
{
	Dwarf_Word moff, msize;
	Dwarf_Die child, mtype;
	const char *name;

	if (dwarf_child(type, &child))
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_member || !member_range(&child, &moff, &msize))
			continue;
		if (*off < moff)
			continue;
		/* a flexible array member has no size: it holds all past its start */
		if (!(*off - moff < msize) &&
		    !(msize == 0 && die_type(&child, &mtype) &&
		      dwarf_tag(&mtype) == DW_TAG_array_type))
			continue;
		name = dwarf_diename(&child);
		if (name)	/* anonymous struct/union members add no name */
			name_buf__add(b, ".%s", name);
		*off -= moff;
		return die_type(&child, type);
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* Number of elements of a DW_TAG_subrange_type; 0: unknown (a flexible array). */
static Dwarf_Word subrange_count(Dwarf_Die *sub, Dwarf_Word *lower)
{
	Dwarf_Attribute attr;
	Dwarf_Word w;

	*lower = 0;
	if (dwarf_formudata(dwarf_attr(sub, DW_AT_lower_bound, &attr), &w) == 0)
		*lower = w;
	if (dwarf_formudata(dwarf_attr(sub, DW_AT_count, &attr), &w) == 0)
		return w;
	if (dwarf_formudata(dwarf_attr(sub, DW_AT_upper_bound, &attr), &w) == 0 && w >= *lower)
		return w - *lower + 1;
	return 0;
}

/* "[i]" per dimension of an array type; type becomes the element type. */
static bool array_step(Dwarf_Die *type, Dwarf_Word *off, struct name_buf *b)
{
	Dwarf_Word count[SYM_ARRAY_DIMS], lower[SYM_ARRAY_DIMS], esize, stride, idx;
	Dwarf_Die child, elem;
	size_t nd = 0, i, k;

	if (!die_type(type, &elem) || dwarf_aggregate_size(&elem, &esize) || !esize)
		return false;
	if (dwarf_child(type, &child))
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_subrange_type)
			continue;
		if (nd == SYM_ARRAY_DIMS)
			return false;
		count[nd] = subrange_count(&child, &lower[nd]);
		/* only the outermost dimension may be unbounded */
		if (!count[nd] && nd)
			return false;
		nd++;
	} while (dwarf_siblingof(&child, &child) == 0);
	if (!nd)
		return false;
	for (i = 0; i < nd; i++) {
		stride = esize;
		for (k = i + 1; k < nd; k++)
			stride *= count[k];
		idx = *off / stride;
		if (count[i] && idx >= count[i])
			return false;
		name_buf__add(b, "[%llu]", (unsigned long long)(lower[i] + idx));
		*off -= idx * stride;
	}
	*type = elem;
	return true;
}

/*
 * Appends the path from a variable of type type down to the member or
 * element at off: ".hits", "[3].owner". What is left past the innermost
 * named part (inside a scalar, or padding) is "+0x..".
 */
static void type_path(Dwarf_Die *type, Dwarf_Word off, struct name_buf *b)
{
	bool more = true;
	int depth;

	for (depth = 0; more && depth < SYM_TYPE_DEPTH; depth++) {
		switch (dwarf_tag(type)) {
		case DW_TAG_typedef:
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
		case DW_TAG_restrict_type:
		case DW_TAG_atomic_type:
			more = die_type(type, type);
			break;
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_class_type:
			more = struct_step(type, &off, b);
			break;
		case DW_TAG_array_type:
			more = array_step(type, &off, b);
			break;
		default:
			more = false;	/* a scalar, pointer or enum: the end */
			break;
		}
	}
	if (off)
		name_buf__add(b, "+0x%llx", (unsigned long long)off);
}

/*
 * The name of the variable around module address a: ELF object symbol,
 * then its DWARF variable and the path through its type.
 */
static int sym_file__data_name(struct sym_file *f, __u64 a, char *out, size_t len)
{
	struct name_buf b = { .s = out, .len = len };
	Dwarf_Attribute attr;
	const char *name, *dw_name;
	Dwarf_Die var, type;
	GElf_Off off;
	GElf_Sym sym;

	name = dwfl_module_addrinfo(f->mod, a, &off, &sym, NULL, NULL, NULL);
	/* the symbol must be an object that contains a: a function, a
	 * sizeless label or the nearest symbol below is no variable */
	if (!name || GELF_ST_TYPE(sym.st_info) != STT_OBJECT || off >= sym.st_size)
		return -ENOENT;
	out[0] = '\0';
	if (module_find_variable(f->mod, a - off, &var)) {
		/* DWARF's name: a static local "hits", not its symbol "hits.1" */
		dw_name = dwarf_formstring(dwarf_attr_integrate(&var, DW_AT_name, &attr));
		name_buf__add(&b, "%s", dw_name ?: name);
		if (die_type(&var, &type))
			type_path(&type, off, &b);
		else if (off)
			name_buf__add(&b, "+0x%llx", (unsigned long long)off);
		return 0;
	}
	name_buf__add(&b, "%s", name);
	if (off)
		name_buf__add(&b, "+0x%llx", (unsigned long long)off);
	return 0;
}

int symbolizer__data_sym(struct symbolizer *s, __u32 pid, __u64 ts, __u64 addr,
			 struct data_sym *out)
{
	const struct trace_mapping *m, *fm;
	struct sym_file *f;
	__u64 a;
	int idx, err;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	m = symbolizer__find_mapping(s, pid, ts, addr);
	if (!m)
		return -ENOENT;
	fm = data_file_mapping(s, m);
	if (!fm)
		return -ENOENT;
	idx = sym_file__find_or_add(s, symbolizer__module_mapping(s, fm));
	if (idx < 0)
		return idx;
	f = &s->files[idx];
	if (!f->tried)
		sym_file__open(s, f);
	if (!f->dwfl)
		return -ENOENT;
	err = data_module_addr(f, fm, addr, &a);
	if (err)
		return -ENOENT;
	err = sym_file__data_name(f, a, out->name, sizeof(out->name));
	if (err)
		return err;
	out->module = f->path;
	out->offset = a - f->link_base;
	return 0;
}

int symbolizer__data(struct symbolizer *s, __u32 pid, __u64 ts, __u64 addr,
		     char *out, size_t len)
{
	struct data_sym d;
	int err;

	if (!out || !len)
		return -EINVAL;
	out[0] = '\0';
	err = symbolizer__data_sym(s, pid, ts, addr, &d);
	if (err)
		return err;
	snprintf(out, len, "%s", d.name);
	return 0;
}

int symbolizer__race_object(struct symbolizer *s, const struct finding *f,
			    struct data_sym *out)
{
	const struct finding_object *o;
	__u64 ts = 0;
	size_t i;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s || !f || f->kind != FINDING_DATA_RACE)
		return -EINVAL;
	o = &f->object;
	/* the layout the process had when it touched the word */
	if (f->nr_accesses)
		ts = f->accesses[0].ts;
	for (i = f->nr_accesses < 2 ? f->nr_accesses : 2; i-- > 0;)
		if (f->accesses[i].pid == o->pid)
			ts = f->accesses[i].ts;
	return symbolizer__data_sym(s, o->pid, ts, o->addr, out);
}
