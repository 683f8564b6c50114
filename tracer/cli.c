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

#include "cli_table.h"
#include "watch_spec.h"

int cli__usage_error(enum cli_command command, const char *fmt, ...)
{
	const struct cli_command_desc *d = cli_table__command(command);
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
	case OPT_WATCH_RATE: {
		unsigned long n;

		errno = 0;
		n = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || *arg == '-' || n > 1000000)
			return cli__usage_error(c, "%s: bad value '%s' (0 to 1000000)", from, arg);
		cli->watch.trap_rate = n;
		cli->watch.trap_rate_set = true;
		return 0;
	}
	case OPT_OVERHEAD: {
		unsigned long n;

		errno = 0;
		n = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || *arg == '-' || n < 1 || n > 100)
			return cli__usage_error(c, "%s: bad value '%s' (1 to 100)", from, arg);
		cli->watch.overhead_pct = n;
		return 0;
	}
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

	for (size_t i = 0; i < cli_nr_options; i++) {
		const struct cli_option *o = &cli_options[i];
		bool match = name ? strlen(o->name) == name_len && !strncmp(o->name, name, name_len)
				  : o->short_name && o->short_name == short_name;

		if (!match)
			continue;
		if (o->commands & cli->command)
			return o;
		elsewhere |= o->commands;
	}
	if (elsewhere) {
		cli_table__command_names(elsewhere, names, sizeof(names));
		cli__usage_error(cli->command, "%s does not apply to %s (an option of %s)", from,
				 cli_table__command(cli->command)->name, names);
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
		for (size_t i = 0; i < cli_nr_options; i++) {
			if (strcmp(cli_options[i].name, word))
				continue;
			if (cli_options[i].command_line_only)
				return cli__usage_error(cli->command, "%s: --%s is for the command "
							"line only", CLI_ENV, word);
			commands |= cli_options[i].commands;
			if (cli_options[i].commands & cli->command)
				o = &cli_options[i];
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
	const char *name = cli_table__command(cli->command)->name;

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

