// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Opening, loading and attaching the tracer's two BPF objects
 * (bpf_objects.h). libbpf loads one object's programs one after the
 * other; the kernel verifies each on the calling thread. Two objects on
 * two threads halve that wait on a machine with two free CPUs (and cost
 * nothing more on one).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ipcrace.skel.h"
#include "ipcrace_sys.skel.h"
#include "bpf_objects.h"
#include "kernel_btf.h"

/* The program libbpf last failed to load, from its log, for the message. */
static pthread_mutex_t failed_lock = PTHREAD_MUTEX_INITIALIZER;
static char failed_prog[64];

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (strstr(fmt, "prog '%s': failed to load")) {
		va_list copy;

		va_copy(copy, ap);
		pthread_mutex_lock(&failed_lock);
		snprintf(failed_prog, sizeof(failed_prog), "%s", va_arg(copy, const char *));
		pthread_mutex_unlock(&failed_lock);
		va_end(copy);
	}
	if (getenv("IPCRACE_LIBBPF_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* Names the program the kernel refused, with libbpf's reason. */
static void report_load_error(int err)
{
	char msg[128];

	libbpf_strerror(err, msg, sizeof(msg));
	/* the direct-load variant, on a kernel it was not tried on (not retried: the main object failed) */
	if (!strcmp(failed_prog, "sys_enter"))
		fprintf(stderr, "ipcrace: load: BPF program sys_enter rejected by the kernel: %s "
			"(IPCRACE_NO_DIRECT_LOADS=1 loads its variant with probe reads; "
			"IPCRACE_LIBBPF_DEBUG=1 shows the verifier log)\n", msg);
	else if (failed_prog[0])
		fprintf(stderr, "ipcrace: load: BPF program %s rejected by the kernel: %s "
			"(IPCRACE_LIBBPF_DEBUG=1 shows the verifier log)\n", failed_prog, msg);
	else
		fprintf(stderr, "ipcrace: load: %s\n", msg);
}

/* Pending bytes that wake the consumer: an eighth of the ring, at most 1 MiB. */
static __u32 ring_wakeup_bytes(__u64 ring_bytes)
{
	__u64 eighth = ring_bytes / 8;

	return eighth < (1u << 20) ? eighth : 1u << 20;
}

int bpf_objects__open(struct bpf_objects *o, const struct bpf_objects_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	int err;

	memset(o, 0, sizeof(*o));
	libbpf_set_print(libbpf_quiet);
	if (kernel_btf__open(&o->btf) == 0)
		oo.btf_custom_path = o->btf.path;
	o->skel = ipcrace_bpf__open_opts(&oo);
	if (o->skel)
		o->sys = ipcrace_sys_bpf__open_opts(&oo);
	if (!o->skel || !o->sys) {
		err = -errno;
		fprintf(stderr, "ipcrace: load: cannot open the BPF object: %s\n", strerror(errno));
		kernel_btf__close(&o->btf);
		bpf_objects__destroy(o);
		return err;
	}
	if (oo.btf_custom_path) {
		struct bpf_object *objs[] = { o->skel->obj, o->sys->obj };

		err = kernel_btf__fill(&o->btf, objs, 2);
		if (err) {
			fprintf(stderr, "ipcrace: load: cannot read the kernel's BTF "
				"(/sys/kernel/btf/vmlinux): %s\n", strerror(-err));
			bpf_objects__destroy(o);
			return err;
		}
	}
	/*
	 * sys_enter names channels with direct loads where the kernel allows
	 * (bpf/chan_direct.bpf.h), sys_enter_probe with probe reads; one of
	 * the two is loaded. IPCRACE_NO_DIRECT_LOADS=1 takes the second.
	 */
	o->direct_loads = oo.btf_custom_path && kernel_btf_ids__complete(&o->btf.ids) &&
			  !getenv("IPCRACE_NO_DIRECT_LOADS");
	if (o->direct_loads) {
		o->sys->rodata->kbtf_file = o->btf.ids.file;
		o->sys->rodata->kbtf_socket = o->btf.ids.socket;
		o->sys->rodata->kbtf_unix_sock = o->btf.ids.unix_sock;
	}
	bpf_program__set_autoload(o->direct_loads ? o->sys->progs.sys_enter_probe :
				  o->sys->progs.sys_enter, false);
	bpf_map__set_max_entries(o->skel->maps.events, opts->ring_bytes);
	o->skel->rodata->wakeup_bytes = ring_wakeup_bytes(opts->ring_bytes);
	o->sys->rodata->wakeup_bytes = ring_wakeup_bytes(opts->ring_bytes);
	o->skel->rodata->ustack_size = opts->ustack_bytes;
	o->skel->rodata->trace_cgroup_id = opts->cgroup_id;
	o->skel->rodata->self_tgid = opts->self_tgid;
	o->sys->rodata->ustack_size = opts->ustack_bytes;
	o->sys->rodata->ipc_stacks = opts->ipc_stacks;
	/*
	 * Unix-socket calls whose peer is untraced are counted, not recorded
	 * (bpf/chan_identity.bpf.h); IPCRACE_RECORD_UNTRACED_PEERS=1 records
	 * them, for a run whose socket ends may have moved into the traced
	 * set in ways the peer's credentials do not show (README, Limits).
	 */
	o->sys->rodata->unix_peer_skip = !getenv("IPCRACE_RECORD_UNTRACED_PEERS");
	return 0;
}

/*
 * Every map of the syscall object that the other one has too (by name)
 * is created here, once, from the main object's definition, and given to
 * both: libbpf then uses it instead of creating its own.
 */
static int share_maps(struct bpf_objects *o)
{
	struct bpf_object *main_obj = o->skel->obj;
	struct bpf_map *m, *twin;
	int fd, err;

	bpf_object__for_each_map(m, o->sys->obj) {
		const char *name = bpf_map__name(m);

		if (bpf_map__is_internal(m))
			continue;	/* .rodata: each object's own */
		/* task local storage (per-thread caches): each object's own;
		 * creating one needs the object's BTF, not loaded yet */
		if (bpf_map__type(m) == BPF_MAP_TYPE_TASK_STORAGE)
			continue;
		twin = bpf_object__find_map_by_name(main_obj, name);
		if (!twin)
			continue;	/* the syscall object's own map */
		LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = bpf_map__map_flags(twin),
			    .numa_node = bpf_map__numa_node(twin),
			    .map_extra = bpf_map__map_extra(twin));
		fd = bpf_map_create(bpf_map__type(twin), name, bpf_map__key_size(twin),
				    bpf_map__value_size(twin), bpf_map__max_entries(twin), &mo);
		if (fd < 0) {
			err = -errno;
			fprintf(stderr, "ipcrace: load: cannot create BPF map %s: %s\n", name,
				strerror(errno));
			return err;
		}
		err = bpf_map__reuse_fd(twin, fd);
		if (!err)
			err = bpf_map__reuse_fd(m, fd);
		close(fd);	/* both hold their own copy */
		if (err) {
			fprintf(stderr, "ipcrace: load: cannot share BPF map %s: %s\n", name,
				strerror(-err));
			return err;
		}
	}
	return 0;
}

static void *load_sys(void *arg)
{
	struct bpf_objects *o = arg;

	return (void *)(long)ipcrace_sys_bpf__load(o->sys);
}

/*
 * The syscall object again, with sys_enter_probe instead of sys_enter, for
 * a kernel whose verifier refused the direct loads (sys_enter was tried on
 * few kernels): the refused object's read-only data, the main object's
 * maps (loaded by now) where it shares them. 0, or -errno with o->sys as
 * it was.
 */
static int reload_sys_with_probe_reads(struct bpf_objects *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct ipcrace_sys_bpf *sys;
	struct bpf_map *m, *twin;
	int err = 0;

	if (o->btf.fd >= 0)
		oo.btf_custom_path = o->btf.path;
	sys = ipcrace_sys_bpf__open_opts(&oo);
	if (!sys)
		return -errno;
	*sys->rodata = *o->sys->rodata;
	bpf_program__set_autoload(sys->progs.sys_enter, false);
	bpf_object__for_each_map(m, sys->obj) {
		if (bpf_map__is_internal(m) || bpf_map__type(m) == BPF_MAP_TYPE_TASK_STORAGE)
			continue;
		twin = bpf_object__find_map_by_name(o->skel->obj, bpf_map__name(m));
		if (twin)
			err = bpf_map__reuse_fd(m, bpf_map__fd(twin));
		if (err)
			break;
	}
	if (!err)
		err = ipcrace_sys_bpf__load(sys);
	if (err) {
		ipcrace_sys_bpf__destroy(sys);
		return err;
	}
	ipcrace_sys_bpf__destroy(o->sys);
	o->sys = sys;
	o->direct_loads = false;
	return 0;
}

int bpf_objects__load(struct bpf_objects *o)
{
	pthread_t t;
	void *sys_ret = NULL;
	bool threaded;
	int err, sys_err;

	err = share_maps(o);
	if (err)
		goto out;
	/* one object beside, one here; on a failed thread start, in turn */
	threaded = pthread_create(&t, NULL, load_sys, o) == 0;
	err = ipcrace_bpf__load(o->skel);
	if (threaded)
		pthread_join(t, &sys_ret);
	else
		sys_ret = load_sys(o);
	sys_err = (int)(long)sys_ret;
	if (!err && sys_err && o->direct_loads && !strcmp(failed_prog, "sys_enter")) {
		failed_prog[0] = '\0';
		sys_err = reload_sys_with_probe_reads(o);
		if (!sys_err)
			fprintf(stderr, "ipcrace: load: the kernel refused sys_enter's direct loads: "
				"its variant with probe reads is loaded\n");
	}
	if (!err)
		err = sys_err;
	if (err)
		report_load_error(err);
out:
	kernel_btf__close(&o->btf);
	return err;
}

int bpf_objects__attach(struct bpf_objects *o)
{
	char msg[128];
	int err;

	err = ipcrace_bpf__attach(o->skel);
	if (!err)
		err = ipcrace_sys_bpf__attach(o->sys);
	if (err) {
		libbpf_strerror(err, msg, sizeof(msg));
		fprintf(stderr, "ipcrace: attach: raw tracepoints: %s\n", msg);
	}
	return err;
}

void bpf_objects__destroy(struct bpf_objects *o)
{
	/* opened (a zeroed o was not: its btf.fd 0 is not ours) and not loaded */
	if (o->skel)
		kernel_btf__close(&o->btf);
	/* the syscall programs first: they feed the ring the other object owns */
	ipcrace_sys_bpf__destroy(o->sys);
	ipcrace_bpf__destroy(o->skel);
	o->sys = NULL;
	o->skel = NULL;
}
