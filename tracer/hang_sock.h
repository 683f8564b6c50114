/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The other end of a socket, for `ipcrace hang`: Unix sockets through
 * sock_diag (UNIX_DIAG_PEER), TCP through /proc/net/tcp and tcp6 (the
 * socket whose local and remote endpoints are ours swapped). Read once per
 * run, on first use.
 */
#ifndef IPCRACE_HANG_SOCK_H
#define IPCRACE_HANG_SOCK_H

#include <stdbool.h>
#include <linux/types.h>

struct hang_socks;

struct hang_socks *hang_socks__new(void);
void hang_socks__free(struct hang_socks *s);

enum hang_peer {
	PEER_UNKNOWN = 0,	/* not a socket we can follow (UDP, netlink, unconnected) */
	PEER_LOCAL,		/* *peer_ino: the inode of the other end, on this host */
	PEER_REMOTE,		/* connected to another host: nobody here can end the wait */
};

/* The peer of the socket with inode ino; describes the socket in desc. */
enum hang_peer hang_socks__peer(struct hang_socks *s, __u64 ino, __u64 *peer_ino, char *desc,
				size_t len);

#endif /* IPCRACE_HANG_SOCK_H */
