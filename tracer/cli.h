/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The command line: one table of option descriptors (name, short name,
 * argument, the subcommands it applies to, help text) from which the
 * parser, `ipcrace COMMAND --help`, `ipcrace help --markdown` (the README's
 * option table) and the IPCRACE_OPTIONS environment variable all work.
 *
 * Options may come anywhere on the line. For check and record the first
 * operand starts CMD (everything after it is CMD's, as with env, strace or
 * timeout), and `--` ends ipcrace's options explicitly; for analyze, dump
 * and help operands and options mix freely, and `--` makes what follows
 * operands. IPCRACE_OPTIONS holds key=value words of long option names,
 * applied before the command line (which wins; repeatable options add up);
 * an option that does not apply to the subcommand is ignored there.
 */
#ifndef IPCRACE_CLI_H
#define IPCRACE_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "../reports/debuginfo.h"
#include "../reports/report.h"
#include "session.h"

#define CLI_EXIT_USAGE 2
#define CLI_EXITCODE_DEFAULT 66		/* check's status on findings (TSan's) */
#define CLI_ENV "IPCRACE_OPTIONS"
#define CLI_MAX_SUPPRESSIONS 16		/* --suppressions files */
#define CLI_USTACK_DEFAULT 8192		/* --call-graph dwarf: see tests/bench/run_stack_bench.sh */

enum cli_command {
	CLI_CHECK = 1 << 0,
	CLI_RECORD = 1 << 1,
	CLI_ANALYZE = 1 << 2,
	CLI_DUMP = 1 << 3,
	CLI_HELP = 1 << 4,
	CLI_ARCHIVE = 1 << 5,
	CLI_HANG = 1 << 6,
};

struct cli {
	enum cli_command command;
	enum report_format format;
	const char *output;			/* report (check, analyze) or trace (record) */
	const char *trace;			/* check --trace */
	double duration;
	enum probe_site_mode site;
	bool bare_probes;
	bool verbose;
	struct watch_opts watch;		/* --watch, --seed, --no-watch */
	struct access_opts access;		/* --access-budget, --instrument */
	int access_probes;			/* --access-probes: 0 the default, 1 on, 2 off */
	struct confirm_opts confirm;		/* --confirm-hold, --confirm-rate */
	const char *learn;			/* --learn FILE */
	__u32 buffer_bytes;
	__u32 ustack_bytes;			/* --call-graph dwarf,BYTES; 0: fp */
	bool ipc_stacks;			/* --ipc-stacks */
	const char *debug_dirs[DEBUGINFO_DIRS_MAX];	/* --debug-dir */
	size_t nr_debug_dirs;
	const char *sysroot;			/* --sysroot */
	const char *archive;			/* analyze/check --archive FILE */
	size_t flight_bytes;			/* record --flight SIZE */
	int exitcode;				/* check: the status on findings */
	int pids[SESSION_MAX_PIDS];
	size_t nr_pids;
	const char *cgroup;			/* --cgroup PATH (record, check, hang) */
	const char *unit;			/* --unit NAME (record, check, hang) */
	bool all;				/* hang --all */
	const char *suppression_files[CLI_MAX_SUPPRESSIONS];
	size_t nr_suppression_files;
	bool print_suppressions;
	bool help;				/* --help: print the command's help */
	bool version;
	bool markdown;				/* help --markdown */
	char **operands;			/* CMD [ARGS] (check, record), FILE, topic */
	int nr_operands;
	char *env_copy;				/* IPCRACE_OPTIONS, split in place */
};

/*
 * The subcommand named name (check, record, analyze, dump, help): 0 or
 * -ENOENT.
 */
int cli__command(const char *name, enum cli_command *out);

/*
 * Fills cli for command from env (IPCRACE_OPTIONS' value, or NULL) and
 * then args[0..nr) (what follows the subcommand). 0, or CLI_EXIT_USAGE
 * after printing "ipcrace: ..." and a hint line to stderr. With --help or
 * --version it returns 0 at once with cli->help or cli->version set. The
 * strings in cli point into args and cli->env_copy (cli__free frees it).
 */
int cli__parse(struct cli *cli, enum cli_command command, const char *env, int nr,
	       char **args);

/* -p, --cgroup or --unit: tracing processes that run already. */
static inline bool cli__attaching(const struct cli *cli)
{
	return cli->nr_pids || cli->cgroup || cli->unit;
}

/* Frees what cli__parse allocated. NULL-safe. */
void cli__free(struct cli *cli);

/* `ipcrace help`: the commands, the environment and the exit status. */
void cli__print_usage(FILE *out);

/* `ipcrace COMMAND --help`: its usage line and its options. */
void cli__print_help(FILE *out, enum cli_command command);

/* `ipcrace help --markdown`: every option as a Markdown table (README). */
void cli__print_markdown(FILE *out);

/*
 * A usage error: "ipcrace: MESSAGE" and a hint naming command's --help
 * (0: `ipcrace help`). Returns CLI_EXIT_USAGE.
 */
int cli__usage_error(enum cli_command command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* IPCRACE_CLI_H */
