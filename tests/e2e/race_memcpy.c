// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A race whose top frame is in libc: the parent copies a block into shared
 * memory with memcpy while the child writes its first word with a plain
 * store, no lock. Built without debug information (tests/e2e/run_reports.sh
 * checks that SUMMARY still names this program's code, not libc's memmove).
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 2000
#define BLOCK 256

static volatile size_t block_len = BLOCK;	/* keeps memcpy a call into libc */

static void pause_briefly(void)
{
	struct timespec ts = { .tv_nsec = 200 * 1000 };

	nanosleep(&ts, NULL);
}

static __attribute__((noinline)) void publish_block(char *shared, const char *block)
{
	memcpy(shared, block, block_len);
}

static __attribute__((noinline)) void poke_header(long *shared, long v)
{
	*shared = v;
}

int main(void)
{
	char block[BLOCK];
	char *shared;
	pid_t child;
	int i, status;

	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(block, 0x5a, sizeof(block));
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		for (i = 0; i < ROUNDS; i++) {
			poke_header((long *)shared, i);
			pause_briefly();
		}
		_exit(0);
	}
	for (i = 0; i < ROUNDS; i++) {
		block[0] = (char)i;
		publish_block(shared, block);
		pause_briefly();
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}
