// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kernel_btf.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

int kernel_btf__open(struct kernel_btf *kb)
{
	kb->path[0] = '\0';
	memset(&kb->ids, 0, sizeof(kb->ids));
	kb->fd = memfd_create("ipcrace-vmlinux-btf", MFD_CLOEXEC);
	if (kb->fd < 0)
		return -errno;
	snprintf(kb->path, sizeof(kb->path), "/proc/self/fd/%d", kb->fd);
	return 0;
}

void kernel_btf__close(struct kernel_btf *kb)
{
	if (kb->fd >= 0)
		close(kb->fd);
	kb->fd = -1;
	kb->path[0] = '\0';
}

/* ---- the kernel's BTF, mapped or read --------------------------------- */

struct raw_btf {
	void *data;
	size_t size;
	bool mapped;
};

static int raw_btf__read(struct raw_btf *r)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, err = 0;

	memset(r, 0, sizeof(*r));
	fd = open(VMLINUX_BTF, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size <= 0) {
		err = -EINVAL;
		goto out;
	}
	r->size = st.st_size;
	r->data = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (r->data != MAP_FAILED) {
		r->mapped = true;
		goto out;
	}
	/* before 6.16 the file cannot be mapped */
	r->data = malloc(r->size);
	if (!r->data) {
		err = -ENOMEM;
		goto out;
	}
	while (got < r->size) {
		n = read(fd, (char *)r->data + got, r->size - got);
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		got += n;
	}
	if (err) {
		free(r->data);
		r->data = NULL;
	}
out:
	close(fd);
	return err;
}

static void raw_btf__free(struct raw_btf *r)
{
	if (r->mapped)
		munmap(r->data, r->size);
	else
		free(r->data);
	r->data = NULL;
}

/* ---- the names the objects use --------------------------------------- */

/*
 * An open-addressing set of names, each a (pointer, length) into the
 * objects' string sections: a local type "task_struct___old" (a CO-RE
 * flavour) is matched by its essential name "task_struct".
 */
struct name_set {
	const char **names;
	size_t *lens;
	size_t cap;		/* a power of two */
};

static __u64 name_hash(const char *s, size_t len)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* Length of name without a "___flavour" suffix (X___Y, X and Y no underscore). */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = n >= 5 ? n - 5 + 1 : 0; i-- > 0;)
		if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' &&
		    name[i + 3] == '_' && name[i + 4] != '_')
			return i + 1;
	return n;
}

/* Slot of (s, len): the slot holding it, or the empty one where it goes. */
static size_t name_set__slot(const struct name_set *set, const char *s, size_t len)
{
	size_t i = name_hash(s, len) & (set->cap - 1);

	while (set->names[i] && !(set->lens[i] == len && !memcmp(set->names[i], s, len)))
		i = (i + 1) & (set->cap - 1);
	return i;
}

static bool name_set__has(const struct name_set *set, const char *s)
{
	return set->cap && set->names[name_set__slot(set, s, strlen(s))];
}

static int name_set__init(struct name_set *set, size_t max_names)
{
	set->cap = 16;
	while (set->cap < 2 * max_names)
		set->cap *= 2;
	set->names = calloc(set->cap, sizeof(*set->names));
	set->lens = calloc(set->cap, sizeof(*set->lens));
	return set->names && set->lens ? 0 : -ENOMEM;
}

static void name_set__free(struct name_set *set)
{
	free(set->names);
	free(set->lens);
}

/* The names of the types a relocation can start from, in every object. */
static int collect_names(struct name_set *set, const struct btf *const *locals, size_t nr)
{
	size_t max = 0, o;
	int err;

	for (o = 0; o < nr; o++)
		max += btf__type_cnt(locals[o]);
	err = name_set__init(set, max);
	if (err)
		return err;
	for (o = 0; o < nr; o++) {
		const struct btf *b = locals[o];
		__u32 n = btf__type_cnt(b);

		for (__u32 id = 1; id < n; id++) {
			const struct btf_type *t = btf__type_by_id(b, id);
			const char *name = btf__name_by_offset(b, t->name_off);
			size_t len, slot;

			if (!name || !*name)
				continue;
			len = essential_len(name);
			slot = name_set__slot(set, name, len);
			set->names[slot] = name;
			set->lens[slot] = len;
		}
	}
	return 0;
}

/* ---- what a relocation can reach -------------------------------------- */

static bool is_root_kind(__u16 kind)
{
	switch (kind) {
	case BTF_KIND_INT:
	case BTF_KIND_FLOAT:
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
		return true;
	default:
		return false;	/* functions, variables, sections, tags */
	}
}

/*
 * Calls fn on every type id t refers to. A pointer's target is visited only
 * when follow_ptr: CO-RE never looks behind a pointer (a pointer matches a
 * pointer), and the pointers out of task_struct alone reach most of the
 * kernel.
 */
static void for_each_ref(struct btf_type *t, bool follow_ptr, void (*fn)(__u32 *id, void *ctx),
			 void *ctx)
{
	__u16 vlen = btf_vlen(t);

	switch (btf_kind(t)) {
	case BTF_KIND_PTR:
		if (follow_ptr)
			fn(&t->type, ctx);
		break;
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_FUNC:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		fn(&t->type, ctx);
		break;
	case BTF_KIND_ARRAY:
		fn(&btf_array(t)->type, ctx);
		fn(&btf_array(t)->index_type, ctx);
		break;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		for (__u16 i = 0; i < vlen; i++)
			fn(&btf_members(t)[i].type, ctx);
		break;
	case BTF_KIND_FUNC_PROTO:
		fn(&t->type, ctx);
		for (__u16 i = 0; i < vlen; i++)
			fn(&btf_params(t)[i].type, ctx);
		break;
	case BTF_KIND_DATASEC:
		for (__u16 i = 0; i < vlen; i++)
			fn(&btf_var_secinfos(t)[i].type, ctx);
		break;
	default:
		break;
	}
}

struct closure {
	__u32 *new_id;		/* old id -> new id, 0: not kept (id 0, void, maps to 0) */
	__u32 *stack;
	__u32 depth;
	__u32 kept;
};

static void keep(__u32 *id, void *ctx)
{
	struct closure *c = ctx;

	if (*id && !c->new_id[*id]) {
		c->new_id[*id] = ++c->kept;	/* renumbered in order below */
		c->stack[c->depth++] = *id;
	}
}

static void remap(__u32 *id, void *ctx)
{
	const struct closure *c = ctx;

	*id = c->new_id[*id];
}

/*
 * The new BTF: the kept types in their old order (new ids follow it),
 * their references renumbered; a pointer to a type not kept points to void.
 */
static struct btf *build_min(const struct btf *kernel, struct closure *c)
{
	__u32 n = btf__type_cnt(kernel), next = 0;
	struct btf *out = btf__new_empty();

	if (!out)
		return NULL;
	for (__u32 id = 1; id < n; id++)
		if (c->new_id[id])
			c->new_id[id] = ++next;
	for (__u32 id = 1; id < n; id++) {
		struct btf_type *t;
		int nid;

		if (!c->new_id[id])
			continue;
		nid = btf__add_type(out, kernel, btf__type_by_id(kernel, id));
		if (nid < 0 || (__u32)nid != c->new_id[id]) {
			btf__free(out);
			errno = nid < 0 ? -nid : EPROTO;
			return NULL;
		}
		/* out's own copy, writable once added */
		t = (struct btf_type *)btf__type_by_id(out, nid);
		for_each_ref(t, true, remap, c);
	}
	return out;
}

static int write_all(int fd, const void *data, size_t size)
{
	size_t done = 0;
	ssize_t n;

	while (done < size) {
		n = write(fd, (const char *)data + done, size - done);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

struct btf *kernel_btf__cut(const struct btf *kernel, const struct btf *const *locals, size_t nr)
{
	struct name_set names = {};
	struct closure c = {};
	__u32 n = btf__type_cnt(kernel);
	struct btf *out = NULL;
	int err;

	err = collect_names(&names, locals, nr);
	c.new_id = calloc(n, sizeof(*c.new_id));
	c.stack = malloc(n * sizeof(*c.stack));
	if (!err && (!c.new_id || !c.stack))
		err = -ENOMEM;
	if (err)
		goto out;
	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(kernel, id);

		if (is_root_kind(btf_kind(t)) && t->name_off &&
		    name_set__has(&names, btf__name_by_offset(kernel, t->name_off)))
			keep(&id, &c);
	}
	while (c.depth)
		for_each_ref((struct btf_type *)btf__type_by_id(kernel, c.stack[--c.depth]),
			     false, keep, &c);
	out = build_min(kernel, &c);
	if (!out)
		err = -errno;
out:
	free(c.new_id);
	free(c.stack);
	name_set__free(&names);
	errno = -err;
	return out;
}

static int write_cut(int fd, const struct btf *kernel, struct bpf_object *const *objs,
		     size_t nr_objs)
{
	const struct btf *locals[8];
	struct btf *out;
	const void *raw;
	__u32 size;
	int err;

	if (nr_objs > sizeof(locals) / sizeof(locals[0]))
		return -E2BIG;
	for (size_t o = 0; o < nr_objs; o++) {
		locals[o] = bpf_object__btf(objs[o]);
		if (!locals[o])
			return -ENOENT;
	}
	out = kernel_btf__cut(kernel, locals, nr_objs);
	if (!out)
		return -errno;
	raw = btf__raw_data(out, &size);
	err = raw ? write_all(fd, raw, size) : -ENOMEM;
	btf__free(out);
	return err;
}

/* ---- ids for the direct loads ---------------------------------------- */

void kernel_btf__find_ids(const struct btf *kernel, struct kernel_btf_ids *ids)
{
	__u32 n = btf__type_cnt(kernel);

	memset(ids, 0, sizeof(*ids));
	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(kernel, id);
		const char *name;

		if (!t->name_off || (!btf_is_struct(t) && !btf_is_func(t)))
			continue;
		name = btf__name_by_offset(kernel, t->name_off);
		if (!name)
			continue;
		if (btf_is_func(t))
			ids->rdonly_cast |= !strcmp(name, "bpf_rdonly_cast");
		else if (!strcmp(name, "file"))
			ids->file = id;
		else if (!strcmp(name, "socket"))
			ids->socket = id;
		else if (!strcmp(name, "unix_sock"))
			ids->unix_sock = id;
	}
}

bool kernel_btf_ids__complete(const struct kernel_btf_ids *ids)
{
	return ids->rdonly_cast && ids->file && ids->socket && ids->unix_sock;
}

int kernel_btf__fill(struct kernel_btf *kb, struct bpf_object *const *objs, size_t nr_objs)
{
	struct raw_btf raw;
	struct btf *kernel;
	int err;

	err = raw_btf__read(&raw);
	if (err)
		goto fail;
	kernel = btf__new(raw.data, raw.size);
	if (!kernel) {
		err = -errno;
		raw_btf__free(&raw);
		goto fail;
	}
	kernel_btf__find_ids(kernel, &kb->ids);
	err = write_cut(kb->fd, kernel, objs, nr_objs);
	if (err && ftruncate(kb->fd, 0) == 0 && lseek(kb->fd, 0, SEEK_SET) == 0)
		err = write_all(kb->fd, raw.data, raw.size);	/* the whole BTF, as it is */
	btf__free(kernel);
	raw_btf__free(&raw);
	if (!err)
		return 0;
fail:
	kernel_btf__close(kb);
	return err;
}
