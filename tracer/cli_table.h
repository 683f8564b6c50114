/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The command line's tables, shared by the parser (cli.c) and the help
 * printers (cli_help.c): one descriptor per option and meaning, one per
 * command, and the texts --help prints. Nothing outside the cli files
 * includes it.
 */
#ifndef IPCRACE_CLI_TABLE_H
#define IPCRACE_CLI_TABLE_H

#include <stddef.h>
#include "cli.h"

#define CLI_TRACING (CLI_CHECK | CLI_RECORD)
#define CLI_ALL (CLI_CHECK | CLI_RECORD | CLI_ANALYZE | CLI_DUMP | CLI_HELP | CLI_ARCHIVE | \
		 CLI_HANG)

enum cli_option_id {
	OPT_FORMAT, OPT_OUTPUT, OPT_TRACE, OPT_PID, OPT_DURATION, OPT_BUFFER_SIZE,
	OPT_WATCH, OPT_LEARN, OPT_SEED, OPT_NO_WATCH, OPT_WATCH_RATE, OPT_OVERHEAD, OPT_PROBE_SITE, OPT_BARE_PROBES,
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


struct cli_command_desc {
	enum cli_command command;
	const char *name;
	const char *usage;		/* after "ipcrace NAME " */
	const char *summary;
};

extern const struct cli_option cli_options[];
extern const size_t cli_nr_options;
extern const struct cli_command_desc cli_commands[];
extern const size_t cli_nr_commands;
extern const char cli_environment_text[];
extern const char cli_exit_status_text[];
extern const char cli_ordering_text[];

/* The descriptor of command, NULL if none. */
const struct cli_command_desc *cli_table__command(enum cli_command command);

/* "check, record": the names of the commands in mask, into buf. */
void cli_table__command_names(unsigned int mask, char *buf, size_t len);

#endif /* IPCRACE_CLI_TABLE_H */
