/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Readers of /proc: the one place that parses it (status fields,
 * processes, threads, descendants, fd targets). Every function tolerates a
 * process that exits while it is read: it is simply not there.
 */
#ifndef IPCRACE_PROCFS_H
#define IPCRACE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads a whole small file, NUL-terminated. Bytes read, or a negative errno. */
ssize_t procfs__read(const char *path, char *buf, size_t len);

/* A numeric field of /proc/PID/status ("PPid", "Tgid"): 0 and *out, or -errno. */
int procfs__status_field(int pid, const char *field, long *out);

/* The parent of pid (0 when unknown or gone). */
int procfs__ppid(int pid);

/* Calls fn for every process (tgid) on the host; stops when fn returns non-zero. */
int procfs__for_each_process(int (*fn)(int pid, void *ctx), void *ctx);

/* The threads of pid, malloc'ed. 0, -ESRCH (gone) or -ENOMEM. */
int procfs__threads(int pid, int **tids, size_t *nr);

/*
 * roots and every process descending from one of them (a parent chain
 * through /proc), roots first, no duplicates, malloc'ed. Roots that do not
 * exist are left out. 0 or -ENOMEM.
 */
int procfs__descendants(const int *roots, size_t nr_roots, int **out, size_t *nr_out);

/* The target of /proc/PID/fd/FD ("pipe:[123]", "/dev/shm/x"). Length or -errno. */
ssize_t procfs__fd_target(int pid, int fd, char *buf, size_t len);

/* The "flags:" field of /proc/PID/fdinfo/FD (octal open flags): 0 and *flags, or -errno. */
int procfs__fd_flags(int pid, int fd, unsigned int *flags);

/*
 * /proc/PID/syscall: the syscall a thread is blocked in and its first
 * argument. parse takes the file's text: 0 with *nr (-1: blocked, but not
 * in a syscall) and *arg0; -EAGAIN for "running" (the kernel reads it
 * only of a thread that is off the CPU); -EINVAL for anything else.
 * procfs__syscall reads it: the same, or -errno (gone, not permitted).
 */
int procfs__parse_syscall(const char *text, long *nr, unsigned long long *arg0);
int procfs__syscall(int pid, long *nr, unsigned long long *arg0);

/*
 * The state letter of a /proc/.../stat line (after the comm, which may
 * hold spaces and parentheses): 'R', 'S', 'Z', ...; 0 when malformed.
 */
char procfs__parse_stat_state(const char *stat);

/*
 * True when pid has no thread left that has not exited: gone (reaped), or
 * every thread a zombie or dead (each past the kernel's exit tracepoint).
 * A process whose leader exited but whose other threads run is not.
 */
bool procfs__process_exited(int pid);

#endif /* IPCRACE_PROCFS_H */
