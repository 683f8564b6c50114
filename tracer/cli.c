// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The command line from one table of option descriptors (cli.h). The
 * parser is ours rather than getopt's: options are looked up in the table
 * of every subcommand, so an option of another subcommand is refused by
 * name, every message is ipcrace's own, and the same table reads
 * IPCRACE_OPTIONS.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "watch_spec.h"

#define CLI_TRACING (CLI_CHECK | CLI_RECORD)
#define CLI_ALL (CLI_CHECK | CLI_RECORD | CLI_ANALYZE | CLI_DUMP | CLI_HELP | CLI_ARCHIVE | \
		 CLI_HANG)
#define HELP_WIDTH 80
#define HELP_INDENT 26			/* column of the help text in --help */

enum cli_option_id {
	OPT_FORMAT, OPT_OUTPUT, OPT_TRACE, OPT_PID, OPT_DURATION, OPT_BUFFER_SIZE,
	OPT_WATCH, OPT_LEARN, OPT_SEED, OPT_NO_WATCH, OPT_PROBE_SITE, OPT_BARE_PROBES,
	OPT_ACCESS_PROBES, OPT_ACCESS_BUDGET, OPT_INSTRUMENT,
	OPT_EXITCODE, OPT_SUPPRESSIONS, OPT_PRINT_SUPPRESSIONS, OPT_VERBOSE, OPT_MARKDOWN, OPT_HELP, OPT_VERSION,
	OPT_CALL_GRAPH, OPT_DEBUG_DIR, OPT_SYSROOT, OPT_ARCHIVE,
	OPT_CGROUP, OPT_UNIT, OPT_ALL, OPT_FLIGHT, OPT_IPC_STACKS,
	OPT_CONFIRM_HOLD, OPT_CONFIRM_RATE,
};

struct cli_option {
	enum cli_option_id id;
	const char *name;		/* --name */
	char short_name;		/* -c, 0: none */
	const char *arg;		/* the argument in help, NULL: a flag */
	unsigned int commands;		/* enum cli_command bits it applies to */
	bool command_line_only;		/* not from IPCRACE_OPTIONS */
	const char *help;		/* sentences, wrapped when printed */
};

/*
 * One entry per option and meaning: --output means the report for check
 * and analyze, the trace for record, so it has two.
 */
static const struct cli_option options[] = {
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

#define NR_OPTIONS (sizeof(options) / sizeof(options[0]))

static const struct cli_command_desc {
	enum cli_command command;
	const char *name;
	const char *usage;		/* after "ipcrace NAME " */
	const char *summary;
} commands[] = {
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

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *environment_text =
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

static const char *exit_status_text =
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

static const char *ordering_text =
"Options may come anywhere. For check and record the first operand starts CMD\n"
"(what follows is CMD's own), and -- ends ipcrace's options explicitly.\n";

static const struct cli_command_desc *command_desc(enum cli_command command)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (commands[i].command == command)
			return &commands[i];
	return NULL;
}

int cli__command(const char *name, enum cli_command *out)
{
	for (size_t i = 0; i < NR_COMMANDS; i++) {
		if (!strcmp(name, commands[i].name)) {
			*out = commands[i].command;
			return 0;
		}
	}
	return -ENOENT;
}

/* "check, record": the commands in mask. */
static void command_names(unsigned int mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NR_COMMANDS && used < len; i++)
		if (mask & commands[i].command)
			used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
					 commands[i].name);
}

int cli__usage_error(enum cli_command command, const char *fmt, ...)
{
	const struct cli_command_desc *d = command_desc(command);
	va_list ap;

	fputs("ipcrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (d)
		fprintf(stderr, "\nhint: ipcrace %s --help lists its options\n", d->name);
	else
		fputs("\nhint: ipcrace help lists the commands\n", stderr);
	return CLI_EXIT_USAGE;
}

/* -p PID[,PID...] */
static int parse_pids(const char *arg, struct cli *cli)
{
	const char *p = arg;
	char *end;
	long pid;

	while (*p) {
		pid = strtol(p, &end, 10);
		if (end == p || pid <= 0 || pid > 0x3fffffff || cli->nr_pids == SESSION_MAX_PIDS)
			return -EINVAL;
		cli->pids[cli->nr_pids++] = pid;
		if (*end == ',')
			end++;
		else if (*end)
			return -EINVAL;
		p = end;
	}
	return cli->nr_pids ? 0 : -EINVAL;
}

/*
 * Applies one option. from names where it came from for messages ("--seed"
 * or "IPCRACE_OPTIONS seed"). 0 or CLI_EXIT_USAGE (printed).
 */
/* "fp" or "dwarf[,BYTES]": the snapshot size, 0 for frame pointers. */
static int parse_call_graph(const char *arg, __u32 *bytes)
{
	unsigned long n;
	char *end;

	if (!strcmp(arg, "fp")) {
		*bytes = 0;
		return 0;
	}
	if (strncmp(arg, "dwarf", 5) || (arg[5] && arg[5] != ','))
		return -EINVAL;
	*bytes = CLI_USTACK_DEFAULT;
	if (!arg[5])
		return 0;
	errno = 0;
	n = strtoul(arg + 6, &end, 10);
	if (errno || *end || end == arg + 6 || !n || n % 8 || n > IPCRACE_USTACK_MAX)
		return -EINVAL;
	*bytes = n;
	return 0;
}

static int apply(struct cli *cli, const struct cli_option *o, const char *arg, const char *from)
{
	enum cli_command c = cli->command;
	char *end;

	switch (o->id) {
	case OPT_FORMAT:
		if (c == CLI_HANG && strcmp(arg, "text") && strcmp(arg, "json"))
			return cli__usage_error(c, "%s: unknown format '%s' (text or json)", from,
						arg);
		if (report_format__parse(arg, &cli->format))
			return cli__usage_error(c, "%s: unknown format '%s' (text, json, sarif or "
						"perfetto)", from, arg);
		return 0;
	case OPT_CGROUP:
		if (!*arg)
			return cli__usage_error(c, "%s needs a cgroup directory", from);
		cli->cgroup = arg;
		return 0;
	case OPT_UNIT:
		if (!*arg)
			return cli__usage_error(c, "%s needs a unit name", from);
		cli->unit = arg;
		return 0;
	case OPT_ALL:
		cli->all = true;
		return 0;
	case OPT_OUTPUT:
		if (!*arg)
			return cli__usage_error(c, "%s needs a file name", from);
		cli->output = arg;
		return 0;
	case OPT_TRACE:
		if (!*arg)
			return cli__usage_error(c, "%s needs a file name", from);
		cli->trace = arg;
		return 0;
	case OPT_PID:
		if (parse_pids(arg, cli))
			return cli__usage_error(c, "%s: bad pid list '%s' (PID[,PID...], at most %d)",
						from, arg, SESSION_MAX_PIDS);
		return 0;
	case OPT_DURATION:
		errno = 0;
		cli->duration = strtod(arg, &end);
		if (errno || end == arg || *end || !(cli->duration > 0))
			return cli__usage_error(c, "%s: bad duration '%s' (seconds > 0)", from, arg);
		return 0;
	case OPT_BUFFER_SIZE: {
		unsigned long kib;

		errno = 0;
		kib = strtoul(arg, &end, 10);
		/* a power of two number of pages, as BPF ring buffers need */
		if (errno || end == arg || *end || kib < 4 || kib > 1024 * 1024 ||
		    (kib & (kib - 1)))
			return cli__usage_error(c, "%s: bad buffer size '%s' (KiB: a power of two, "
						"4 to 1048576)", from, arg);
		cli->buffer_bytes = kib * 1024;
		return 0;
	}
	case OPT_FLIGHT: {
		unsigned long long size;

		errno = 0;
		size = strtoull(arg, &end, 10);
		if (*end == 'K' || *end == 'k')
			size <<= 10, end++;
		else if (*end == 'M' || *end == 'm')
			size <<= 20, end++;
		else if (*end == 'G' || *end == 'g')
			size <<= 30, end++;
		if (errno || end == arg || *end || size < (64u << 10) || size > (64ull << 30))
			return cli__usage_error(c, "%s: bad size '%s' (64K to 64G: bytes, or "
						"with K, M or G)", from, arg);
		cli->flight_bytes = size;
		return 0;
	}
	case OPT_WATCH:
		if (!watch_spec__valid(arg))
			return cli__usage_error(c, "%s: bad spec '%s' (PATH+OFFSET:LEN with LEN 1, "
						"2, 4 or 8 and OFFSET a multiple of LEN, or a global "
						"variable, SYMBOL[+OFFSET])", from, arg);
		if (cli->watch.nr_specs == WATCH_SPECS_MAX)
			return cli__usage_error(c, "%s '%s': at most %d watches (one debug "
						"register each)", from, arg, WATCH_SPECS_MAX);
		cli->watch.specs[cli->watch.nr_specs++] = arg;
		return 0;
	case OPT_LEARN:
		if (!*arg)
			return cli__usage_error(c, "%s needs a file name", from);
		cli->learn = arg;
		return 0;
	case OPT_SEED:
		errno = 0;
		cli->watch.seed = strtoull(arg, &end, 0);
		if (errno || *end || !*arg || *arg == '-')
			return cli__usage_error(c, "%s: bad seed '%s' (an unsigned integer)", from,
						arg);
		cli->watch.seed_set = true;
		return 0;
	case OPT_NO_WATCH:
		cli->watch.disabled = true;
		return 0;
	case OPT_IPC_STACKS:
		cli->ipc_stacks = true;
		return 0;
	case OPT_CONFIRM_HOLD:
	case OPT_CONFIRM_RATE: {
		unsigned long n, lo = o->id == OPT_CONFIRM_HOLD ? 0 : 1;
		unsigned long hi = o->id == OPT_CONFIRM_HOLD ? CONFIRM_HOLD_US_MAX : CONFIRM_RATE_MAX;

		errno = 0;
		n = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || *arg == '-' || n < lo || n > hi)
			return cli__usage_error(c, "%s: bad value '%s' (%lu to %lu)", from, arg, lo, hi);
		if (o->id == OPT_CONFIRM_RATE)
			cli->confirm.rate = n;
		else if (n)
			cli->confirm.hold_us = n;
		else
			cli->confirm.off = true;
		return 0;
	}
	case OPT_ACCESS_PROBES:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return cli__usage_error(c, "%s: bad value '%s' (on or off)", from, arg);
		cli->access_probes = !strcmp(arg, "on") ? 1 : 2;
		return 0;
	case OPT_ACCESS_BUDGET: {
		unsigned long n;

		errno = 0;
		n = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || *arg == '-' || n < 1 || n > 1u << 20)
			return cli__usage_error(c, "%s: bad budget '%s' (1 to 1048576)", from, arg);
		cli->access.budget = n;
		return 0;
	}
	case OPT_INSTRUMENT:
		if (!*arg)
			return cli__usage_error(c, "%s needs a library", from);
		if (cli->access.nr_instrument == ACCESS_INSTRUMENT_MAX)
			return cli__usage_error(c, "%s '%s': at most %d libraries", from, arg,
						ACCESS_INSTRUMENT_MAX);
		cli->access.instrument[cli->access.nr_instrument++] = arg;
		return 0;
	case OPT_PROBE_SITE:
		if (!strcmp(arg, "auto"))
			cli->site = PROBE_SITE_AUTO;
		else if (!strcmp(arg, "entry"))
			cli->site = PROBE_SITE_ENTRY;
		else
			return cli__usage_error(c, "%s: bad probe site '%s' (auto or entry)", from,
						arg);
		return 0;
	case OPT_BARE_PROBES:
		cli->bare_probes = true;
		return 0;
	case OPT_EXITCODE: {
		long code;

		errno = 0;
		code = strtol(arg, &end, 10);
		if (errno || end == arg || *end || code < 0 || code > 255)
			return cli__usage_error(c, "%s: bad exit code '%s' (0 to 255)", from, arg);
		cli->exitcode = code;
		return 0;
	}
	case OPT_SUPPRESSIONS:
		if (!*arg)
			return cli__usage_error(c, "%s needs a file name", from);
		if (cli->nr_suppression_files == CLI_MAX_SUPPRESSIONS)
			return cli__usage_error(c, "%s '%s': at most %d suppressions files", from,
						arg, CLI_MAX_SUPPRESSIONS);
		cli->suppression_files[cli->nr_suppression_files++] = arg;
		return 0;
	case OPT_PRINT_SUPPRESSIONS:
		cli->print_suppressions = true;
		return 0;
	case OPT_CALL_GRAPH:
		if (parse_call_graph(arg, &cli->ustack_bytes))
			return cli__usage_error(c, "%s: bad call graph '%s' (dwarf, dwarf,BYTES with "
						"BYTES a multiple of 8 up to %u, or fp)", from, arg,
						IPCRACE_USTACK_MAX);
		return 0;
	case OPT_DEBUG_DIR:
		if (!*arg)
			return cli__usage_error(c, "%s needs a directory", from);
		if (cli->nr_debug_dirs == DEBUGINFO_DIRS_MAX)
			return cli__usage_error(c, "%s '%s': at most %d debug directories", from,
						arg, DEBUGINFO_DIRS_MAX);
		cli->debug_dirs[cli->nr_debug_dirs++] = arg;
		return 0;
	case OPT_SYSROOT:
		if (!*arg)
			return cli__usage_error(c, "%s needs a directory", from);
		cli->sysroot = arg;
		return 0;
	case OPT_ARCHIVE:
		if (!*arg)
			return cli__usage_error(c, "%s needs a file name", from);
		cli->archive = arg;
		return 0;
	case OPT_VERBOSE:
		cli->verbose = true;
		return 0;
	case OPT_MARKDOWN:
		cli->markdown = true;
		return 0;
	case OPT_HELP:
		cli->help = true;
		return 0;
	case OPT_VERSION:
		cli->version = true;
		return 0;
	}
	return cli__usage_error(c, "%s: not handled", from);
}

/*
 * The descriptor of --name (or -short_name when name is NULL) for the
 * current command. NULL after printing why: unknown, or an option of
 * other commands only.
 */
static const struct cli_option *lookup(const struct cli *cli, const char *name, size_t name_len,
				       char short_name, const char *from)
{
	unsigned int elsewhere = 0;
	char names[64];

	for (size_t i = 0; i < NR_OPTIONS; i++) {
		const struct cli_option *o = &options[i];
		bool match = name ? strlen(o->name) == name_len && !strncmp(o->name, name, name_len)
				  : o->short_name && o->short_name == short_name;

		if (!match)
			continue;
		if (o->commands & cli->command)
			return o;
		elsewhere |= o->commands;
	}
	if (elsewhere) {
		command_names(elsewhere, names, sizeof(names));
		cli__usage_error(cli->command, "%s does not apply to %s (an option of %s)", from,
				 command_desc(cli->command)->name, names);
	} else {
		cli__usage_error(cli->command, "unknown option '%s'", from);
	}
	return NULL;
}

/* A flag's value in IPCRACE_OPTIONS: 1, 0, true, false, yes, no. */
static int parse_flag(const char *value, bool *on)
{
	if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes"))
		*on = true;
	else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no"))
		*on = false;
	else
		return -EINVAL;
	return 0;
}

/*
 * IPCRACE_OPTIONS: whitespace-separated key=value words, keys the long
 * option names ('_' may stand for '-'). Unknown keys are usage errors
 * naming the variable; options of other commands are skipped (one
 * variable serves a whole CI job).
 */
static int parse_env(struct cli *cli, const char *env)
{
	char from[96], *word, *value, *save = NULL;

	if (!env || !*env)
		return 0;
	cli->env_copy = strdup(env);
	if (!cli->env_copy) {
		fprintf(stderr, "ipcrace: %s: out of memory\n", CLI_ENV);
		return CLI_EXIT_USAGE;
	}
	for (word = strtok_r(cli->env_copy, " \t\n", &save); word;
	     word = strtok_r(NULL, " \t\n", &save)) {
		const struct cli_option *o = NULL;
		unsigned int commands = 0;
		bool on;
		int ret;

		value = strchr(word, '=');
		if (!value || value == word)
			return cli__usage_error(cli->command, "%s: '%s' is not key=value (e.g. "
						"%s=\"exitcode=3 verbose=1\")", CLI_ENV, word,
						CLI_ENV);
		*value++ = '\0';
		for (char *p = word; *p; p++)
			if (*p == '_')
				*p = '-';
		snprintf(from, sizeof(from), "%s %s", CLI_ENV, word);
		for (size_t i = 0; i < NR_OPTIONS; i++) {
			if (strcmp(options[i].name, word))
				continue;
			if (options[i].command_line_only)
				return cli__usage_error(cli->command, "%s: --%s is for the command "
							"line only", CLI_ENV, word);
			commands |= options[i].commands;
			if (options[i].commands & cli->command)
				o = &options[i];
		}
		if (!commands)
			return cli__usage_error(cli->command, "%s: unknown option '%s'", CLI_ENV,
						word);
		if (!o)
			continue;
		if (!o->arg) {
			if (parse_flag(value, &on))
				return cli__usage_error(cli->command, "%s: '%s' for a flag (1 or 0)",
							from, value);
			if (!on)
				continue;
		}
		ret = apply(cli, o, value, from);
		if (ret)
			return ret;
	}
	return 0;
}

/* A long option at args[*i] ("--name" or "--name=value"). */
static int parse_long(struct cli *cli, int nr, char **args, int *i)
{
	const char *text = args[*i] + 2, *eq = strchr(text, '=');
	size_t len = eq ? (size_t)(eq - text) : strlen(text);
	const struct cli_option *o;
	char from[80];

	snprintf(from, sizeof(from), "--%.*s", (int)(len < 60 ? len : 60), text);
	o = lookup(cli, text, len, 0, from);
	if (!o)
		return CLI_EXIT_USAGE;
	if (!o->arg) {
		if (eq)
			return cli__usage_error(cli->command, "%s takes no argument", from);
		return apply(cli, o, NULL, from);
	}
	if (eq)
		return apply(cli, o, eq + 1, from);
	if (*i + 1 >= nr)
		return cli__usage_error(cli->command, "%s needs an argument (%s)", from, o->arg);
	return apply(cli, o, args[++*i], from);
}

/* Short options at args[*i]: "-v", "-fjson", "-f json", "-vf json". */
static int parse_short(struct cli *cli, int nr, char **args, int *i)
{
	const char *p = args[*i] + 1;
	char from[4];
	int ret;

	for (; *p; p++) {
		const struct cli_option *o;

		snprintf(from, sizeof(from), "-%c", *p);
		o = lookup(cli, NULL, 0, *p, from);
		if (!o)
			return CLI_EXIT_USAGE;
		if (!o->arg) {
			ret = apply(cli, o, NULL, from);
			if (ret || cli->help || cli->version)
				return ret;
			continue;
		}
		if (p[1])
			return apply(cli, o, p + 1, from);
		if (*i + 1 >= nr)
			return cli__usage_error(cli->command, "%s needs an argument (%s)", from,
						o->arg);
		return apply(cli, o, args[++*i], from);
	}
	return 0;
}

/* What each command needs besides its options. */
static int check_operands(const struct cli *cli)
{
	const char *name = command_desc(cli->command)->name;

	switch (cli->command) {
	case CLI_CHECK:
	case CLI_RECORD:
		if ((cli->nr_pids != 0) + (cli->cgroup != NULL) + (cli->unit != NULL) > 1)
			return cli__usage_error(cli->command, "-p, --cgroup and --unit exclude "
						"each other");
		if (!cli->nr_operands && !cli__attaching(cli))
			return cli__usage_error(cli->command, "%s needs a command to run (-- CMD "
						"[ARGS]) or -p PID (--cgroup PATH, --unit NAME)", name);
		if (cli->nr_operands && cli__attaching(cli))
			return cli__usage_error(cli->command, "%s runs a command or attaches with "
						"-p, --cgroup or --unit, not both ('%s' after it)",
						name, cli->operands[0]);
		return 0;
	case CLI_ANALYZE:
	case CLI_DUMP:
	case CLI_ARCHIVE:
		if (cli->nr_operands == 0)
			return cli__usage_error(cli->command, "%s needs a trace file (- reads "
						"stdin)", name);
		if (cli->nr_operands > 1)
			return cli__usage_error(cli->command, "%s takes one trace file, not '%s' "
						"and '%s'", name, cli->operands[0],
						cli->operands[1]);
		return 0;
	case CLI_HELP:
		if (cli->nr_operands > 1)
			return cli__usage_error(cli->command, "help takes one command name");
		return 0;
	case CLI_HANG: {
		int sources = !!cli->nr_pids + !!cli->cgroup + !!cli->unit + cli->all;

		if (cli->nr_operands)
			return cli__usage_error(cli->command, "hang takes no operand ('%s'): name "
						"processes with -p", cli->operands[0]);
		if (sources != 1)
			return cli__usage_error(cli->command, sources ? "name one of -p, --cgroup, "
						"--unit, --all" : "what to examine: -p PID, "
						"--cgroup PATH, --unit NAME or --all");
		return 0;
	}
	}
	return 0;
}

int cli__parse(struct cli *cli, enum cli_command command, const char *env, int nr,
	       char **args)
{
	bool tracing = command & CLI_TRACING;
	int ret, i;

	memset(cli, 0, sizeof(*cli));
	cli->command = command;
	cli->format = REPORT_TEXT;
	cli->site = PROBE_SITE_AUTO;
	cli->exitcode = CLI_EXITCODE_DEFAULT;
	cli->ustack_bytes = CLI_USTACK_DEFAULT;
	ret = parse_env(cli, env);
	if (ret)
		return ret;
	/*
	 * Operands are gathered in place at the front of args[i..]: args is
	 * argv's tail, which we may reorder as getopt does.
	 */
	cli->operands = args;
	for (i = 0; i < nr; i++) {
		char *a = args[i];

		if (!strcmp(a, "--")) {
			for (i++; i < nr; i++)
				cli->operands[cli->nr_operands++] = args[i];
			break;
		}
		if (a[0] != '-' || !a[1]) {	/* an operand ("-" is stdin) */
			if (tracing) {
				for (; i < nr; i++)
					cli->operands[cli->nr_operands++] = args[i];
				break;
			}
			cli->operands[cli->nr_operands++] = a;
			continue;
		}
		ret = a[1] == '-' ? parse_long(cli, nr, args, &i) : parse_short(cli, nr, args, &i);
		if (ret)
			return ret;
		if (cli->help || cli->version)
			return 0;
	}
	cli->operands[cli->nr_operands] = NULL;	/* args[nr] is argv's NULL */
	return check_operands(cli);
}

void cli__free(struct cli *cli)
{
	if (!cli)
		return;
	free(cli->env_copy);
	cli->env_copy = NULL;
}

/* Prints text wrapped to HELP_WIDTH, its lines after the first at indent. */
static void print_wrapped(FILE *out, const char *text, int column, int indent)
{
	const char *p = text;

	while (*p) {
		const char *end = p, *space = NULL;
		int room = HELP_WIDTH - column;

		while (*end && end - p < room) {
			if (*end == ' ')
				space = end;
			end++;
		}
		if (*end && space)
			end = space;
		fprintf(out, "%.*s\n", (int)(end - p), p);
		p = end;
		while (*p == ' ')
			p++;
		if (*p)
			fprintf(out, "%*s", indent, "");
		column = indent;
	}
}

/* "-f, --format FORMAT" or "    --no-watch" into buf. */
static void option_synopsis(const struct cli_option *o, char *buf, size_t len)
{
	if (o->short_name)
		snprintf(buf, len, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	else
		snprintf(buf, len, "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

void cli__print_help(FILE *out, enum cli_command command)
{
	const struct cli_command_desc *d = command_desc(command);
	char synopsis[96];

	fprintf(out, "usage: ipcrace %s %s\n\n", d->name, d->usage);
	print_wrapped(out, d->summary, 0, 0);
	if (command & CLI_TRACING)
		fprintf(out, "\n%s", ordering_text);
	fputs("\noptions:\n", out);
	for (size_t i = 0; i < NR_OPTIONS; i++) {
		const struct cli_option *o = &options[i];
		int n;

		if (!(o->commands & command))
			continue;
		option_synopsis(o, synopsis, sizeof(synopsis));
		n = fprintf(out, "  %s", synopsis);
		if (n >= HELP_INDENT - 1) {
			fputc('\n', out);
			n = 0;
		}
		fprintf(out, "%*s", HELP_INDENT - n, "");
		print_wrapped(out, o->help, HELP_INDENT, HELP_INDENT);
	}
	fprintf(out, "\n%s", exit_status_text);
}

void cli__print_usage(FILE *out)
{
	fputs("usage: ipcrace COMMAND [OPTIONS] [OPERANDS]\n\n"
	      "Finds data races and lock-order inversions between processes and threads.\n\n"
	      "commands:\n", out);
	for (size_t i = 0; i < NR_COMMANDS; i++) {
		fprintf(out, "  %s %s\n", commands[i].name, commands[i].usage);
		fprintf(out, "%*s", HELP_INDENT, "");
		print_wrapped(out, commands[i].summary, HELP_INDENT, HELP_INDENT);
	}
	fprintf(out, "\nipcrace COMMAND --help (or ipcrace help COMMAND) lists its options.\n%s\n",
		ordering_text);
	fputs(environment_text, out);
	fprintf(out, "\n%s", exit_status_text);
}

/* text with '|' escaped for a Markdown table cell. */
static void print_cell(FILE *out, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '|')
			fputc('\\', out);
		fputc(*p, out);
	}
}

void cli__print_markdown(FILE *out)
{
	char names[64];

	fputs("| option | commands | meaning |\n|---|---|---|\n", out);
	for (size_t i = 0; i < NR_OPTIONS; i++) {
		const struct cli_option *o = &options[i];

		fputs("| `", out);
		if (o->short_name)
			fprintf(out, "-%c, ", o->short_name);
		fprintf(out, "--%s", o->name);
		if (o->arg) {
			fputc(' ', out);
			print_cell(out, o->arg);
		}
		command_names(o->commands, names, sizeof(names));
		fprintf(out, "` | %s | ", o->commands == CLI_ALL ? "all" : names);
		print_cell(out, o->help);
		/* help, version, markdown are obviously not for a CI variable */
		fprintf(out, "%s |\n", o->command_line_only && (o->commands & CLI_TRACING) ?
			" (command line only, not in " CLI_ENV ")" : "");
	}
}
