// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tracer/procfs.h"

static bool has(const int *pids, size_t nr, int pid)
{
	for (size_t i = 0; i < nr; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

static void test_descendants_include_children_and_grandchildren(void **state)
{
	int fds[2], child, grandchild, *pids, root = getpid();
	size_t nr;
	char c;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		int g = fork();

		if (!g) {
			pause();
			_exit(0);
		}
		if (write(fds[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(fds[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
	assert_int_equal(procfs__descendants(&root, 1, &pids, &nr), 0);
	assert_int_equal(pids[0], root);
	assert_true(has(pids, nr, child));
	assert_true(has(pids, nr, grandchild));
	free(pids);
	/* a subtree root leaves its parent out */
	assert_int_equal(procfs__descendants(&child, 1, &pids, &nr), 0);
	assert_false(has(pids, nr, root));
	assert_true(has(pids, nr, grandchild));
	free(pids);
	kill(grandchild, SIGKILL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	(void)c;
	close(fds[0]);
	close(fds[1]);
}

static void test_missing_root_is_left_out(void **state)
{
	int gone = 0x3ffffff0, *pids;
	size_t nr;

	(void)state;
	assert_int_equal(procfs__descendants(&gone, 1, &pids, &nr), 0);
	assert_int_equal(nr, 0);
	free(pids);
}

static void test_status_field_and_threads_of_self(void **state)
{
	long tgid;
	int *tids;
	size_t nr;

	(void)state;
	assert_int_equal(procfs__status_field(getpid(), "Tgid", &tgid), 0);
	assert_int_equal(tgid, getpid());
	assert_int_equal(procfs__status_field(getpid(), "NoSuchField", &tgid), -ENOENT);
	assert_int_equal(procfs__ppid(getpid()), getppid());
	assert_int_equal(procfs__threads(getpid(), &tids, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(tids[0], getpid());
	free(tids);
}

static void test_fd_target_and_flags_of_a_pipe(void **state)
{
	char buf[64];
	unsigned int flags;
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_true(procfs__fd_target(getpid(), fds[0], buf, sizeof(buf)) > 0);
	assert_memory_equal(buf, "pipe:[", 6);
	assert_int_equal(procfs__fd_flags(getpid(), fds[1], &flags), 0);
	assert_int_equal(flags & 3, 1);	/* O_WRONLY */
	close(fds[0]);
	close(fds[1]);
}

static void test_parse_syscall_lines(void **state)
{
	unsigned long long arg0;
	long nr;

	(void)state;
	/* the kernel's three shapes: in a syscall, off the CPU outside one, running */
	assert_int_equal(procfs__parse_syscall("0 0x7 0x7ffd1c2e9f57 0x1 0x0 0x0 0x0 "
					       "0x7ffd1c2e9f28 0x7f3b5a6e51dd\n", &nr, &arg0), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(arg0, 7);
	assert_int_equal(procfs__parse_syscall("202 0x55d0c0ffee80 0x80 0x2 0x0 0x0 0x0 0x1 0x2\n",
					       &nr, &arg0), 0);
	assert_int_equal(nr, 202);
	assert_int_equal(arg0, 0x55d0c0ffee80ULL);
	assert_int_equal(procfs__parse_syscall("-1 0x7ffd1c2e9f28 0x401000\n", &nr, &arg0), 0);
	assert_int_equal(nr, -1);
	assert_int_equal(procfs__parse_syscall("running\n", &nr, &arg0), -EAGAIN);
	assert_int_equal(procfs__parse_syscall("", &nr, &arg0), -EINVAL);
	assert_int_equal(procfs__parse_syscall("0x3 0x1\n", &nr, &arg0), -EINVAL);
	assert_int_equal(procfs__parse_syscall("0 7\n", &nr, &arg0), -EINVAL);
	assert_int_equal(procfs__parse_syscall("0\n", &nr, &arg0), -EINVAL);
}

/* A child blocked reading a pipe is seen in read(2) on that descriptor. */
static void test_syscall_of_a_child_blocked_in_read(void **state)
{
	const struct timespec pause = { .tv_nsec = 1000000 };
	unsigned long long arg0 = 0;
	long nr = -2;
	int fds[2], status, i;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		_exit(read(fds[0], &c, 1) == 1 ? 0 : 1);
	}
	close(fds[0]);
	for (i = 0; i < 10000; i++) {
		if (!procfs__syscall(pid, &nr, &arg0) && nr == SYS_read)
			break;
		nanosleep(&pause, NULL);
	}
	assert_int_equal(nr, SYS_read);
	assert_int_equal(arg0, (unsigned long long)fds[0]);
	assert_int_equal(write(fds[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fds[1]);
	assert_true(procfs__syscall(pid, &nr, &arg0) < 0);	/* reaped: gone */
}

static void test_parse_stat_state(void **state)
{
	(void)state;
	assert_int_equal(procfs__parse_stat_state("1234 (sleep) S 1 1234 1234 0 -1"), 'S');
	/* a comm with spaces and a parenthesis: the last ')' ends it */
	assert_int_equal(procfs__parse_stat_state("77 (a) Z (b)) Z 1 77 77"), 'Z');
	assert_int_equal(procfs__parse_stat_state("77 (x) R"), 'R');
	assert_int_equal(procfs__parse_stat_state("77 (x)"), 0);
	assert_int_equal(procfs__parse_stat_state("garbage"), 0);
}

/* Running: not exited; a zombie (not reaped): exited; reaped: exited. */
static void test_process_exited_zombie_and_reaped(void **state)
{
	const struct timespec pause = { .tv_nsec = 1000000 };
	int fds[2], status, i;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		_exit(read(fds[0], &c, 1) == 1 ? 0 : 1);
	}
	close(fds[0]);
	assert_false(procfs__process_exited(pid));
	assert_int_equal(write(fds[1], "g", 1), 1);
	close(fds[1]);
	for (i = 0; i < 10000 && !procfs__process_exited(pid); i++)
		nanosleep(&pause, NULL);
	assert_true(procfs__process_exited(pid));
	assert_int_equal(waitpid(pid, &status, WNOHANG), pid);	/* it was a zombie */
	assert_true(procfs__process_exited(pid));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descendants_include_children_and_grandchildren),
		cmocka_unit_test(test_missing_root_is_left_out),
		cmocka_unit_test(test_status_field_and_threads_of_self),
		cmocka_unit_test(test_fd_target_and_flags_of_a_pipe),
		cmocka_unit_test(test_parse_syscall_lines),
		cmocka_unit_test(test_syscall_of_a_child_blocked_in_read),
		cmocka_unit_test(test_parse_stat_state),
		cmocka_unit_test(test_process_exited_zombie_and_reaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
