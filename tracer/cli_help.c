// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --help, the command list and the README's option table (cli.h), from cli_table.c. */
#include <stdio.h>

#include "cli_table.h"

#define HELP_WIDTH 80
#define HELP_INDENT 26			/* column of the help text in --help */

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
	const struct cli_command_desc *d = cli_table__command(command);
	char synopsis[96];

	fprintf(out, "usage: ipcrace %s %s\n\n", d->name, d->usage);
	print_wrapped(out, d->summary, 0, 0);
	if (command & CLI_TRACING)
		fprintf(out, "\n%s", cli_ordering_text);
	fputs("\noptions:\n", out);
	for (size_t i = 0; i < cli_nr_options; i++) {
		const struct cli_option *o = &cli_options[i];
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
	fprintf(out, "\n%s", cli_exit_status_text);
}

void cli__print_usage(FILE *out)
{
	fputs("usage: ipcrace COMMAND [OPTIONS] [OPERANDS]\n\n"
	      "Finds data races and lock-order inversions between processes and threads.\n\n"
	      "commands:\n", out);
	for (size_t i = 0; i < cli_nr_commands; i++) {
		fprintf(out, "  %s %s\n", cli_commands[i].name, cli_commands[i].usage);
		fprintf(out, "%*s", HELP_INDENT, "");
		print_wrapped(out, cli_commands[i].summary, HELP_INDENT, HELP_INDENT);
	}
	fprintf(out, "\nipcrace COMMAND --help (or ipcrace help COMMAND) lists its options.\n%s\n",
		cli_ordering_text);
	fputs(cli_environment_text, out);
	fprintf(out, "\n%s", cli_exit_status_text);
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
	for (size_t i = 0; i < cli_nr_options; i++) {
		const struct cli_option *o = &cli_options[i];

		fputs("| `", out);
		if (o->short_name)
			fprintf(out, "-%c, ", o->short_name);
		fprintf(out, "--%s", o->name);
		if (o->arg) {
			fputc(' ', out);
			print_cell(out, o->arg);
		}
		cli_table__command_names(o->commands, names, sizeof(names));
		fprintf(out, "` | %s | ", o->commands == CLI_ALL ? "all" : names);
		print_cell(out, o->help);
		/* help, version, markdown are obviously not for a CI variable */
		fprintf(out, "%s |\n", o->command_line_only && (o->commands & CLI_TRACING) ?
			" (command line only, not in " CLI_ENV ")" : "");
	}
}
