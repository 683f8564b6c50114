// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <ctype.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memorder.h"
#include "../analyzer/array.h"

#define SOURCE_MAX (16u << 20)	/* bytes of one source file read */
#define STATEMENT_LINES 4	/* a statement is followed to its ';' this far */
#define STATEMENT_MAX 1024
#define INLINE_DEPTH 8		/* call sites an instruction is followed out through */

/* One source file, read once: its lines and what each names (lazily). */
struct source {
	char *path;
	char *text;		/* NULL: unreadable */
	size_t *line_start;	/* line n (1-based) starts at text + line_start[n - 1] */
	size_t nr_lines;
	/* per line: enum memorder_kind | MEMORDER_OP_* << 2, or -1 not classified yet */
	signed char *order;
};

struct memorder {
	int fd;
	Dwarf *dwarf;
	struct source *sources;
	size_t nr_sources, cap_sources;
};

static const char *const relaxed_words[] = { "relaxed", NULL };
static const char *const ordered_words[] = { "acquire", "release", "acq_rel", "seq_cst",
					     "consume", NULL };

/* Does text name an order of words, after one of the spellings' prefixes? */
static bool names_order(const char *text, const char *const *words)
{
	static const char *const prefixes[] = { "memory_order_", "memory_order::", NULL };
	const char *p;

	for (int i = 0; prefixes[i]; i++)
		for (p = text; (p = strstr(p, prefixes[i])); p += strlen(prefixes[i]))
			for (int w = 0; words[w]; w++)
				if (!strncmp(p + strlen(prefixes[i]), words[w], strlen(words[w])) &&
				    !isalnum((unsigned char)p[strlen(prefixes[i]) + strlen(words[w])]) &&
				    p[strlen(prefixes[i]) + strlen(words[w])] != '_')
					return true;
	for (p = text; (p = strstr(p, "__ATOMIC_")); p += 9)
		for (int w = 0; words[w]; w++) {
			size_t n = strlen(words[w]);
			bool same = true;

			for (size_t k = 0; k < n && same; k++)
				same = p[9 + k] == toupper((unsigned char)words[w][k]);
			if (same && !isalnum((unsigned char)p[9 + n]) && p[9 + n] != '_')
				return true;
		}
	return false;
}

/* Spellings of each kind of atomic operation (C11, GNU builtins, C++ members). */
static const char *const load_words[] = { "atomic_load", "__atomic_load", ".load(", "->load(",
					  "atomic_flag_test(", NULL };
static const char *const store_words[] = { "atomic_store", "__atomic_store", ".store(",
					   "->store(", "atomic_flag_clear", "__atomic_clear", NULL };
static const char *const rmw_words[] = { "fetch_", "exchange", "test_and_set", "__sync_",
					 "fetch(", NULL };

static bool names_any(const char *text, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strstr(text, words[i]))
			return true;
	return false;
}

unsigned int memorder__classify_ops(const char *text)
{
	unsigned int ops = 0;

	if (names_any(text, load_words))
		ops |= MEMORDER_OP_LOAD;
	if (names_any(text, store_words))
		ops |= MEMORDER_OP_STORE;
	if (names_any(text, rmw_words))
		ops |= MEMORDER_OP_RMW;
	return ops ? ops : MEMORDER_OP_ANY;
}

enum memorder_kind memorder__classify_text(const char *text)
{
	if (names_order(text, ordered_words))
		return MEMORDER_ORDERED;
	return names_order(text, relaxed_words) ? MEMORDER_RELAXED : MEMORDER_NONE;
}

struct memorder *memorder__open(const char *path)
{
	struct memorder *m = calloc(1, sizeof(*m));
	int err;

	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0) {
		err = errno;
		free(m);
		errno = err;
		return NULL;
	}
	m->dwarf = dwarf_begin(m->fd, DWARF_C_READ);
	if (!m->dwarf) {
		close(m->fd);
		free(m);
		errno = ENOENT;
		return NULL;
	}
	return m;
}

static void source_free(struct source *s)
{
	free(s->path);
	free(s->text);
	free(s->line_start);
	free(s->order);
}

void memorder__free(struct memorder *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nr_sources; i++)
		source_free(&m->sources[i]);
	free(m->sources);
	dwarf_end(m->dwarf);
	close(m->fd);
	free(m);
}

/* Reads the file and indexes its lines; an unreadable file stays text NULL. */
static void source_load(struct source *s)
{
	struct stat st;
	size_t cap = 0;
	ssize_t n;
	int fd;

	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size > SOURCE_MAX)
		goto out;
	s->text = malloc(st.st_size + 1);
	if (!s->text)
		goto out;
	n = read(fd, s->text, st.st_size);
	if (n < 0) {
		free(s->text);
		s->text = NULL;
		goto out;
	}
	s->text[n] = '\0';
	for (size_t off = 0; off <= (size_t)n;) {
		char *nl = memchr(s->text + off, '\n', n - off);

		if (array__reserve(&s->line_start, &cap, s->nr_lines + 1, sizeof(*s->line_start)))
			break;
		s->line_start[s->nr_lines++] = off;
		if (!nl)
			break;
		off = nl - s->text + 1;
	}
	s->order = malloc(s->nr_lines ? s->nr_lines : 1);
	if (s->order)
		memset(s->order, -1, s->nr_lines);
out:
	close(fd);
}

static struct source *source_get(struct memorder *m, const char *path)
{
	struct source *s;

	for (size_t i = 0; i < m->nr_sources; i++)
		if (!strcmp(m->sources[i].path, path))
			return &m->sources[i];
	if (array__reserve(&m->sources, &m->cap_sources, m->nr_sources + 1, sizeof(*m->sources)))
		return NULL;
	s = &m->sources[m->nr_sources];
	memset(s, 0, sizeof(*s));
	s->path = strdup(path);
	if (!s->path)
		return NULL;
	m->nr_sources++;
	source_load(s);
	return s;
}

/*
 * The statement that starts at line: the line and the ones after it up to
 * its ';' (at most STATEMENT_LINES), so that an order on a continuation
 * line counts.
 */
static void statement_text(const struct source *s, size_t line, char *buf, size_t size)
{
	const char *p = s->text + s->line_start[line - 1];
	size_t len = 0;
	int lines = 0;

	while (*p && len + 1 < size) {
		buf[len++] = *p;
		if (*p == ';')
			break;
		if (*p == '\n' && ++lines == STATEMENT_LINES)
			break;
		p++;
	}
	buf[len] = '\0';
}

/*
 * What the statement at path:line names (*ops: the kinds of atomic
 * operation it spells); NONE when the source is not here.
 */
static enum memorder_kind line_order(struct memorder *m, const char *path, int line, bool *atomic,
				     unsigned int *ops)
{
	char buf[STATEMENT_MAX];
	struct source *s = source_get(m, path);
	int v;

	*atomic = false;
	*ops = MEMORDER_OP_ANY;
	if (!s || !s->text || line < 1 || (size_t)line > s->nr_lines)
		return MEMORDER_NONE;
	statement_text(s, line, buf, sizeof(buf));
	*atomic = strstr(buf, "atomic") != NULL;
	if (s->order && s->order[line - 1] >= 0) {
		v = s->order[line - 1];
	} else {
		v = memorder__classify_text(buf) | memorder__classify_ops(buf) << 2;
		if (s->order)
			s->order[line - 1] = (signed char)v;
	}
	*ops = (unsigned int)v >> 2;
	return (enum memorder_kind)(v & 3);
}

/* An absolute path for a line table's file name (relative to the unit's directory). */
static const char *full_path(Dwarf_Die *cu, const char *name, char *buf, size_t size)
{
	Dwarf_Attribute attr;
	const char *dir;

	if (!name || name[0] == '/')
		return name;
	dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
	if (!dir || snprintf(buf, size, "%s/%s", dir, name) >= (int)size)
		return name;
	return buf;
}

/*
 * The inlined call sites the instruction at vaddr sits in, innermost
 * first: the first one whose statement names an order decides.
 */
static enum memorder_kind call_site_order(struct memorder *m, Dwarf_Die *cu, __u64 vaddr,
					  unsigned int *ops)
{
	enum memorder_kind order = MEMORDER_NONE;
	Dwarf_Die *scopes = NULL;
	Dwarf_Files *files;
	size_t nr_files;
	char buf[4096];
	int n;

	n = dwarf_getscopes(cu, vaddr, &scopes);
	if (n <= 0 || dwarf_getsrcfiles(cu, &files, &nr_files)) {
		free(scopes);
		return MEMORDER_NONE;
	}
	for (int i = 0, depth = 0; i < n && depth < INLINE_DEPTH && order == MEMORDER_NONE; i++) {
		Dwarf_Attribute attr;
		Dwarf_Word file, line;
		const char *name;
		bool atomic;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		depth++;
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &file) ||
		    dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &line) ||
		    file >= nr_files)
			continue;
		name = full_path(cu, dwarf_filesrc(files, file, NULL, NULL), buf, sizeof(buf));
		if (name)
			order = line_order(m, name, (int)line, &atomic, ops);
	}
	free(scopes);
	return order;
}

enum memorder_kind memorder__order_ops_at(struct memorder *m, __u64 vaddr, unsigned int *ops)
{
	enum memorder_kind order;
	Dwarf_Die cu_mem, *cu;
	const char *name;
	Dwarf_Line *line;
	char buf[4096];
	bool atomic;
	int lineno;

	*ops = MEMORDER_OP_ANY;
	if (!m)
		return MEMORDER_NONE;
	cu = dwarf_addrdie(m->dwarf, vaddr, &cu_mem);
	if (!cu)
		return MEMORDER_NONE;
	line = dwarf_getsrc_die(cu, vaddr);
	if (!line || dwarf_lineno(line, &lineno))
		return MEMORDER_NONE;
	name = full_path(cu, dwarf_linesrc(line, NULL, NULL), buf, sizeof(buf));
	if (!name)
		return MEMORDER_NONE;
	order = line_order(m, name, lineno, &atomic, ops);
	/* an atomic wrapper's body (libstdc++'s load(__m)): its callers say */
	if (order == MEMORDER_NONE && atomic)
		order = call_site_order(m, cu, vaddr, ops);
	return order;
}

enum memorder_kind memorder__order_at(struct memorder *m, __u64 vaddr)
{
	unsigned int ops;

	return memorder__order_ops_at(m, vaddr, &ops);
}

bool memorder__relaxed_at(struct memorder *m, __u64 vaddr)
{
	return memorder__order_at(m, vaddr) == MEMORDER_RELAXED;
}
