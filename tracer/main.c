// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ipcrace: one binary, subcommands in a table (bpftool's model); the command
 * line and its option table are tracer/cli.c. Exit codes are the contract
 * of DESIGN.md: 66 (--exitcode) findings; check without findings: the
 * target's own status (128 + signal); 1 could not trace or read, or an
 * incomplete trace without findings (trace__exit_status); 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "../analyzer/analyze.h"
#include "../reports/archive.h"
#include "../reports/dump.h"
#include "../reports/report.h"
#include "../reports/suppress.h"
#include "cli.h"
#include "hang.h"
#include "output.h"
#include "session.h"
#include "trace_dest.h"
#include "trace_input.h"

#define EXIT_FINDINGS 66
#define EXIT_FAILURE_TOOL 1
#define EXIT_USAGE CLI_EXIT_USAGE
#define DEFAULT_TRACE "ipcrace.trace"	/* record without -o */

/*
 * Opens the report output before anything runs (tracer/output.h): an
 * unwritable -o fails before the target starts. NULL path: the fallback
 * stream. 0 or an exit status.
 */
static int open_report(struct output *o, const char *path)
{
	char err[512];

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (!path)
		return 0;
	if (output__open(o, path, 0, err, sizeof(err))) {
		fprintf(stderr, "ipcrace: %s\n", err);
		return EXIT_FAILURE_TOOL;
	}
	return 0;
}

/*
 * --suppressions FILE...: read before anything runs, so a bad file stops a
 * check before the target starts. 0, or an exit status (2: a malformed
 * line, named with its file and line; 1: a file that cannot be read).
 */
static int load_suppressions(const struct cli *cli, struct suppressions **out)
{
	char err[512];
	size_t i;
	int ret;

	*out = NULL;
	if (!cli->nr_suppression_files)
		return 0;
	*out = suppressions__new();
	if (!*out) {
		fprintf(stderr, "ipcrace: %m\n");
		return EXIT_FAILURE_TOOL;
	}
	for (i = 0; i < cli->nr_suppression_files; i++) {
		ret = suppressions__load_file(*out, cli->suppression_files[i], err, sizeof(err));
		if (ret) {
			fprintf(stderr, "ipcrace: suppressions: %s\n", err);
			return ret == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_TOOL;
		}
	}
	return 0;
}

/*
 * Analyzes and reports a trace already read (and frees it): 0, 66
 * (findings left after the suppressions) or 1 (trace__exit_status: also
 * when the trace is incomplete and nothing was found in it).
 */
static int analyze_trace_and_report(struct trace *t, struct analyze_stream *stream,
				    const char *name, const struct cli *cli,
				    struct suppressions *suppressions, struct output *report,
				    FILE *fallback)
{
	struct report_opts ro = {
		.format = cli->format,
		.suppressions = suppressions,
		.print_suppressions = cli->print_suppressions,
		.verbose = cli->verbose,
		.debug_dirs = cli->debug_dirs,
		.nr_debug_dirs = cli->nr_debug_dirs,
		.sysroot = cli->sysroot,
	};
	const char *debug_dirs[DEBUGINFO_DIRS_MAX + 1];
	char archive_dir[] = "/tmp/ipcrace-archive-XXXXXX";
	bool unpacked = false;
	char err[512];
	size_t nr_reported = 0;
	struct analyze_opts ao = {};
	struct findings fs = {};
	char gaps[512];
	FILE *out = fallback;
	int ret = EXIT_FAILURE_TOOL;
	bool ok;

	/* --archive: its modules, unpacked, searched after the --debug-dirs */
	memcpy(debug_dirs, cli->debug_dirs, cli->nr_debug_dirs * sizeof(debug_dirs[0]));
	if (cli->archive) {
		if (!mkdtemp(archive_dir)) {
			fprintf(stderr, "ipcrace: cannot create a directory in /tmp: %m\n");
			goto out_free;
		}
		unpacked = true;
		if (archive__extract(cli->archive, archive_dir, err, sizeof(err))) {
			fprintf(stderr, "ipcrace: %s\n", err);
			goto out_free;
		}
		debug_dirs[ro.nr_debug_dirs++] = archive_dir;
	}
	ro.debug_dirs = debug_dirs;
	/* one call chain, one stack id: before the analysis dedups by them */
	ret = report__merge_stacks(t, &ro);
	if (ret)
		fprintf(stderr, "ipcrace: warning: stack snapshots not merged: %s\n", strerror(-ret));
	/* a stream analyzed in the first pass is done, unless it could not be */
	ret = stream ? analyze_stream__finish(stream, t, &ao, &fs) : analyze_trace(t, &ao, &fs);
	/* the perfetto timeline draws every event: it takes them all at once */
	if (!ret && cli->format == REPORT_PERFETTO)
		ret = trace__load_events(t);
	if (ret) {
		fprintf(stderr, "ipcrace: analysis failed: %s\n", ret == -ESTALE ?
			"the trace file changed while it was read" : strerror(-ret));
		ret = EXIT_FAILURE_TOOL;
		goto out_findings;
	}
	ret = EXIT_FAILURE_TOOL;
	if (report->fd >= 0) {
		int fd = dup(report->fd);

		out = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!out) {
			fprintf(stderr, "ipcrace: cannot write %s: %m\n", cli->output);
			if (fd >= 0)
				close(fd);
			goto out_findings;
		}
	}
	ro.seed = t->footer.seed;
	ro.watched_words = t->footer.watched_words;
	ro.color = !cli->output && isatty(fileno(out)) && !getenv("NO_COLOR");
	/* suppressed findings do not count: 66 only for reports left */
	ok = !report__write_counted(out, t, &fs, &ro, &nr_reported);
	if (!ok)
		fprintf(stderr, "ipcrace: writing the report failed\n");
	if (out != fallback) {
		if (fclose(out) && ok) {
			fprintf(stderr, "ipcrace: cannot write %s: %m\n", cli->output);
			ok = false;
		}
		if (ok) {
			int err = output__commit(report);

			if (err) {
				fprintf(stderr, "ipcrace: cannot write %s: %s\n", cli->output,
					strerror(-err));
				ok = false;
			}
		}
	} else {
		fflush(out);
	}
	if (!ok)
		goto out_findings;
	ret = trace__exit_status(t, nr_reported);
	if (ret == 0 && !(t->streamed ? t->event_count : t->nr_events) &&
	    trace__is_complete(t)) {
		/* a whole recording that observed nothing is not a clean bill */
		fprintf(stderr, "ipcrace: no event was recorded from the traced processes: "
			"nothing was checked\n");
		ret = EXIT_FAILURE_TOOL;
	}
	if (!nr_reported && !trace__is_complete(t)) {
		trace__describe_gaps(t, gaps, sizeof(gaps));
		fprintf(stderr, "ipcrace: %s is INCOMPLETE and nothing was found in what "
			"remains: exit status 1 (%s)\n", name, gaps);
	}
out_findings:
	findings__clear(&fs);
out_free:
	trace__free(t);
	if (unpacked)
		archive__remove(archive_dir);
	return ret;
}

/* Reads, analyzes and reports a trace file ("-": stdin): 0, 66 or 1. */
static int analyze_file(const char *trace_path, const struct cli *cli,
			struct suppressions *suppressions, FILE *fallback)
{
	struct analyze_stream *stream;
	struct output report;
	struct trace *t;
	char err[256];
	int ret;

	ret = open_report(&report, cli->output);
	if (ret)
		return ret;
	/* analyzed as it is first read, when nothing but its events is needed */
	stream = analyze_stream__new();
	if (!stream) {
		fprintf(stderr, "ipcrace: %m\n");
		output__discard(&report);
		return EXIT_FAILURE_TOOL;
	}
	t = trace_input__open_each(trace_path, analyze_stream__event, stream, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "ipcrace: %s\n", err);
		analyze_stream__free(stream);
		output__discard(&report);
		return EXIT_FAILURE_TOOL;
	}
	ret = analyze_trace_and_report(t, stream, strcmp(trace_path, "-") ? trace_path : "stdin",
				       cli, suppressions, &report, fallback);
	analyze_stream__free(stream);
	output__discard(&report);
	return ret;
}

/*
 * --learn FILE: its specs become named watches after the --watch ones (4
 * in all). A file not there yet is what a first run sees. 0, or an exit
 * status (2: a garbled file or --no-watch; 1: unreadable).
 */
static int load_learned(struct cli *cli)
{
	/* the specs outlive this call: the watcher keeps pointers to them */
	static char learned[WATCH_SPECS_MAX][WATCH_SPEC_LEN];
	struct watch_opts *wo = &cli->watch;
	char err[160];
	size_t nr;
	int ret;

	if (!cli->learn)
		return 0;
	if (wo->disabled)
		return cli__usage_error(cli->command, "--learn watches words: not with --no-watch");
	ret = watch_spec__read_file(cli->learn, learned, WATCH_SPECS_MAX, &nr, err,
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
			dup |= !strcmp(wo->specs[j], learned[i]);
		if (dup)
			continue;
		if (wo->nr_specs == WATCH_SPECS_MAX) {
			if (cli->verbose)
				fprintf(stderr, "ipcrace: learn: no debug register left for %s\n",
					learned[i]);
			continue;
		}
		wo->specs[wo->nr_specs++] = learned[i];
		wo->nr_learned++;
		if (cli->verbose)
			fprintf(stderr, "ipcrace: learn: watching %s\n", learned[i]);
	}
	return 0;
}

/* session_opts.started: the trace file goes in place (tracer/trace_dest.h). */
static int dest_started(void *ctx)
{
	char err[512];

	if (!trace_dest__start(ctx, err, sizeof(err)))
		return 0;
	fprintf(stderr, "ipcrace: %s\n", err);
	return -1;
}

/*
 * Records into dest (tracer/trace_dest.h); *target_status gets the
 * target's wait status (-1 when attached, or when the recording stopped
 * before it exited).
 */
static int record_to(struct trace_dest *dest, const struct cli *cli, char **cmd,
		     int *target_status)
{
	struct session_opts so = {
		.argv = cli__attaching(cli) ? NULL : cmd,
		.pids = cli->pids,
		.nr_pids = cli->nr_pids,
		.cgroup = cli->cgroup,
		.unit = cli->unit,
		.trace_path = dest->name,
		.trace_fd = dest->record_fd,
		.trace_limit = dest->limit,
		.flight_bytes = cli->flight_bytes,
		.duration = cli->duration,
		.buffer_bytes = cli->buffer_bytes,
		.ustack_bytes = cli->ustack_bytes,
		.ipc_stacks = cli->ipc_stacks,
		.site = cli->site,
		.bare_probes = cli->bare_probes,
		.verbose = cli->verbose,
		.watch = cli->watch,
		.started = dest_started,
		.started_ctx = dest,
	};

	so.watch.verbose = cli->verbose;
	so.access = cli->access;
	so.confirm = cli->confirm;
	so.access.verbose = cli->verbose;
	/* a running service must not slow down: attach mode only on request */
	so.access.enabled = cli->access_probes ? cli->access_probes == 1 : !cli->nr_pids;

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

/*
 * --learn FILE is written at the end: whether it can be is known now,
 * before the target runs. 0 or an exit status.
 */
static int check_learn_writable(const struct cli *cli)
{
	struct output o;
	char err[512];

	if (!cli->learn)
		return 0;
	if (output__open(&o, cli->learn, OUTPUT_PRIVATE, err, sizeof(err))) {
		fprintf(stderr, "ipcrace: --learn: %s\n", err);
		return EXIT_FAILURE_TOOL;
	}
	output__discard(&o);
	return 0;
}

static int cmd_check(struct cli *cli)
{
	struct suppressions *suppressions = NULL;
	struct analyze_stream *stream = NULL;
	struct trace_dest dest;
	struct output report;
	struct trace *t;
	char err[512];
	int ret, status;

	memset(&report, 0, sizeof(report));
	report.fd = -1;
	memset(&dest, 0, sizeof(dest));
	dest.keep.fd = dest.temp.fd = -1;
	ret = load_learned(cli);
	if (!ret)
		ret = load_suppressions(cli, &suppressions);
	/* every output opened before the target starts */
	if (!ret)
		ret = check_learn_writable(cli);
	if (!ret)
		ret = open_report(&report, cli->output);
	if (ret)
		goto out;
	ret = EXIT_FAILURE_TOOL;
	if (trace_dest__open(&dest, cli->trace, true, err, sizeof(err))) {
		fprintf(stderr, "ipcrace: %s\n", err);
		goto out;
	}
	if (record_to(&dest, cli, cli->operands, &status))
		goto out;
	if (trace_dest__finish(&dest, err, sizeof(err))) {
		fprintf(stderr, "ipcrace: %s\n", err);
		goto out;
	}
	/* analyzed as it is first read back, when nothing but its events is needed */
	stream = analyze_stream__new();
	if (!stream) {
		fprintf(stderr, "ipcrace: %m\n");
		goto out;
	}
	t = dest.read_fd >= 0 ? trace__open_fd_each(dest.read_fd, dest.name, analyze_stream__event,
						    stream, err, sizeof(err))
			      : trace_dest__read(&dest, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "ipcrace: %s\n", err);
		goto out;
	}
	ret = analyze_trace_and_report(t, stream, cli->trace ? cli->trace : "the trace", cli,
				       suppressions, &report, stderr);
	if (ret == EXIT_FINDINGS)
		ret = cli->exitcode;
	else if (ret == 0)
		ret = target_exit_status(status);
out:
	analyze_stream__free(stream);
	trace_dest__close(&dest);
	output__discard(&report);
	suppressions__free(suppressions);
	return ret;
}

static int cmd_record(struct cli *cli)
{
	struct trace_dest dest;
	char err[512];
	int ret, status;

	if (!cli->output)
		cli->output = DEFAULT_TRACE;
	ret = load_learned(cli);
	if (!ret)
		ret = check_learn_writable(cli);
	if (ret)
		return ret;
	if (trace_dest__open(&dest, cli->output, false, err, sizeof(err))) {
		fprintf(stderr, "ipcrace: %s\n", err);
		return EXIT_FAILURE_TOOL;
	}
	ret = record_to(&dest, cli, cli->operands, &status) ? EXIT_FAILURE_TOOL : 0;
	trace_dest__close(&dest);
	if (!ret)
		fprintf(stderr, "ipcrace: trace written to %s\n", cli->output);
	return ret;
}

static int cmd_analyze(struct cli *cli)
{
	struct suppressions *suppressions;
	int ret;

	ret = load_suppressions(cli, &suppressions);
	if (!ret)
		ret = analyze_file(cli->operands[0], cli, suppressions, stdout);
	suppressions__free(suppressions);
	return ret;
}

static int cmd_dump(struct cli *cli)
{
	const char *path = cli->operands[0];
	struct trace *t;
	char err[256];
	int ret;

	/* streamed: the events are listed as they are read again, never all held */
	t = trace_input__open(path, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "ipcrace: %s\n", err);
		return EXIT_FAILURE_TOOL;
	}
	if (!trace__is_complete(t)) {
		char gaps[512];

		trace__describe_gaps(t, gaps, sizeof(gaps));
		fprintf(stderr, "ipcrace: warning: %s is INCOMPLETE: %s\n",
			strcmp(path, "-") ? path : "stdin", gaps);
	}
	ret = dump__write(stdout, t);
	if (ret == -ESTALE || ret == -EIO || ret == -ENOMEM)
		fprintf(stderr, "ipcrace: dump: %s\n", ret == -ESTALE ?
			"the trace file changed while it was read" : strerror(-ret));
	ret = ret ? EXIT_FAILURE_TOOL : 0;
	trace__free(t);
	return ret;
}

static int cmd_help(struct cli *cli)
{
	enum cli_command topic;

	if (cli->markdown) {
		if (cli->nr_operands)
			return cli__usage_error(CLI_HELP, "--markdown prints every command's "
						"options: no command name with it");
		cli__print_markdown(stdout);
		return 0;
	}
	if (!cli->nr_operands) {
		cli__print_usage(stdout);
		return 0;
	}
	if (cli__command(cli->operands[0], &topic))
		return cli__usage_error(CLI_HELP, "no command '%s' (check, record, analyze, "
					"dump, archive, hang or help)", cli->operands[0]);
	cli__print_help(stdout, topic);
	return 0;
}

static int cmd_archive(struct cli *cli)
{
	const char *path = cli->operands[0];
	struct report_opts ro = {
		.debug_dirs = cli->debug_dirs,
		.nr_debug_dirs = cli->nr_debug_dirs,
		.sysroot = cli->sysroot,
	};
	char err[512], out[4096];
	size_t nr_files, missing;
	struct trace *t;
	int ret;

	t = trace_input__read(path, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "ipcrace: %s\n", err);
		return EXIT_FAILURE_TOOL;
	}
	if (cli->output)
		snprintf(out, sizeof(out), "%s", cli->output);
	else
		snprintf(out, sizeof(out), "%s.archive", strcmp(path, "-") ? path : "ipcrace.trace");
	ret = archive__write(t, &ro, out, &nr_files, &missing, err, sizeof(err));
	trace__free(t);
	if (ret) {
		fprintf(stderr, "ipcrace: %s\n", err);
		unlink(out);
		return EXIT_FAILURE_TOOL;
	}
	fprintf(stderr, "ipcrace: %zu files written to %s", nr_files, out);
	if (missing)
		fprintf(stderr, "; %zu modules not found (their frames will show module+offset)",
			missing);
	fprintf(stderr, "\n");
	return 0;
}

static int cmd_hang(struct cli *cli)
{
	struct hang_opts o = {
		.pids = cli->pids, .nr_pids = cli->nr_pids, .cgroup = cli->cgroup,
		.unit = cli->unit, .all = cli->all, .json = cli->format == REPORT_JSON,
		.output = cli->output, .verbose = cli->verbose,
	};

	return hang__run(&o);
}

static int (*const cmd_fn[])(struct cli *cli) = {
	[__builtin_ctz(CLI_CHECK)] = cmd_check,
	[__builtin_ctz(CLI_RECORD)] = cmd_record,
	[__builtin_ctz(CLI_ANALYZE)] = cmd_analyze,
	[__builtin_ctz(CLI_DUMP)] = cmd_dump,
	[__builtin_ctz(CLI_HELP)] = cmd_help,
	[__builtin_ctz(CLI_ARCHIVE)] = cmd_archive,
	[__builtin_ctz(CLI_HANG)] = cmd_hang,
};

int main(int argc, char **argv)
{
	enum cli_command command;
	struct cli cli;
	int ret;

	if (argc < 2) {
		cli__print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("ipcrace %s\n", IPCRACE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		cli__print_usage(stdout);
		return 0;
	}
	if (cli__command(argv[1], &command)) {
		if (argv[1][0] == '-')
			return cli__usage_error(0, "'%s' before the command: options come after "
						"it (ipcrace COMMAND [OPTIONS])", argv[1]);
		return cli__usage_error(0, "unknown command '%s'", argv[1]);
	}
	ret = cli__parse(&cli, command, getenv(CLI_ENV), argc - 2, argv + 2);
	if (ret)
		goto out;
	if (cli.version) {
		printf("ipcrace %s\n", IPCRACE_VERSION);
		goto out;
	}
	if (cli.help) {
		cli__print_help(stdout, command);
		goto out;
	}
	ret = cmd_fn[__builtin_ctz(command)](&cli);
out:
	cli__free(&cli);
	return ret;
}
