/* `envbot tags`: placeholder until its issue lands. */
#include "cli.h"

int cli_tags(const struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	return cli_not_built("tags");
}
