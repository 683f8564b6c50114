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

/* Children forked without exec share their parent's layout: walk up. */
#define SYM_MAX_ANCESTORS 64

/*
 * One mapped file, as loaded anywhere in the trace. Its Dwfl holds just
 * this module at its link-time addresses, so every process that maps the
 * file (whatever its ASLR base) shares the parsed DWARF and the cache.
 */
struct sym_file {
	char *path;			/* the mapping's path, " (deleted)" removed */
	__u8 build_id[TRACE_BUILD_ID_MAX];
	__u32 build_id_len;
	char build_id_hex[2 * TRACE_BUILD_ID_MAX + 1];	/* "" when none */
	bool tried;			/* opening was attempted */
	Dwfl *dwfl;			/* NULL: only module + offset */
	Dwfl_Module *mod;
	__u64 link_base;		/* link-time address of file offset 0 */
	bool binary_tried;		/* the binary for unwinding was looked for */
	char *binary;			/* the module's own ELF (its .eh_frame); NULL: none */
};

struct sym_cache_ent {
	bool used;
	__u32 file;
	__u64 addr;			/* module address looked up (ip - 1 for returns) */
	struct frame fr;		/* everything but ip and offset */
};

struct symbolizer {
	const struct trace *t;
	const struct trace_mapping **maps;	/* sorted by pid, ts, start */
	size_t nr_maps;
	struct sym_file *files;
	size_t nr_files, cap_files;
	struct sym_cache_ent *cache;
	size_t cache_cap, cache_used;	/* cache_cap: power of two */
	struct debuginfo *di;		/* where modules and debug files are found */
	Dwfl_Callbacks callbacks;
	struct unwinder *unwinder;	/* created with the first snapshot */
	__u64 nr_unwound, nr_unwound_frames;
};

static int mapping_cmp(const void *a, const void *b)
{
	const struct trace_mapping *x = *(const struct trace_mapping **)a;
	const struct trace_mapping *y = *(const struct trace_mapping **)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/*
 * libdwfl asks for a module's separate debug file: found by its build-id
 * through reports/debuginfo.h (the module's user data, set when it is
 * reported), so the same directories, sysroot and single debuginfod query
 * serve unwinding and symbols. Without a build-id: libdwfl's own search
 * (.gnu_debuglink next to the file).
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	char path[TRACE_PATH_LEN + 64];
	const unsigned char *id;
	GElf_Addr id_vaddr;
	int len, fd;

	len = dwfl_module_build_id(mod, &id, &id_vaddr);
	if (len <= 0 || !*userdata)
		return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
						    debuglink_file, debuglink_crc,
						    debuginfo_file_name);
	if (debuginfo__find_debug(*userdata, id, len, path, sizeof(path)))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	*debuginfo_file_name = strdup(path);
	return fd;
}

struct symbolizer *symbolizer__new(const struct trace *t)
{
	struct symbolizer *s;
	size_t i;

	if (!t) {
		errno = EINVAL;
		return NULL;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->t = t;
	s->di = debuginfo__new();
	if (!s->di)
		goto free_s;
	s->callbacks.find_elf = dwfl_build_id_find_elf;
	s->callbacks.find_debuginfo = find_debuginfo;
	s->callbacks.section_address = dwfl_offline_section_address;
	if (t->nr_mappings) {
		s->maps = calloc(t->nr_mappings, sizeof(*s->maps));
		if (!s->maps)
			goto free_s;
		for (i = 0; i < t->nr_mappings; i++)
			s->maps[i] = &t->mappings[i];
		s->nr_maps = t->nr_mappings;
		qsort(s->maps, s->nr_maps, sizeof(*s->maps), mapping_cmp);
	}
	return s;

free_s:
	debuginfo__free(s->di);
	free(s);
	errno = ENOMEM;
	return NULL;
}

void symbolizer__free(struct symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nr_files; i++) {
		if (s->files[i].dwfl)
			dwfl_end(s->files[i].dwfl);
		free(s->files[i].path);
		free(s->files[i].binary);
	}
	unwinder__free(s->unwinder);
	debuginfo__free(s->di);
	free(s->files);
	free(s->cache);
	free(s->maps);
	free(s);
}

int symbolizer__set_debug_dir(struct symbolizer *s, const char *dir)
{
	if (!s || !dir)
		return -EINVAL;
	debuginfo__no_default_dirs(s->di);
	return debuginfo__add_debug_dir(s->di, dir);
}

int symbolizer__add_debug_dir(struct symbolizer *s, const char *dir)
{
	return s ? debuginfo__add_debug_dir(s->di, dir) : -EINVAL;
}

int symbolizer__set_sysroot(struct symbolizer *s, const char *dir)
{
	return s ? debuginfo__set_sysroot(s->di, dir) : -EINVAL;
}

/* --- finding the mapping ------------------------------------------------- */

static bool mapping_contains(const struct trace_mapping *m, __u64 ip)
{
	return m->start <= ip && ip < m->end;
}

/* [*lo, *hi) of the sorted mappings of pid */
static void pid_range(const struct symbolizer *s, __u32 pid, size_t *lo, size_t *hi)
{
	size_t l = 0, h = s->nr_maps, mid;

	while (l < h) {
		mid = l + (h - l) / 2;
		if (s->maps[mid]->pid < pid)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	h = l;
	while (h < s->nr_maps && s->maps[h]->pid == pid)
		h++;
	*hi = h;
}

/*
 * The mapping holding ip in pid's latest snapshot taken at or before ts;
 * failing that, in any snapshot of pid (it was mapped after the snapshot
 * we have); failing that, in its parent's.
 */
static const struct trace_mapping *find_mapping(const struct symbolizer *s, __u32 pid,
						__u64 ts, __u64 ip)
{
	const struct trace_mapping *best, *later;
	const struct trace_process *p;
	size_t lo, hi, i;
	int depth;

	for (depth = 0; depth < SYM_MAX_ANCESTORS && pid; depth++) {
		best = later = NULL;
		pid_range(s, pid, &lo, &hi);
		for (i = lo; i < hi; i++) {
			const struct trace_mapping *m = s->maps[i];

			if (!mapping_contains(m, ip))
				continue;
			if (m->ts <= ts)
				best = m;	/* sorted by ts: the last is the latest */
			else if (!later)
				later = m;
		}
		if (best)
			return best;
		if (later)
			return later;
		p = trace__find_process(s->t, pid);
		if (!p || p->ppid == pid)
			break;
		pid = p->ppid;
	}
	return NULL;
}

/*
 * Load address of the file's offset 0 in m's snapshot: start - pgoff of
 * the same file's mapping with the smallest offset (the first segment).
 */
static __u64 mapping_base(const struct symbolizer *s, const struct trace_mapping *m)
{
	const struct trace_mapping *first = m;
	size_t lo, hi, i;

	pid_range(s, m->pid, &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct trace_mapping *c = s->maps[i];

		if (c->ts != m->ts || c->start > m->start || c->pgoff >= first->pgoff ||
		    strncmp(c->path, m->path, sizeof(c->path)))
			continue;
		first = c;
	}
	return first->start - first->pgoff;
}

/* --- files and their Dwfl ----------------------------------------------- */

static void path_strip_deleted(char *path)
{
	size_t len = strlen(path);

	if (len > 10 && !strcmp(path + len - 10, " (deleted)"))
		path[len - 10] = '\0';
}

static int sym_file__find_or_add(struct symbolizer *s, const struct trace_mapping *m)
{
	char path[TRACE_PATH_LEN];
	struct sym_file *f;
	size_t i, cap;

	memcpy(path, m->path, sizeof(path));
	path[sizeof(path) - 1] = '\0';
	path_strip_deleted(path);
	for (i = 0; i < s->nr_files; i++) {
		f = &s->files[i];
		if (f->build_id_len == m->build_id_len &&
		    !memcmp(f->build_id, m->build_id, m->build_id_len) &&
		    !strcmp(f->path, path))
			return i;
	}
	if (s->nr_files == s->cap_files) {
		cap = s->cap_files ? s->cap_files * 2 : 16;
		f = realloc(s->files, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		s->files = f;
		s->cap_files = cap;
	}
	f = &s->files[s->nr_files];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	f->build_id_len = m->build_id_len > TRACE_BUILD_ID_MAX ? 0 : m->build_id_len;
	memcpy(f->build_id, m->build_id, f->build_id_len);
	for (i = 0; i < f->build_id_len; i++)
		snprintf(f->build_id_hex + 2 * i, 3, "%02x", f->build_id[i]);
	return s->nr_files++;
}

/*
 * The module's own ELF file (its code and .eh_frame), found by its
 * recorded path and build-id. A separate debug file has no .eh_frame
 * contents, so it is never the answer.
 */
static const char *sym_file__binary(struct symbolizer *s, struct sym_file *f)
{
	char path[TRACE_PATH_LEN + 64];

	if (f->binary_tried)
		return f->binary;
	f->binary_tried = true;
	if (f->path[0] == '/' &&
	    !debuginfo__find_binary(s->di, f->path, f->build_id, f->build_id_len, path,
				    sizeof(path)))
		f->binary = strdup(path);
	return f->binary;
}

/*
 * Which file to report for f: its binary (libdwfl then asks
 * find_debuginfo for a separate debug file when the binary has no DWARF),
 * else, when only the debug file is there, the debug file (symbols and
 * DWARF, no code). Found through the debug directories, the sysroot and
 * debuginfod (reports/debuginfo.h); never a file with another build-id.
 */
static int sym_file__choose_elf(struct symbolizer *s, struct sym_file *f,
				char *out, size_t len)
{
	const char *binary;

	if (f->path[0] != '/')
		return -ENOENT;		/* [vdso], [heap], anonymous code */
	binary = sym_file__binary(s, f);
	if (binary) {
		snprintf(out, len, "%s", binary);
		return 0;
	}
	return debuginfo__find_debug(s->di, f->build_id, f->build_id_len, out, len);
}

/* Link-time address of file offset 0, from the first PT_LOAD. */
static int module__link_base(Dwfl_Module *mod, __u64 *out)
{
	GElf_Addr bias;
	GElf_Phdr phdr;
	size_t i, phnum;
	Elf *elf;

	elf = dwfl_module_getelf(mod, &bias);
	if (!elf || elf_getphdrnum(elf, &phnum))
		return -ENOEXEC;
	for (i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		*out = phdr.p_vaddr - phdr.p_offset + bias;
		return 0;
	}
	return -ENOEXEC;
}

static int sym_file__open(struct symbolizer *s, struct sym_file *f)
{
	char elf_path[TRACE_PATH_LEN + 64];
	void **userdata = NULL;
	int err;

	f->tried = true;
	err = sym_file__choose_elf(s, f, elf_path, sizeof(elf_path));
	if (err)
		return err;
	f->dwfl = dwfl_begin(&s->callbacks);
	if (!f->dwfl)
		return -ENOMEM;
	dwfl_report_begin(f->dwfl);
	/* base 0 + p_vaddr: the module sits at its link-time addresses */
	f->mod = dwfl_report_elf(f->dwfl, f->path, elf_path, -1, 0, true);
	dwfl_report_end(f->dwfl, NULL, NULL);
	if (!f->mod) {
		err = -ENOEXEC;
		goto end_dwfl;
	}
	/* find_debuginfo's way to the search places */
	if (dwfl_module_info(f->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL) && userdata)
		*userdata = s->di;
	err = module__link_base(f->mod, &f->link_base);
	if (err)
		goto end_dwfl;
	return 0;

end_dwfl:
	dwfl_end(f->dwfl);
	f->dwfl = NULL;
	f->mod = NULL;
	return err;
}

/* --- lookups ------------------------------------------------------------- */

/* DW_AT_call_file / DW_AT_call_line of an inlined_subroutine DIE. */
static void inline_call_site(Dwarf_Die *cudie, Dwarf_Die *die, struct frame_loc *loc)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word w;
	size_t nfiles;

	loc->file = NULL;
	loc->line = loc->column = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &w) == 0 &&
	    dwarf_getsrcfiles(cudie, &files, &nfiles) == 0 && w < nfiles)
		loc->file = dwarf_filesrc(files, w, NULL, NULL);
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &w) == 0)
		loc->line = w;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_column, &attr), &w) == 0)
		loc->column = w;
}

static bool die_is_function(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);

	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

/*
 * Function names and call sites from the DWARF scopes around addr: the
 * innermost function scope is the code at addr. dwarf_getscopes continues
 * past an inlined instance with its abstract origin's scopes, so the
 * callers come from the concrete DIE's own containers (dwarf_getscopes_die,
 * as eu-addr2line -i does); each inlined_subroutine's call site is where
 * its caller, the next function out, stood.
 */
static void lookup_scopes(Dwfl_Module *mod, Dwarf_Addr addr, struct frame *fr)
{
	Dwarf_Die *cudie, *scopes = NULL, *chain = NULL;
	struct frame_loc call;
	Dwarf_Addr bias;
	const char *name;
	int i, n, nchain;
	size_t slot = 0;

	cudie = dwfl_module_addrdie(mod, addr, &bias);
	if (!cudie)
		return;
	n = dwarf_getscopes(cudie, addr - bias, &scopes);
	for (i = 0; i < n && !die_is_function(&scopes[i]); i++)
		;
	if (i >= n)
		goto free_scopes;
	name = dwarf_diename(&scopes[i]);
	if (name)
		fr->function = name;
	if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
		goto free_scopes;

	nchain = dwarf_getscopes_die(&scopes[i], &chain);
	if (nchain <= 0)
		goto free_scopes;
	inline_call_site(cudie, &chain[0], &call);
	for (i = 1; i < nchain && slot < FRAME_MAX_INLINED; i++) {
		if (!die_is_function(&chain[i]))
			continue;
		call.function = dwarf_diename(&chain[i]);
		fr->inlined[slot++] = call;
		if (dwarf_tag(&chain[i]) == DW_TAG_subprogram)
			break;
		inline_call_site(cudie, &chain[i], &call);
	}
	fr->nr_inlined = slot;
	free(chain);
free_scopes:
	free(scopes);
}

static void sym_file__lookup(struct sym_file *f, __u64 addr, struct frame *fr)
{
	GElf_Sym sym;
	GElf_Off off;
	Dwfl_Line *line;
	int lineno = 0, col = 0;

	fr->function = dwfl_module_addrinfo(f->mod, addr, &off, &sym, NULL, NULL, NULL);
	line = dwfl_module_getsrc(f->mod, addr);
	if (line) {
		fr->file = dwfl_lineinfo(line, NULL, &lineno, &col, NULL, NULL);
		fr->line = lineno;
		fr->column = col;
	}
	lookup_scopes(f->mod, addr, fr);
}

static size_t cache_hash(__u32 file, __u64 addr)
{
	__u64 h = addr * 0x9e3779b97f4a7c15ull ^ ((__u64)file * 0xc2b2ae3d27d4eb4full);

	return h ^ (h >> 29);
}

static struct sym_cache_ent *cache_slot(struct symbolizer *s, __u32 file, __u64 addr)
{
	size_t i = cache_hash(file, addr) & (s->cache_cap - 1);

	while (s->cache[i].used && (s->cache[i].file != file || s->cache[i].addr != addr))
		i = (i + 1) & (s->cache_cap - 1);
	return &s->cache[i];
}

static int cache_grow(struct symbolizer *s)
{
	struct sym_cache_ent *old = s->cache, *e;
	size_t old_cap = s->cache_cap, i;

	s->cache_cap = old_cap ? old_cap * 2 : 256;
	s->cache = calloc(s->cache_cap, sizeof(*s->cache));
	if (!s->cache) {
		s->cache = old;
		s->cache_cap = old_cap;
		return -ENOMEM;
	}
	for (i = 0; i < old_cap; i++) {
		if (!old[i].used)
			continue;
		e = cache_slot(s, old[i].file, old[i].addr);
		*e = old[i];
	}
	free(old);
	return 0;
}

int symbolizer__frame(struct symbolizer *s, __u32 pid, __u64 ts, __u64 ip,
		      bool is_return_address, struct frame *out)
{
	const struct trace_mapping *m;
	struct sym_cache_ent *e;
	struct sym_file *f;
	__u64 base, lookup_ip, addr;
	int idx;

	memset(out, 0, sizeof(*out));
	out->ip = ip;
	if (!s)
		return -EINVAL;
	/* the call instruction ends at the return address: look inside it */
	lookup_ip = is_return_address && ip ? ip - 1 : ip;
	m = find_mapping(s, pid, ts, lookup_ip);
	if (!m)
		return -ENOENT;
	base = mapping_base(s, m);
	out->offset = ip - base;
	idx = sym_file__find_or_add(s, m);
	if (idx < 0)
		return 0;	/* out of memory: an address is still an answer */
	f = &s->files[idx];
	out->module = f->path[0] ? f->path : NULL;
	out->build_id = f->build_id_len ? f->build_id_hex : NULL;
	if (!f->tried)
		sym_file__open(s, f);
	if (!f->dwfl)
		return 0;

	addr = lookup_ip - base + f->link_base;
	if (s->cache_used * 2 >= s->cache_cap && cache_grow(s)) {
		sym_file__lookup(f, addr, out);
		return 0;
	}
	e = cache_slot(s, idx, addr);
	if (!e->used) {
		e->used = true;
		e->file = idx;
		e->addr = addr;
		sym_file__lookup(f, addr, &e->fr);
		e->fr.module = out->module;
		e->fr.build_id = out->build_id;
		s->cache_used++;
	}
	*out = e->fr;
	out->ip = ip;
	out->offset = ip - base;
	return 0;
}

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
	pid_range(s, m->pid, &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct trace_mapping *c = s->maps[i];

		if (c->ts == m->ts && c->end == m->start && c->path[0] == '/' &&
		    (c->prot & PROT_WRITE) && !(c->flags & MAPF_SHARED))
			return c;
	}
	return NULL;
}

/*
 * The mapping that names fm's module: snapshots record the build-id on the
 * executable mapping only, and the file must be checked against it.
 */
static const struct trace_mapping *module_mapping(const struct symbolizer *s,
						  const struct trace_mapping *fm)
{
	size_t lo, hi, i;

	if (fm->build_id_len)
		return fm;
	pid_range(s, fm->pid, &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct trace_mapping *c = s->maps[i];

		if (c->ts == fm->ts && c->build_id_len && c->dev == fm->dev &&
		    c->ino == fm->ino && !strncmp(c->path, fm->path, sizeof(c->path)))
			return c;
	}
	return fm;
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
	m = find_mapping(s, pid, ts, addr);
	if (!m)
		return -ENOENT;
	fm = data_file_mapping(s, m);
	if (!fm)
		return -ENOENT;
	idx = sym_file__find_or_add(s, module_mapping(s, fm));
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

/* --- unwinding stack snapshots ----------------------------------------- */

struct snapshot_ctx {
	struct symbolizer *s;
	__u32 pid;
	__u64 ts;
	const struct ustack_snapshot *snap;
};

static int snapshot_read_mem(void *ctx, __u64 addr, void *buf, size_t len)
{
	const struct snapshot_ctx *c = ctx;
	__u64 sp = c->snap->hdr.regs[UREG_SP];

	if (addr < sp || addr - sp > c->snap->have || c->snap->have - (addr - sp) < len)
		return -EFAULT;
	memcpy(buf, c->snap->data + (addr - sp), len);
	return 0;
}

/* The executable mapping of pid at ts holding addr, from the trace. */
static int snapshot_find_module(void *ctx, __u64 addr, struct unwind_module *out)
{
	const struct snapshot_ctx *c = ctx;
	const struct trace_mapping *m;
	struct sym_file *f;
	int idx;

	m = find_mapping(c->s, c->pid, c->ts, addr);
	if (!m || !(m->prot & PROT_EXEC))
		return -ENOENT;
	out->start = m->start;
	out->end = m->end;
	out->base = mapping_base(c->s, m);
	out->elf_path = NULL;
	out->name = NULL;
	idx = sym_file__find_or_add(c->s, module_mapping(c->s, m));
	if (idx < 0)
		return 0;	/* out of memory: the frame stands, its callers are lost */
	f = &c->s->files[idx];
	out->name = f->path;
	out->elf_path = sym_file__binary(c->s, f);
	return 0;
}

static const struct unwind_target_ops snapshot_ops = {
	.read_mem = snapshot_read_mem,
	.find_module = snapshot_find_module,
};

int symbolizer__unwind(struct symbolizer *s, __u32 pid, __u64 ts,
		       const struct ustack_snapshot *snap, struct unwind_frame *out, size_t max)
{
	struct snapshot_ctx c = { .s = s, .pid = pid, .ts = ts, .snap = snap };
	int n;

	if (!s || !snap || !out)
		return -EINVAL;
	if (!s->unwinder) {
		s->unwinder = unwinder__new();
		if (!s->unwinder)
			return -errno;
	}
	n = unwinder__unwind(s->unwinder, &snapshot_ops, &c, snap->hdr.regs, out, max);
	if (n > 0) {
		s->nr_unwound++;
		s->nr_unwound_frames += n;
	}
	return n;
}

/* addr is in an executable mapping of pid at ts (or of its ancestors). */
static bool in_code(const struct symbolizer *s, __u32 pid, __u64 ts, __u64 addr)
{
	const struct trace_mapping *m = find_mapping(s, pid, ts, addr);

	return m && (m->prot & PROT_EXEC);
}

/*
 * The frames of a snapshot as the reports show them, as (ip, is it a
 * return address): first_frame stands for the unwound frame 0 (see
 * events.h): the exact ip of an access, or the return address into the
 * caller of a hooked function, which the walk finds again as its frame 1.
 */
static size_t snapshot_frames(struct symbolizer *s, __u32 pid, __u64 ts,
			      const struct ustack_snapshot *snap, __u64 *ips, bool *is_ret,
			      size_t max)
{
	struct unwind_frame uf[IPCRACE_MAX_STACK + 1];
	size_t i = 0, n = 0;
	int got;

	got = symbolizer__unwind(s, pid, ts, snap, uf, IPCRACE_MAX_STACK + 1);
	if (got < 0)
		got = 0;
	if (snap->hdr.first_frame && max) {
		ips[n] = snap->hdr.first_frame;
		is_ret[n++] = !(snap->hdr.flags & STACKF_EXACT_IP);
		i = got > 1 && uf[1].ip == snap->hdr.first_frame ? 2 : 1;
	}
	for (; i < (size_t)got && n < max; i++) {
		ips[n] = uf[i].ip;
		/* frame 0 is where the registers were: not a return address */
		is_ret[n++] = uf[i].how != UNWIND_REGS;
	}
	return n;
}

size_t symbolizer__stack(struct symbolizer *s, const struct trace *t, __u32 pid, __u64 ts,
			 __u64 stack_id, __u64 exact_ip, struct frame *out, size_t max)
{
	const struct ipcrace_stack *st = stack_id ? trace__find_stack(t, stack_id) : NULL;
	const struct ustack_snapshot *snap = stack_id ? trace__find_ustack(t, stack_id) : NULL;
	__u64 ips[IPCRACE_MAX_STACK];
	bool is_ret_at[IPCRACE_MAX_STACK];
	size_t i, n = 0, nr;
	bool is_ret;

	if (snap && s && max) {
		nr = snapshot_frames(s, pid, ts, snap, ips, is_ret_at,
				     max < IPCRACE_MAX_STACK ? max : IPCRACE_MAX_STACK);
		for (i = 0; i < nr; i++)
			symbolizer__frame(s, pid, ts, ips[i], is_ret_at[i], &out[n++]);
		return n;
	}
	if (!st) {
		if (exact_ip && max) {
			symbolizer__frame(s, pid, ts, exact_ip, false, &out[0]);
			n = 1;
		}
		return n;
	}
	nr = st->nr < IPCRACE_MAX_STACK ? st->nr : IPCRACE_MAX_STACK;
	for (i = 0; i < nr && n < max; i++) {
		/* all frames are return addresses but an exact #0 */
		is_ret = i || !(st->flags & STACKF_EXACT_IP);
		/*
		 * A frame-pointer walk through code built without them reads
		 * whatever the register held: past frame 0, it ends at the
		 * first address outside the process's code.
		 */
		if (i && s && !in_code(s, pid, ts, is_ret ? st->ips[i] - 1 : st->ips[i]))
			break;
		symbolizer__frame(s, pid, ts, st->ips[i], is_ret, &out[n++]);
	}
	return n;
}

void symbolizer__print_unwind_stats(const struct symbolizer *s, FILE *out)
{
	if (!s)
		return;
	fprintf(out, "ipcrace: unwind: %llu stack snapshots unwound, %llu frames\n",
		(unsigned long long)s->nr_unwound, (unsigned long long)s->nr_unwound_frames);
	unwinder__print_stats(s->unwinder, out);
	debuginfo__print_stats(s->di, out);
}

/* --- one id per unwound stack ------------------------------------------ */

struct stack_use {
	__u64 id;			/* the snapshot's id */
	size_t event;			/* the first event naming it */
	__u64 frames_hash;		/* of its unwound frames */
	__u64 rep;			/* the id all snapshots with these frames get */
};

static int use_by_id(const void *a, const void *b)
{
	const struct stack_use *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->event < y->event ? -1 : x->event > y->event;
}

static int use_by_frames(const void *a, const void *b)
{
	const struct stack_use *x = a, *y = b;

	if (x->frames_hash != y->frames_hash)
		return x->frames_hash < y->frames_hash ? -1 : 1;
	return x->event < y->event ? -1 : x->event > y->event;
}

static int use_find(const void *key, const void *elem)
{
	__u64 id = *(const __u64 *)key;
	const struct stack_use *u = elem;

	return id < u->id ? -1 : id > u->id;
}

int symbolizer__merge_stacks(struct symbolizer *s, struct trace *t)
{
	__u64 ips[IPCRACE_MAX_STACK];
	bool is_ret[IPCRACE_MAX_STACK];
	struct stack_use *uses, *u;
	size_t i, k, n = 0, nr;

	if (!s || !t)
		return -EINVAL;
	if (!ustack_table__count(t->ustacks))
		return 0;
	uses = calloc(t->nr_events ? t->nr_events : 1, sizeof(*uses));
	if (!uses)
		return -ENOMEM;
	for (i = 0; i < t->nr_events; i++)
		if (trace__find_ustack(t, t->events[i].stack_id)) {
			uses[n].id = t->events[i].stack_id;
			uses[n++].event = i;
		}
	/* each snapshot once, unwound with the first event that names it */
	qsort(uses, n, sizeof(*uses), use_by_id);
	for (i = k = 0; i < n; i++)
		if (!k || uses[i].id != uses[k - 1].id)
			uses[k++] = uses[i];
	n = k;
	for (i = 0; i < n; i++) {
		const struct ipcrace_event *e = &t->events[uses[i].event];
		__u64 h = 0xcbf29ce484222325ULL;

		nr = snapshot_frames(s, e->pid, e->ts, trace__find_ustack(t, uses[i].id), ips,
				     is_ret, IPCRACE_MAX_STACK);
		for (k = 0; k < nr; k++)
			h = (h ^ (ips[k] + is_ret[k])) * 0x100000001b3ULL;
		uses[i].frames_hash = nr ? h : uses[i].id;	/* nothing unwound: itself */
	}
	/* the earliest snapshot of each stack names it */
	qsort(uses, n, sizeof(*uses), use_by_frames);
	for (i = 0; i < n; i++)
		uses[i].rep = i && uses[i].frames_hash == uses[i - 1].frames_hash ?
			      uses[i - 1].rep : uses[i].id;
	qsort(uses, n, sizeof(*uses), use_by_id);
	for (i = 0; i < t->nr_events; i++) {
		if (!t->events[i].stack_id)
			continue;
		u = bsearch(&t->events[i].stack_id, uses, n, sizeof(*uses), use_find);
		if (u)
			t->events[i].stack_id = u->rep;
	}
	free(uses);
	return 0;
}
