// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ipcrace: one binary, subcommands in a table (bpftool's model). Exit codes
 * are the contract of DESIGN.md: 66 (--exitcode) findings; check without
 * findings: the target's own status (128 + signal); 1 could not trace or
 * read, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "../analyzer/analyze.h"
#include "../reports/dump.h"
#include "../reports/report.h"
#include "../reports/suppress.h"
#include "cli.h"
#include "session.h"
#include "trace_input.h"

#define EXIT_FINDINGS 66
#define EXIT_FAILURE_TOOL 1
#define EXIT_USAGE CLI_EXIT_USAGE
#define DEFAULT_TRACE "ipcrace.trace"	/* record without -o */

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
 * Reads, analyzes and reports a trace: 0, 66 (findings left after the
 * suppressions) or 1.
 */
static int analyze_file(const char *trace_path, const struct cli *cli,
			struct suppressions *suppressions, FILE *fallback)
{
	struct report_opts ro = {
		.format = cli->format,
		.suppressions = suppressions,
		.print_suppressions = cli->print_suppressions,
	};
	size_t nr_reported = 0;
	struct analyze_opts ao = {};
	struct findings fs = {};
	struct trace *t;
	char err[256];
	FILE *out;
	int ret = EXIT_FAILURE_TOOL;

	t = trace_input__read(trace_path, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "ipcrace: %s\n", err);
		return EXIT_FAILURE_TOOL;
	}
	if (t->truncated)
		fprintf(stderr, "ipcrace: warning: %s is truncated: analyzing the events "
			"up to its last whole chunk\n", strcmp(trace_path, "-") ? trace_path : "stdin");
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

static int cmd_check(struct cli *cli)
{
	struct suppressions *suppressions = NULL;
	char tmp[] = "/tmp/ipcrace-XXXXXX";
	const char *trace_path;
	int ret, status, fd = -1;

	ret = load_learned(cli);
	if (!ret)
		ret = load_suppressions(cli, &suppressions);
	if (ret)
		goto out;
	trace_path = cli->trace;
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
	if (record_to(trace_path, cli, cli->operands, &status))
		ret = EXIT_FAILURE_TOOL;
	else
		ret = analyze_file(trace_path, cli, suppressions, stderr);
	if (ret == EXIT_FINDINGS)
		ret = cli->exitcode;
	else if (ret == 0)
		ret = target_exit_status(status);
	if (fd >= 0)
		unlink(tmp);
out:
	suppressions__free(suppressions);
	return ret;
}

static int cmd_record(struct cli *cli)
{
	int ret, status;

	if (!cli->output)
		cli->output = DEFAULT_TRACE;
	ret = load_learned(cli);
	if (ret)
		return ret;
	if (record_to(cli->output, cli, cli->operands, &status))
		return EXIT_FAILURE_TOOL;
	fprintf(stderr, "ipcrace: trace written to %s\n", cli->output);
	return 0;
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

	t = trace_input__read(path, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "ipcrace: %s\n", err);
		return EXIT_FAILURE_TOOL;
	}
	if (t->truncated)
		fprintf(stderr, "ipcrace: warning: %s is truncated\n",
			strcmp(path, "-") ? path : "stdin");
	ret = dump__write(stdout, t) ? EXIT_FAILURE_TOOL : 0;
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
					"dump or help)", cli->operands[0]);
	cli__print_help(stdout, topic);
	return 0;
}

static int (*const cmd_fn[])(struct cli *cli) = {
	[__builtin_ctz(CLI_CHECK)] = cmd_check,
	[__builtin_ctz(CLI_RECORD)] = cmd_record,
	[__builtin_ctz(CLI_ANALYZE)] = cmd_analyze,
	[__builtin_ctz(CLI_DUMP)] = cmd_dump,
	[__builtin_ctz(CLI_HELP)] = cmd_help,
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
