// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "../analyzer/array.h"
#include "hang_sock.h"

#define TCP_ESTABLISHED 1

struct unix_peer {
	__u64 ino;
	__u64 peer;
};

struct tcp_sock {
	char local[40];		/* hex address:port as /proc/net/tcp writes it */
	char remote[40];
	__u64 ino;
	int state;
};

struct hang_socks {
	bool read;
	struct unix_peer *unix_peers;
	size_t nr_unix, cap_unix;
	struct tcp_sock *tcp;
	size_t nr_tcp, cap_tcp;
};

struct hang_socks *hang_socks__new(void)
{
	return calloc(1, sizeof(struct hang_socks));
}

void hang_socks__free(struct hang_socks *s)
{
	if (!s)
		return;
	free(s->unix_peers);
	free(s->tcp);
	free(s);
}

static void add_unix(struct hang_socks *s, const struct unix_diag_msg *m, size_t len)
{
	const struct rtattr *a = (const struct rtattr *)(m + 1);
	size_t left = len - NLMSG_ALIGN(sizeof(*m));

	for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type != UNIX_DIAG_PEER || RTA_PAYLOAD(a) < sizeof(__u32))
			continue;
		if (array__reserve(&s->unix_peers, &s->cap_unix, s->nr_unix + 1,
				   sizeof(*s->unix_peers)))
			return;
		s->unix_peers[s->nr_unix++] = (struct unix_peer){
			.ino = m->udiag_ino, .peer = *(const __u32 *)RTA_DATA(a),
		};
	}
}

/* Every Unix socket of this network namespace with its peer's inode. */
static void read_unix(struct hang_socks *s)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_show = UDIAG_SHOW_PEER },
	};
	static char buf[1 << 16];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	bool done = false;

	if (fd < 0)
		return;
	if (send(fd, &msg, sizeof(msg), 0) != sizeof(msg))
		goto out;
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n <= 0)
			break;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
				add_unix(s, NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN);
		}
	}
out:
	close(fd);
}

static void read_tcp_file(struct hang_socks *s, const char *path)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	if (!fgets(line, sizeof(line), f))	/* the header */
		goto out;
	while (fgets(line, sizeof(line), f)) {
		struct tcp_sock t = {};
		unsigned long long ino;

		if (sscanf(line, "%*d: %39s %39s %x %*s %*s %*s %*s %*s %llu", t.local, t.remote,
			   (unsigned int *)&t.state, &ino) != 4)
			continue;
		t.ino = ino;
		if (array__reserve(&s->tcp, &s->cap_tcp, s->nr_tcp + 1, sizeof(*s->tcp)))
			break;
		s->tcp[s->nr_tcp++] = t;
	}
out:
	fclose(f);
}

/* "0100007F:1F90" -> "127.0.0.1:8080"; IPv6 endpoints stay in hex. */
static const char *endpoint(const char *hex, char *out, size_t len)
{
	unsigned int a, port;

	if (strlen(hex) == 13 && sscanf(hex, "%8x:%4x", &a, &port) == 2)
		snprintf(out, len, "%u.%u.%u.%u:%u", a & 0xff, a >> 8 & 0xff, a >> 16 & 0xff,
			 a >> 24, port);
	else
		snprintf(out, len, "%s", hex);
	return out;
}

static void read_all(struct hang_socks *s)
{
	if (s->read)
		return;
	s->read = true;
	read_unix(s);
	read_tcp_file(s, "/proc/net/tcp");
	read_tcp_file(s, "/proc/net/tcp6");
}

enum hang_peer hang_socks__peer(struct hang_socks *s, __u64 ino, __u64 *peer_ino, char *desc,
				size_t len)
{
	read_all(s);
	for (size_t i = 0; i < s->nr_unix; i++)
		if (s->unix_peers[i].ino == ino) {
			snprintf(desc, len, "unix socket inode %llu (peer inode %llu)",
				 (unsigned long long)ino, (unsigned long long)s->unix_peers[i].peer);
			*peer_ino = s->unix_peers[i].peer;
			return *peer_ino ? PEER_LOCAL : PEER_UNKNOWN;
		}
	for (size_t i = 0; i < s->nr_tcp; i++) {
		const struct tcp_sock *t = &s->tcp[i];

		if (t->ino != ino)
			continue;
		char local[64], remote[64];

		snprintf(desc, len, "TCP socket inode %llu (%s -> %s)", (unsigned long long)ino,
			 endpoint(t->local, local, sizeof(local)),
			 endpoint(t->remote, remote, sizeof(remote)));
		if (t->state != TCP_ESTABLISHED)
			return PEER_UNKNOWN;
		for (size_t j = 0; j < s->nr_tcp; j++)
			if (!strcmp(s->tcp[j].local, t->remote) && !strcmp(s->tcp[j].remote, t->local)) {
				*peer_ino = s->tcp[j].ino;
				return PEER_LOCAL;
			}
		return PEER_REMOTE;
	}
	snprintf(desc, len, "socket inode %llu", (unsigned long long)ino);
	return PEER_UNKNOWN;
}
