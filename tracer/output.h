/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Output files (record -o, check -t/-o, analyze -o, --learn FILE), opened
 * so that a path cannot be turned against the user running ipcrace:
 *
 *   - a symbolic link at the path is refused, never followed;
 *   - an existing file that is not a regular file (/dev/null, a FIFO, a
 *     terminal) is written as it is: opened, never created, replaced,
 *     truncated or chmod'ed;
 *   - otherwise a new file is created in the path's directory (O_TMPFILE,
 *     or a hidden unique name where the filesystem has none) and renamed
 *     over the path: an existing regular file is replaced, its own mode,
 *     owner and other hard links untouched. OUTPUT_NOW puts it in place at
 *     once; output__place() when asked (a trace, once its recording
 *     started: it must be there if ipcrace is killed, and a run that never
 *     started leaves the previous file alone); otherwise it appears at
 *     output__commit() (a report or --learn file is whole or absent, never
 *     half written) and a killed ipcrace leaves nothing.
 *
 * Everything that can fail (a missing or unwritable directory, a symlink,
 * a directory at the path) fails at output__open(), so the CLI opens every
 * output before it starts the target.
 */
#ifndef IPCRACE_OUTPUT_H
#define IPCRACE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#define OUTPUT_PRIVATE	(1u << 0)	/* created mode 0600 (else 0666 & ~umask) */
#define OUTPUT_NOW	(1u << 1)	/* in place at open, not at commit */

struct output {
	int fd;				/* -1 when closed */
	bool stream;			/* an existing non-regular file, written as is */
	bool readable;			/* fd is open for reading too (created files) */
	bool placed;			/* the file is at path already */
	bool unnamed;			/* fd is an O_TMPFILE */
	char *path;			/* as given, for messages */
	char *tmp;			/* a named temporary file, or NULL */
};

/*
 * Opens path for writing as above. 0, or a negative errno with a one-line
 * reason in err ("-o x: is a symbolic link, not followed").
 */
int output__open(struct output *o, const char *path, unsigned flags, char *err, size_t errlen);
/*
 * An unnamed 0600 file in $TMPDIR (or /tmp) that nothing can reach and the
 * kernel frees when ipcrace's descriptors close, however it ends (check's
 * temporary trace). Open for reading and writing.
 */
int output__open_temp(struct output *o, char *err, size_t errlen);
/* Puts the file in place now, when not already (o->fd stays open). 0 or a negative errno. */
int output__place(struct output *o);
/*
 * Puts the file in place (when not already) and closes o->fd. 0 or a
 * negative errno (then nothing was put in place). Write through o->fd or
 * a dup of it (fdopen(dup(o->fd)), fclose'd before the commit).
 */
int output__commit(struct output *o);
/* Closes without putting in place; removes a named temporary. Accepts a closed o. */
void output__discard(struct output *o);
/*
 * Free bytes on the output's filesystem (for the size bound of temporary
 * traces), or 0 when unknown.
 */
unsigned long long output__free_bytes(const struct output *o);

#endif /* IPCRACE_OUTPUT_H */
