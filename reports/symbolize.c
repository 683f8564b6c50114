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
void symbolizer__pid_range(const struct symbolizer *s, __u32 pid, size_t *lo, size_t *hi)
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
const struct trace_mapping *symbolizer__find_mapping(const struct symbolizer *s, __u32 pid,
						     __u64 ts, __u64 ip)
{
	const struct trace_mapping *best, *later;
	const struct trace_process *p;
	size_t lo, hi, i;
	int depth;

	for (depth = 0; depth < SYM_MAX_ANCESTORS && pid; depth++) {
		best = later = NULL;
		symbolizer__pid_range(s, pid, &lo, &hi);
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
__u64 symbolizer__mapping_base(const struct symbolizer *s, const struct trace_mapping *m)
{
	const struct trace_mapping *first = m;
	size_t lo, hi, i;

	symbolizer__pid_range(s, m->pid, &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct trace_mapping *c = s->maps[i];

		if (c->ts != m->ts || c->start > m->start || c->pgoff >= first->pgoff ||
		    strncmp(c->path, m->path, sizeof(c->path)))
			continue;
		first = c;
	}
	return first->start - first->pgoff;
}

/*
 * The mapping that names fm's module: snapshots record the build-id on the
 * executable mapping only, and the file must be checked against it.
 */
const struct trace_mapping *symbolizer__module_mapping(const struct symbolizer *s,
						       const struct trace_mapping *fm)
{
	size_t lo, hi, i;

	if (fm->build_id_len)
		return fm;
	symbolizer__pid_range(s, fm->pid, &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct trace_mapping *c = s->maps[i];

		if (c->ts == fm->ts && c->build_id_len && c->dev == fm->dev &&
		    c->ino == fm->ino && !strncmp(c->path, fm->path, sizeof(c->path)))
			return c;
	}
	return fm;
}

/* --- files and their Dwfl ----------------------------------------------- */

static void path_strip_deleted(char *path)
{
	size_t len = strlen(path);

	if (len > 10 && !strcmp(path + len - 10, " (deleted)"))
		path[len - 10] = '\0';
}

int sym_file__find_or_add(struct symbolizer *s, const struct trace_mapping *m)
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
const char *sym_file__binary(struct symbolizer *s, struct sym_file *f)
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

int sym_file__open(struct symbolizer *s, struct sym_file *f)
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
	m = symbolizer__find_mapping(s, pid, ts, lookup_ip);
	if (!m)
		return -ENOENT;
	base = symbolizer__mapping_base(s, m);
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
