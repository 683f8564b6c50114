// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hang.skel.h"
#include "../analyzer/array.h"
#include "hang_scan.h"

_Static_assert(sizeof(struct hang_task) == 19 * 8 + 2 * 8 + 2 * HANG_URET_MAX * 8 + 24 + 16,
	       "hang_task layout changed");

static int by_tid(const void *a, const void *b)
{
	const struct hang_task *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void print_libbpf_error(const char *what, int err)
{
	char msg[128];

	libbpf_strerror(err, msg, sizeof(msg));
	fprintf(stderr, "hang: %s: %s\n", what, msg);
}

/* Reads whole records from the iterator until it ends. */
static int read_records(int fd, struct hang_task **out, size_t *nr_out)
{
	struct hang_task *items = NULL;
	size_t nr = 0, cap = 0, have = 0;
	ssize_t n;

	for (;;) {
		if (array__reserve(&items, &cap, nr + 64, sizeof(*items))) {
			free(items);
			return -ENOMEM;
		}
		n = read(fd, (char *)&items[nr] + have, (cap - nr) * sizeof(*items) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			free(items);
			return n;
		}
		if (n == 0)
			break;
		have += n;
		nr += have / sizeof(*items);
		have %= sizeof(*items);
	}
	qsort(items, nr, sizeof(*items), by_tid);
	*out = items;
	*nr_out = nr;
	return 0;
}

int hang_scan__threads(const __u32 *tgids, size_t nr, bool all, struct hang_task **out,
		       size_t *nr_out)
{
	struct bpf_link *link = NULL;
	struct hang_bpf *skel;
	__u8 one = 1;
	int err, fd = -1;

	skel = hang_bpf__open();
	if (!skel) {
		err = -errno;
		print_libbpf_error("cannot open the task iterator", err);
		return err;
	}
	skel->rodata->hang_all = all;
	err = hang_bpf__load(skel);
	if (err) {
		print_libbpf_error("cannot load the task iterator", err);
		goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.hang_tgids), &tgids[i], &one, 0);
		if (err) {
			err = -errno;
			fprintf(stderr, "hang: cannot name process %u to the iterator: %s\n",
				tgids[i], strerror(-err));
			goto out;
		}
	}
	link = bpf_program__attach_iter(skel->progs.hang_dump_task, NULL);
	if (!link) {
		err = -errno;
		print_libbpf_error("cannot attach the task iterator", err);
		goto out;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		print_libbpf_error("cannot start the task iterator", err);
		goto out;
	}
	err = read_records(fd, out, nr_out);
	if (err)
		fprintf(stderr, "hang: reading the task iterator: %s\n", strerror(-err));
out:
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	hang_bpf__destroy(skel);
	return err;
}
