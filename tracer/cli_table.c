// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The command line's tables (cli_table.h): options, commands, help texts. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli_table.h"

/*
 * One entry per option and meaning: --output means the report for check
 * and analyze, the trace for record, so it has two.
 */
const struct cli_option cli_options[] = {
	{ OPT_FORMAT, "format", 'f', "text|json|sarif|perfetto", CLI_CHECK | CLI_ANALYZE, false,
	  "report format (default text). json is schema 1 (the README's \"JSON report\"); sarif is "
	  "SARIF 2.1.0 for code scanning; perfetto is Chrome trace-event JSON (a track per "
	  "thread grouped by process, lock holds and waits as slices, IPC messages as flow "
	  "arrows, findings as markers) for ui.perfetto.dev" },
	{ OPT_OUTPUT, "output", 'o', "FILE", CLI_CHECK | CLI_ANALYZE, false,
	  "write the report to FILE (default: stderr for check, so the program's stdout "
	  "stays clean; stdout for analyze); never through a symlink, opened before the "
	  "target starts" },
	{ OPT_FORMAT, "format", 'f', "text|json", CLI_HANG, false,
	  "report format (default text); json gives the wait-for graph: threads with what "
	  "each waits on and who can end the wait, deadlocks, chains" },
	{ OPT_OUTPUT, "output", 'o', "FILE", CLI_HANG, false,
	  "write the report to FILE (default stdout)" },
	{ OPT_OUTPUT, "output", 'o', "FILE", CLI_RECORD, false,
	  "the trace file to write (default ipcrace.trace, created mode 0600; never through "
	  "a symlink; a device or FIFO is written as it is)" },
	{ OPT_OUTPUT, "output", 'o', "FILE", CLI_ARCHIVE, false,
	  "the archive to write (default TRACE.archive, created mode 0600; never through a "
	  "symlink)" },
	{ OPT_TRACE, "trace", 't', "FILE", CLI_CHECK, false,
	  "keep the recorded trace in FILE (default: an unnamed temporary file, gone "
	  "however ipcrace ends)" },
	{ OPT_PID, "pid", 'p', "PID[,PID...]", CLI_TRACING, true,
	  "attach to running processes instead of starting CMD: each process, all its threads "
	  "and all its descendants, those that exist and those they start later, until they "
	  "exit, --duration runs out or Ctrl-C; detaching leaves them running, untouched" },
	{ OPT_CGROUP, "cgroup", 0, "PATH", CLI_TRACING, true,
	  "attach to every process in a cgroup v2 and the cgroups below it, including "
	  "processes that enter it later (PATH in the cgroup2 mount, or relative to it), "
	  "until --duration runs out or Ctrl-C" },
	{ OPT_UNIT, "unit", 0, "NAME", CLI_TRACING, true,
	  "the same for the cgroup of systemd unit NAME (NAME.service when NAME has no "
	  "suffix)" },
	{ OPT_PID, "pid", 'p', "PID[,PID...]", CLI_HANG, true,
	  "examine these processes, their threads and descendants (and the processes "
	  "their waits lead to)" },
	{ OPT_CGROUP, "cgroup", 0, "PATH", CLI_HANG, true,
	  "examine every process of the cgroup v2 directory PATH and the cgroups below it" },
	{ OPT_UNIT, "unit", 0, "NAME", CLI_HANG, true,
	  "examine every process of the systemd unit NAME (its cgroup)" },
	{ OPT_ALL, "all", 0, NULL, CLI_HANG, true,
	  "examine every process on the host" },
	{ OPT_DURATION, "duration", 'd', "SECONDS", CLI_TRACING, false,
	  "stop recording after SECONDS; the target keeps running" },
	{ OPT_BUFFER_SIZE, "buffer-size", 0, "KIB", CLI_TRACING, false,
	  "ring buffer size in KiB, a power of two (default 32768). Events that do not fit "
	  "are counted, reported in every format (stats.lost_events, a warning line), and "
	  "the analyzer forgets what they could have changed at that point, so a gap never "
	  "becomes a finding" },
	{ OPT_FLIGHT, "flight", 0, "SIZE", CLI_RECORD, false,
	  "flight recorder: keep only the last SIZE of events in memory (bytes, or with K, M "
	  "or G; at least 64K) and write a window of them: to FILE.1, FILE.2... on SIGUSR1 and "
	  "when a traced process dies of SIGSEGV, SIGABRT or SIGBUS, and to FILE at the end "
	  "(see \"Traces and outputs\")" },
	{ OPT_WATCH, "watch", 0, "SPEC", CLI_TRACING, false,
	  "watch a shared word with a debug register for the whole run (repeatable, at "
	  "most 4): PATH+OFFSET:LEN (e.g. /dev/shm/q+0x40:8; LEN 1, 2, 4 or 8, OFFSET a "
	  "multiple of LEN) or a global variable, SYMBOL[+OFFSET] (8 bytes)" },
	{ OPT_LEARN, "learn", 0, "FILE", CLI_TRACING, false,
	  "learn across runs: watch the words FILE names from the start (after --watch, 4 "
	  "in all), and at the end replace FILE (atomically, mode 0600) with the words this "
	  "run found most worth watching, one spec a line. A missing FILE is created; a "
	  "line that is not a spec is an error naming the line (exit 2)" },
	{ OPT_SEED, "seed", 0, "N", CLI_TRACING, false,
	  "seed of the watch rotation (default: from the clock); printed in every report, "
	  "so a run can be repeated" },
	{ OPT_NO_WATCH, "no-watch", 0, NULL, CLI_TRACING, false,
	  "no hardware breakpoints (data races are then found by the access probes alone)" },
	{ OPT_WATCH_RATE, "watch-rate", 0, "N", CLI_TRACING, false,
	  "watch traps a second at most, in all traced processes, the context switches of "
	  "threads with breakpoints armed counted at their measured price in traps (default "
	  "400 with -p, --cgroup, --unit; none with CMD; 0 for no cap): past it the watch "
	  "rotation waits, its slots parked (the watching is sampled; the report says how "
	  "much: stats.watch_sampling)" },
	{ OPT_OVERHEAD, "overhead", 0, "PCT", CLI_TRACING, false,
	  "percent (1 to 100) of the traced processes' CPU time the watching may cost, "
	  "ipcrace's own CPU counted first (traps and context switches of threads with "
	  "breakpoints armed, at prices measured at the start); past it the watch "
	  "rotation waits, as with --watch-rate; attached (-p, --cgroup, --unit), the lock "
	  "probes share it: a process whose lock events cost more has its lock probes off "
	  "for windows (the report says so: stats.lock_sampling) (default none)" },
	{ OPT_ACCESS_PROBES, "access-probes", 0, "on|off", CLI_TRACING, false,
	  "uprobes on every instruction of the traced executables that touches memory off "
	  "the thread's own stack, each recording its first accesses per thread (default on "
	  "with CMD, off with -p; see \"Access probes\")" },
	{ OPT_ACCESS_BUDGET, "access-budget", 0, "N", CLI_TRACING, false,
	  "accesses each probed instruction records per thread (default 64, 1 to 1048576); "
	  "its group is detached once spent" },
	{ OPT_INSTRUMENT, "instrument", 0, "LIB", CLI_TRACING, false,
	  "access probes in library LIB too: its path, or a name such as libfoo matched "
	  "against the mapped libraries (repeatable, at most 16; never libc, libpthread or "
	  "ld.so, whose internals are synchronization)" },
	{ OPT_PROBE_SITE, "probe-site", 0, "auto|entry", CLI_TRACING, false,
	  "where uprobes go in each function: auto (default) moves them to the first "
	  "instruction the kernel emulates when that is safe, entry keeps them on the first "
	  "instruction" },
	{ OPT_BARE_PROBES, "bare-probes", 0, NULL, CLI_TRACING, false,
	  "attach empty BPF programs instead (benchmarking only)" },
	{ OPT_CALL_GRAPH, "call-graph", 0, "dwarf[,BYTES]|fp", CLI_TRACING, false,
	  "how stacks are captured: dwarf (default) copies the registers and BYTES (default "
	  "8192, at most 16384, a multiple of 8) of the user stack at each call site seen "
	  "for the first time, unwound offline with the modules' .eh_frame: stacks through "
	  "code built without frame pointers (distribution libraries, -O2 builds); fp walks "
	  "frame pointers only (smaller traces, stacks stop where frame pointers do)" },
	{ OPT_IPC_STACKS, "ipc-stacks", 0, NULL, CLI_TRACING, false,
	  "give pipe, FIFO, socket and message-queue events (sends, receives, connects) "
	  "their stack too, as locks and file locks have: shown in the perfetto report's "
	  "slices; costs a stack capture per I/O call (see \"Cost\" in the README)" },
	{ OPT_CONFIRM_HOLD, "confirm-hold", 0, "USEC", CLI_TRACING, false,
	  "length of a confirmation hold: a thread at a candidate word, in a process whose "
	  "synchronization ipcrace cannot all see, waits this long while the word is watched "
	  "(default 200, at most 10000; 0: no holds, such races stay candidates; see "
	  "\"Confirmation holds\")" },
	{ OPT_CONFIRM_RATE, "confirm-rate", 0, "N", CLI_TRACING, false,
	  "confirmation holds per second in each thread at most (default 20, 1 to 10000)" },
	{ OPT_DEBUG_DIR, "debug-dir", 0, "DIR", CLI_CHECK | CLI_ANALYZE | CLI_ARCHIVE, false,
	  "look for the traced modules and their debug files in DIR too (repeatable, at "
	  "most 8, searched first), by build-id (DIR/.build-id/xx/rest for binaries, "
	  "rest.debug for debug files) or by the module's file name; /usr/lib/debug and "
	  "debuginfod (when DEBUGINFOD_URLS is set) are searched too" },
	{ OPT_SYSROOT, "sysroot", 0, "DIR", CLI_CHECK | CLI_ANALYZE | CLI_ARCHIVE, false,
	  "DIR holds a copy of the traced machine's files: a module recorded as /usr/lib/x "
	  "is looked for as DIR/usr/lib/x (build-id checked), debug files in "
	  "DIR/usr/lib/debug" },
	{ OPT_ARCHIVE, "archive", 0, "FILE", CLI_CHECK | CLI_ANALYZE, false,
	  "the modules of the trace from FILE, written by ipcrace archive on the machine "
	  "that recorded it (unpacked into a temporary directory, searched as a "
	  "--debug-dir)" },
	{ OPT_EXITCODE, "exitcode", 0, "N", CLI_CHECK, false,
	  "the exit status when there are findings (default 66, 0 to 255); without "
	  "findings check exits with the target's own status" },
	{ OPT_SUPPRESSIONS, "suppressions", 0, "FILE", CLI_CHECK | CLI_ANALYZE, false,
	  "silence the findings FILE's rules match (repeatable, at most 16); TSan's format: "
	  "race:, deadlock:, mutex:, called_from_lib:, ipcrace's kinds such as double_lock:, "
	  "object:PATTERN, * wildcards, # comments (the README's \"Suppressions\"); "
	  "suppressed findings do not "
	  "count for the exit status" },
	{ OPT_PRINT_SUPPRESSIONS, "print-suppressions", 0, NULL, CLI_CHECK | CLI_ANALYZE, false,
	  "print with each report the rule that would silence it" },
	{ OPT_VERBOSE, "verbose", 'v', NULL, CLI_TRACING | CLI_ANALYZE, false,
	  "say what is attached where, the seed, progress; how many stack snapshots were "
	  "taken, and how each module's frames were unwound (dwarf or frame pointers)" },
	{ OPT_VERBOSE, "verbose", 'v', NULL, CLI_HANG, false,
	  "say how many threads and processes were examined" },
	{ OPT_MARKDOWN, "markdown", 0, NULL, CLI_HELP, true,
	  "print every option as a Markdown table (the README's table is this output)" },
	{ OPT_HELP, "help", 'h', NULL, CLI_ALL, true,
	  "print the command's usage and options" },
	{ OPT_VERSION, "version", 'V', NULL, CLI_ALL, true,
	  "print the version" },
};

const size_t cli_nr_options = sizeof(cli_options) / sizeof(cli_options[0]);

const struct cli_command_desc cli_commands[] = {
	{ CLI_CHECK, "check", "[OPTIONS] (-p PID[,PID...] | [--] CMD [ARGS...])",
	  "run CMD traced (or attach to PID), analyze, report; exit 66 on findings, "
	  "otherwise the target's own status" },
	{ CLI_RECORD, "record", "[OPTIONS] (-p PID[,PID...] | [--] CMD [ARGS...])",
	  "run CMD traced (or attach to PID), write a trace (default ipcrace.trace)" },
	{ CLI_ANALYZE, "analyze", "[OPTIONS] FILE",
	  "analyze a recorded trace (post-mortem, any machine); FILE - reads it from stdin" },
	{ CLI_DUMP, "dump", "[OPTIONS] FILE",
	  "list the events of a trace (an strace of sync and IPC); FILE - reads stdin" },
	{ CLI_ARCHIVE, "archive", "[OPTIONS] TRACE",
	  "pack the modules TRACE needs (binaries and debug files, by build-id) into "
	  "one file, for analyze --archive on another machine" },
	{ CLI_HANG, "hang", "[OPTIONS] (-p PID[,PID...] | --cgroup PATH | --unit NAME | --all)",
	  "who waits on whom right now, across processes: deadlocks and wait chains with "
	  "stacks, read without stopping anything; exit 66 on a deadlock" },
	{ CLI_HELP, "help", "[--markdown] [COMMAND]",
	  "this text, or a command's options (also ipcrace COMMAND --help)" },
};

const size_t cli_nr_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);

const char cli_environment_text[] =
"environment:\n"
"  IPCRACE_OPTIONS         key=value words of long option names, applied before\n"
"                          the command line (which wins; repeatable options add\n"
"                          up), e.g. \"exitcode=3 verbose=1\"; options that do not\n"
"                          apply to the command are ignored; values cannot hold\n"
"                          spaces; flags take 1 or 0\n"
"  IPCRACE_LIBBPF_DEBUG=1  print libbpf's messages (the verifier log when a BPF\n"
"                          program is rejected)\n"
"  IPCRACE_NO_UPROBE_MULTI=1  attach perf-event uprobes instead of uprobe_multi\n"
"                          links (slower to attach and detach)\n"
"  IPCRACE_NO_PRIVATE_DIFF=1  do not read the private memory (globals, heap) of\n"
"                          multi-threaded processes for words to watch: races\n"
"                          between threads of one process are then found only\n"
"                          on --watch words\n"
"  IPCRACE_NO_GUESS=1      do not watch the first words of a new shared mapping\n"
"                          or globals of a new executable before they are seen\n"
"                          changing (no stop at mmap, exec or fork for them):\n"
"                          races in programs shorter than a tick (25 ms) are\n"
"                          then missed\n"
"  IPCRACE_DEBUG_DIR=DIR   look debug files up by build-id in DIR, not\n"
"                          /usr/lib/debug\n"
"  NO_COLOR                no colour in text reports\n";

const char cli_exit_status_text[] =
"exit status:\n"
"  66 (or --exitcode N)    findings\n"
"  the target's status     check without findings: its exit code, or 128 + the\n"
"                          signal that killed it (0 when attached with -p, or\n"
"                          when the recording stopped before it exited)\n"
"  66                      hang: a deadlock\n"
"  0                       record, analyze, dump, help: done, no findings; hang:\n"
"                          no deadlock\n"
"  1                       ipcrace could not trace or read (one line says why),\n"
"                          or the trace is INCOMPLETE and nothing was found\n"
"  2                       usage error\n";

const char cli_ordering_text[] =
"Options may come anywhere. For check and record the first operand starts CMD\n"
"(what follows is CMD's own), and -- ends ipcrace's options explicitly.\n";

const struct cli_command_desc *cli_table__command(enum cli_command command)
{
	for (size_t i = 0; i < cli_nr_commands; i++)
		if (cli_commands[i].command == command)
			return &cli_commands[i];
	return NULL;
}

int cli__command(const char *name, enum cli_command *out)
{
	for (size_t i = 0; i < cli_nr_commands; i++) {
		if (!strcmp(name, cli_commands[i].name)) {
			*out = cli_commands[i].command;
			return 0;
		}
	}
	return -ENOENT;
}

void cli_table__command_names(unsigned int mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cli_nr_commands && used < len; i++)
		if (mask & cli_commands[i].command)
			used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
					 cli_commands[i].name);
}

