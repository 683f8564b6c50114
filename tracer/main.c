// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ipcrace: one binary, subcommands in a table (bpftool's model). Exit codes
 * are the contract of DESIGN.md: 66 (--exitcode) findings; check without
 * findings: the target's own status (128 + signal); 1 could not trace or
 * read, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "../analyzer/analyze.h"
#include "../reports/dump.h"
#include "../reports/report.h"
#include "../reports/suppress.h"
#include "session.h"

#define EXIT_FINDINGS 66
#define EXIT_FAILURE_TOOL 1
#define EXIT_USAGE 2
#define DEFAULT_TRACE "ipcrace.trace"	/* record without -o */
#define CLI_MAX_SUPPRESSIONS 16		/* --suppressions files */

static const char *usage_text =
"usage: ipcrace COMMAND [OPTIONS]\n"
"\n"
"Finds data races and lock-order inversions between processes and threads.\n"
"\n"
"commands:\n"
"  check [OPTIONS] (-p PID | -- CMD [ARGS])\n"
"                                  run CMD traced (or attach to PID), analyze,\n"
"                                  report (exit 66 on findings, otherwise the\n"
"                                  target's own status)\n"
"  record [-o FILE] [OPTIONS] (-p PID | -- CMD [ARGS])\n"
"                                  run CMD traced (or attach), write a trace file\n"
"  analyze FILE [--format F] [--output FILE]\n"
"                                  analyze a recorded trace\n"
"  dump FILE                       list the events of a trace\n"
"  help                            this text\n"
"\n"
"options:\n"
"  -f, --format text|json|sarif|perfetto\n"
"                          report format (default text)\n"
"  -o, --output FILE       check/analyze: write the report to FILE\n"
"                          (default: stderr for check, stdout for analyze);\n"
"                          record: the trace file to write (default\n"
"                          ipcrace.trace)\n"
"  -t, --trace FILE        check: also keep the trace in FILE\n"
"  -p, --pid PID[,PID...]  attach to running processes (and the children they\n"
"                          start) until they exit, --duration or Ctrl-C; detaching\n"
"                          leaves them running and untouched\n"
"  -d, --duration SECONDS  stop recording after SECONDS (the target keeps running)\n"
"      --buffer-size KIB   ring buffer size in KiB, a power of two (default 32768);\n"
"                          events that do not fit are counted and reported lost\n"
"      --probe-site auto|entry\n"
"                          where uprobes go in each function: auto (default)\n"
"                          moves them to the first instruction the kernel\n"
"                          emulates when that is safe, entry keeps them on the\n"
"                          first instruction\n"
"      --bare-probes       attach empty BPF programs (measures probe cost only)\n"
"      --watch SPEC        check/record: watch a shared word with a debug\n"
"                          register for the whole run (repeatable, at most 4):\n"
"                          PATH+OFFSET:LEN (e.g. /dev/shm/q+0x40:8, LEN 1, 2,\n"
"                          4 or 8) or a global variable, SYMBOL[+OFFSET]\n"
"      --learn FILE        check/record: watch the words FILE names (after\n"
"                          --watch, 4 in all) from the start, and at the end\n"
"                          write to FILE the words this run found most worth\n"
"                          watching (shared words of named objects, then\n"
"                          globals of threaded programs); a missing FILE is\n"
"                          created, so repeated runs catch what one cannot\n"
"      --seed N            seed of the watch rotation (default: the clock;\n"
"                          stored in the trace, shown with -v)\n"
"      --no-watch          no hardware breakpoints (no data races found)\n"
"      --exitcode N        check: exit status when there are findings (default 66)\n"
"      --suppressions FILE check/analyze: silence the findings FILE's rules match\n"
"                          (repeatable; TSan's format: race:, deadlock:,\n"
"                          mutex:, called_from_lib:, ipcrace's kinds such as\n"
"                          double_lock:, object:PATTERN; see the README)\n"
"      --print-suppressions\n"
"                          check/analyze: print with each report the rule\n"
"                          that would silence it\n"
"  -v, --verbose           say what is attached and where\n"
"  -V, --version           print the version\n"
"\n"
"environment:\n"
"  IPCRACE_LIBBPF_DEBUG=1  print libbpf's messages (the verifier log when a BPF\n"
"                          program is rejected)\n"
"  IPCRACE_NO_UPROBE_MULTI=1  attach perf-event uprobes instead of uprobe_multi\n"
"                          links (slower to attach and detach)\n"
"  NO_COLOR                no colour in text reports\n"
"  IPCRACE_NO_PRIVATE_DIFF=1  do not read the private memory (globals, heap) of\n"
"                          multi-threaded processes for words to watch: races\n"
"                          between threads of one process are then found only\n"
"                          on --watch words\n"
"  IPCRACE_NO_GUESS=1      do not watch the first words of a new shared mapping\n"
"                          or globals of a new executable before they are seen\n"
"                          changing (no stop at mmap, exec or fork for them):\n"
"                          races in programs shorter than a tick (25 ms) are\n"
"                          then missed\n"
"\n"
"exit status: 66 (--exitcode N) findings; check without findings: the\n"
"target's own status (its exit code, 128 + the signal that killed it; 0 when\n"
"attached); 0 done; 1 could not trace or read; 2 usage\n";

struct cli {
	enum report_format format;
	const char *output;
	const char *trace;
	double duration;
	enum probe_site_mode site;
	bool bare_probes;
	bool verbose;
	struct watch_opts watch;
	const char *learn;			/* --learn FILE */
	char learned[WATCH_SPECS_MAX][WATCH_SPEC_LEN];	/* read from it */
	__u32 buffer_bytes;
	int exitcode;				/* check: the status on findings */
	int pids[SESSION_MAX_PIDS];
	size_t nr_pids;
	const char *suppression_files[CLI_MAX_SUPPRESSIONS];
	size_t nr_suppression_files;
	bool print_suppressions;
	struct suppressions *suppressions;	/* loaded from them */
};

enum {
	OPT_BUFFER_SIZE = 250, OPT_PROBE_SITE = 256, OPT_BARE_PROBES, OPT_WATCH, OPT_SEED,
	OPT_NO_WATCH, OPT_LEARN, OPT_EXITCODE, OPT_SUPPRESSIONS, OPT_PRINT_SUPPRESSIONS,
};

static const struct option long_opts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "trace", required_argument, NULL, 't' },
	{ "pid", required_argument, NULL, 'p' },
	{ "buffer-size", required_argument, NULL, OPT_BUFFER_SIZE },
	{ "duration", required_argument, NULL, 'd' },
	{ "probe-site", required_argument, NULL, OPT_PROBE_SITE },
	{ "bare-probes", no_argument, NULL, OPT_BARE_PROBES },
	{ "watch", required_argument, NULL, OPT_WATCH },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "no-watch", no_argument, NULL, OPT_NO_WATCH },
	{ "learn", required_argument, NULL, OPT_LEARN },
	{ "exitcode", required_argument, NULL, OPT_EXITCODE },
	{ "suppressions", required_argument, NULL, OPT_SUPPRESSIONS },
	{ "print-suppressions", no_argument, NULL, OPT_PRINT_SUPPRESSIONS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ipcrace: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(ipcrace help for usage)\n");
	return EXIT_USAGE;
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

/* Parses options; argc and argv are left at the first operand. */
static int parse_options(int *argc, char ***argv, struct cli *cli)
{
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(*argc, *argv, "+f:o:t:d:p:vhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (report_format__parse(optarg, &cli->format))
				return usage_error("unknown format '%s' (text, json, sarif or perfetto)",
						   optarg);
			break;
		case 'o':
			cli->output = optarg;
			break;
		case 't':
			cli->trace = optarg;
			break;
		case OPT_BUFFER_SIZE: {
			unsigned long kib = strtoul(optarg, &end, 10);

			/* a power of two number of pages, as BPF ring buffers need */
			if (*end || kib < 4 || kib > 1024 * 1024 || (kib & (kib - 1)))
				return usage_error("bad buffer size '%s' (KiB: a power of two, "
						   "4 to 1048576)", optarg);
			cli->buffer_bytes = kib * 1024;
			break;
		}
		case 'p':
			if (parse_pids(optarg, cli))
				return usage_error("bad pid list '%s' (PID[,PID...])", optarg);
			break;
		case 'd':
			cli->duration = strtod(optarg, &end);
			if (*end || cli->duration <= 0)
				return usage_error("bad duration '%s' (seconds > 0)", optarg);
			break;
		case OPT_PROBE_SITE:
			if (!strcmp(optarg, "auto"))
				cli->site = PROBE_SITE_AUTO;
			else if (!strcmp(optarg, "entry"))
				cli->site = PROBE_SITE_ENTRY;
			else
				return usage_error("bad probe site '%s' (auto or entry)", optarg);
			break;
		case OPT_BARE_PROBES:
			cli->bare_probes = true;
			break;
		case OPT_WATCH:
			if (cli->watch.nr_specs == WATCH_SPECS_MAX)
				return usage_error("at most 4 --watch (one debug register each): '%s'",
						   optarg);
			cli->watch.specs[cli->watch.nr_specs++] = optarg;
			break;
		case OPT_SEED:
			errno = 0;
			cli->watch.seed = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg)
				return usage_error("bad seed '%s' (an unsigned integer)", optarg);
			cli->watch.seed_set = true;
			break;
		case OPT_NO_WATCH:
			cli->watch.disabled = true;
			break;
		case OPT_LEARN:
			if (!*optarg)
				return usage_error("--learn needs a file name%s", "");
			cli->learn = optarg;
			break;
		case OPT_EXITCODE: {
			long code = strtol(optarg, &end, 10);

			if (*end || !*optarg || code < 0 || code > 255)
				return usage_error("bad exit code '%s' (0 to 255)", optarg);
			cli->exitcode = code;
			break;
		}
		case OPT_SUPPRESSIONS:
			if (cli->nr_suppression_files == CLI_MAX_SUPPRESSIONS)
				return usage_error("at most 16 --suppressions files: '%s'", optarg);
			cli->suppression_files[cli->nr_suppression_files++] = optarg;
			break;
		case OPT_PRINT_SUPPRESSIONS:
			cli->print_suppressions = true;
			break;
		case 'v':
			cli->verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("ipcrace %s\n", IPCRACE_VERSION);
			exit(0);
		default:
			return EXIT_USAGE;
		}
	}
	*argc -= optind;
	*argv += optind;
	return 0;
}

static FILE *open_output(const char *path, FILE *fallback)
{
	FILE *f;

	if (!path)
		return fallback;
	f = fopen(path, "we");
	if (!f)
		fprintf(stderr, "ipcrace: cannot write %s: %m\n", path);
	return f;
}

/*
 * --suppressions FILE...: read before anything runs, so a bad file stops a
 * check before the target starts. 0, or an exit status (2: a malformed
 * line, named with its file and line; 1: a file that cannot be read).
 */
static int load_suppressions(struct cli *cli)
{
	char err[512];
	size_t i;
	int ret;

	if (!cli->nr_suppression_files)
		return 0;
	cli->suppressions = suppressions__new();
	if (!cli->suppressions) {
		fprintf(stderr, "ipcrace: %m\n");
		return EXIT_FAILURE_TOOL;
	}
	for (i = 0; i < cli->nr_suppression_files; i++) {
		ret = suppressions__load_file(cli->suppressions, cli->suppression_files[i], err,
					      sizeof(err));
		if (ret) {
			fprintf(stderr, "ipcrace: suppressions: %s\n", err);
			return ret == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_TOOL;
		}
	}
	return 0;
}

/* Reads, analyzes and reports a trace: 0, 66 or 1. */
static int analyze_file(const char *trace_path, const struct cli *cli, FILE *fallback)
{
	struct report_opts ro = {
		.format = cli->format,
		.suppressions = cli->suppressions,
		.print_suppressions = cli->print_suppressions,
	};
	size_t nr_reported = 0;
	struct analyze_opts ao = {};
	struct findings fs = {};
	struct trace *t;
	char err[256];
	FILE *out;
	int ret = EXIT_FAILURE_TOOL;

	t = trace__read_file(trace_path, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "ipcrace: %s\n", err);
		return EXIT_FAILURE_TOOL;
	}
	if (t->truncated)
		fprintf(stderr, "ipcrace: warning: %s is truncated: analyzing the events "
			"up to its last whole chunk\n", trace_path);
	if (analyze_trace(t, &ao, &fs)) {
		fprintf(stderr, "ipcrace: analysis failed: %m\n");
		goto out_free;
	}
	out = open_output(cli->output, fallback);
	if (!out)
		goto out_findings;
	ro.seed = t->footer.seed;
	ro.watched_words = t->footer.watched_words;
	ro.color = !cli->output && isatty(fileno(out)) && !getenv("NO_COLOR");
	/* suppressed findings do not count: 66 only for reports left */
	if (report__write_counted(out, t, &fs, &ro, &nr_reported))
		fprintf(stderr, "ipcrace: writing the report failed\n");
	else
		ret = nr_reported ? EXIT_FINDINGS : 0;
	if (out != fallback)
		fclose(out);
	else
		fflush(out);
out_findings:
	findings__clear(&fs);
out_free:
	trace__free(t);
	return ret;
}

/*
 * --learn FILE: its specs become named watches after the --watch ones (4
 * in all). A file not there yet is what a first run sees. 0, or an exit
 * status (2: a garbled file or --no-watch; 1: unreadable).
 */
static int load_learned(struct cli *cli)
{
	struct watch_opts *wo = &cli->watch;
	char err[160];
	size_t nr;
	int ret;

	if (!cli->learn)
		return 0;
	if (wo->disabled)
		return usage_error("--learn watches words: not with --no-watch%s", "");
	ret = watch_spec__read_file(cli->learn, cli->learned, WATCH_SPECS_MAX, &nr, err,
				    sizeof(err));
	if (ret == -ENOENT)
		nr = 0;
	else if (ret == -EINVAL) {
		fprintf(stderr, "ipcrace: --learn %s: %s\n", cli->learn, err);
		return EXIT_USAGE;
	} else if (ret) {
		fprintf(stderr, "ipcrace: --learn %s: cannot read: %s\n", cli->learn, strerror(-ret));
		return EXIT_FAILURE_TOOL;
	}
	wo->learn_path = cli->learn;
	for (size_t i = 0; i < nr; i++) {
		bool dup = false;

		for (size_t j = 0; j < wo->nr_specs; j++)
			dup |= !strcmp(wo->specs[j], cli->learned[i]);
		if (dup)
			continue;
		if (wo->nr_specs == WATCH_SPECS_MAX) {
			if (cli->verbose)
				fprintf(stderr, "ipcrace: learn: no debug register left for %s\n",
					cli->learned[i]);
			continue;
		}
		wo->specs[wo->nr_specs++] = cli->learned[i];
		wo->nr_learned++;
		if (cli->verbose)
			fprintf(stderr, "ipcrace: learn: watching %s\n", cli->learned[i]);
	}
	return 0;
}

/*
 * Records into trace_path; *target_status gets the target's wait status
 * (-1 when attached, or when the recording stopped before it exited).
 */
static int record_to(const char *trace_path, const struct cli *cli, char **cmd,
		     int *target_status)
{
	struct session_opts so = {
		.argv = cli->nr_pids ? NULL : cmd,
		.pids = cli->pids,
		.nr_pids = cli->nr_pids,
		.trace_path = trace_path,
		.duration = cli->duration,
		.buffer_bytes = cli->buffer_bytes,
		.site = cli->site,
		.bare_probes = cli->bare_probes,
		.verbose = cli->verbose,
		.watch = cli->watch,
	};

	so.watch.verbose = cli->verbose;

	return session__record(&so, target_status);
}

/*
 * check's status without findings, as TSan does: the target's own exit
 * code, 128 + the signal that killed it, 0 when it was not our child
 * (attached) or still ran when the recording stopped.
 */
static int target_exit_status(int wait_status)
{
	if (wait_status == -1)
		return 0;
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	struct cli cli = { .exitcode = EXIT_FINDINGS };
	char tmp[] = "/tmp/ipcrace-XXXXXX";
	const char *trace_path;
	int ret, status, fd = -1;

	ret = parse_options(&argc, &argv, &cli);
	if (ret)
		return ret;
	if ((argc < 1) == (cli.nr_pids == 0))
		return usage_error("check needs a command or -p PID, not both: "
				   "ipcrace check [-p PID] [-- CMD [ARGS]]%s", "");
	ret = load_learned(&cli);
	if (!ret)
		ret = load_suppressions(&cli);
	if (ret)
		goto out;
	trace_path = cli.trace;
	if (!trace_path) {
		fd = mkstemp(tmp);
		if (fd < 0) {
			fprintf(stderr, "ipcrace: cannot create a temporary trace in /tmp: %m\n");
			ret = EXIT_FAILURE_TOOL;
			goto out;
		}
		close(fd);
		trace_path = tmp;
	}
	if (record_to(trace_path, &cli, argv, &status))
		ret = EXIT_FAILURE_TOOL;
	else
		ret = analyze_file(trace_path, &cli, stderr);
	if (ret == EXIT_FINDINGS)
		ret = cli.exitcode;
	else if (ret == 0)
		ret = target_exit_status(status);
	if (fd >= 0)
		unlink(tmp);
out:
	suppressions__free(cli.suppressions);
	return ret;
}

static int cmd_record(int argc, char **argv)
{
	struct cli cli = {};
	int ret, status;

	ret = parse_options(&argc, &argv, &cli);
	if (ret)
		return ret;
	if (!cli.output)
		cli.output = DEFAULT_TRACE;
	if ((argc < 1) == (cli.nr_pids == 0))
		return usage_error("record needs a command or -p PID, not both: "
				   "ipcrace record [-o FILE] (-p PID | -- CMD)%s", "");
	ret = load_learned(&cli);
	if (ret)
		return ret;
	if (record_to(cli.output, &cli, argv, &status))
		return EXIT_FAILURE_TOOL;
	fprintf(stderr, "ipcrace: trace written to %s\n", cli.output);
	return 0;
}

static int cmd_analyze(int argc, char **argv)
{
	struct cli cli = {};
	int ret;

	ret = parse_options(&argc, &argv, &cli);
	if (ret)
		return ret;
	if (argc != 1)
		return usage_error("analyze needs one trace file%s", "");
	ret = load_suppressions(&cli);
	if (!ret)
		ret = analyze_file(argv[0], &cli, stdout);
	suppressions__free(cli.suppressions);
	return ret;
}

static int cmd_dump(int argc, char **argv)
{
	struct cli cli = {};
	struct trace *t;
	char err[256];
	int ret;

	ret = parse_options(&argc, &argv, &cli);
	if (ret)
		return ret;
	if (argc != 1)
		return usage_error("dump needs one trace file%s", "");
	t = trace__read_file(argv[0], err, sizeof(err));
	if (!t) {
		fprintf(stderr, "ipcrace: %s\n", err);
		return EXIT_FAILURE_TOOL;
	}
	if (t->truncated)
		fprintf(stderr, "ipcrace: warning: %s is truncated\n", argv[0]);
	ret = dump__write(stdout, t) ? EXIT_FAILURE_TOOL : 0;
	trace__free(t);
	return ret;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs(usage_text, stdout);
	return 0;
}

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "check", cmd_check },
	{ "record", cmd_record },
	{ "analyze", cmd_analyze },
	{ "dump", cmd_dump },
	{ "help", cmd_help },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("ipcrace %s\n", IPCRACE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc, argv);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[1]);
}
