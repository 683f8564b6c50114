// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writes the seed corpus of fuzz_trace: small traces through the real trace
 * writer, each with every record kind the reader decodes (events of every
 * type, a frame-pointer stack, a stack snapshot, mappings, processes, a
 * footer), so that the fuzzer starts past the magic, the header and the
 * record CRCs instead of having to find them: in version 3 (events in
 * blocks) and version 2 (one record an event), both still read.
 * Usage: fuzz_seed DIR   (writes DIR/seed-N.trace)
 */
#include <stdio.h>
#include <string.h>

#include "analyzer/trace.h"
#include "analyzer/trace_format.h"
#include "tracer/trace_writer.h"

static void seed_event(struct ipcrace_event *e, unsigned i)
{
	memset(e, 0, sizeof(*e));
	e->hdr.kind = IPCRACE_REC_EVENT;
	e->hdr.size = sizeof(*e);
	e->ts = 1000 + i;
	e->stack_id = i % 2 ? 0x1001 : 0x2002;
	e->addr = 0x7f0000001000ull + (i % 3) * 64;
	e->key.space = i % 2 ? KEY_FILE : KEY_PRIVATE;
	e->key.a = i % 2 ? 0x803 : 100;
	e->key.b = i % 2 ? 4242 : e->addr;
	e->pid = 100 + i % 2;
	e->tid = 200 + i % 3;
	e->type = 1 + i % (EV_TYPE_MAX - 1);
	e->obj = i % OBJ_KIND_MAX;
	snprintf(e->comm, sizeof(e->comm), "seed-%u", i % 4);
}

static int seed_write(const char *path, unsigned nr_events, __u32 version)
{
	struct trace_header h = { .start_mono_ns = 1, .start_realtime_ns = 1700000000000000000ull };
	struct trace_footer f = { .end_mono_ns = 1000000, .events = nr_events };
	static struct ipcrace_ustack u;
	struct ipcrace_stack s = { .hdr = { .kind = IPCRACE_REC_STACK, .size = sizeof(s) } };
	struct trace_mapping m = { .start = 0x400000, .end = 0x401000, .pid = 100, .prot = 5 };
	struct trace_process p = { .pid = 100, .ppid = 1 };
	struct ipcrace_event e;
	struct trace_writer *w;
	int err = 0;

	strcpy(h.host, "seed");
	strcpy(h.cmdline, "fuzz_seed");
	w = trace_writer__open_path_version(path, &h, version);
	if (!w) {
		fprintf(stderr, "fuzz_seed: cannot write %s: %m\n", path);
		return -1;
	}
	s.id = 0x1001;
	s.nr = 3;
	for (unsigned i = 0; i < s.nr; i++)
		s.ips[i] = 0x400100 + i * 0x10;
	err = err ?: trace_writer__add_stack(w, &s);
	memset(&u, 0, sizeof(u));
	u.hdr.kind = IPCRACE_REC_USTACK;
	u.id = 0x2002;
	u.regs[UREG_SP] = 0x7ffc00000000ull;
	u.regs[UREG_IP] = 0x400123;
	u.first_frame = 0x400200;
	u.size = 64;
	u.hdr.size = IPCRACE_USTACK_HDR_LEN + u.size;
	for (unsigned i = 0; i < u.size; i++)
		u.data[i] = (__u8)i;
	err = err ?: trace_writer__add_ustack(w, &u);
	strcpy(m.path, "/usr/bin/seed");
	err = err ?: trace_writer__add_mapping(w, &m);
	strcpy(p.comm, "seed");
	strcpy(p.exe, "/usr/bin/seed");
	err = err ?: trace_writer__add_process(w, &p);
	for (unsigned i = 0; i < nr_events && !err; i++) {
		seed_event(&e, i);
		err = trace_writer__add_event(w, &e);
	}
	if (trace_writer__close(w, &f) && !err)
		err = -1;
	if (err)
		fprintf(stderr, "fuzz_seed: cannot write %s\n", path);
	return err;
}

int main(int argc, char **argv)
{
	const unsigned sizes[] = { 1, 12, 40 };
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seed DIR\n");
		return 2;
	}
	for (unsigned i = 0; i < 2 * sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned k = i % (sizeof(sizes) / sizeof(sizes[0]));

		snprintf(path, sizeof(path), "%s/seed-%u.trace", argv[1], i);
		if (seed_write(path, sizes[k], i == k ? TRACE_VERSION : TRACE_VERSION_V2))
			return 1;
	}
	return 0;
}
