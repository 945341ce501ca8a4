/* `envbot migrate-state --to-table | --to-file [--file PATH] [--force]`:
 * copies the state file into the DynamoDB table of state = { ... } and
 * back. Into the table only while no replica holds the lease (it takes the
 * lease itself for the copy, so a replica cannot write meanwhile, and
 * releases it); into a file only while no daemon holds that file's lock.
 * Neither overwrites existing state without --force. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../aws/aws.h"
#include "../core/exitcode.h"
#include "../core/loop.h"
#include "../state/ddb_store.h"
#include "../state/state.h"
#include "cli.h"

#define MIGRATE_LEASE_MS 60000

static int usage(void)
{
	fprintf(stderr,
		"usage: envbot migrate-state --to-table|--to-file [--file PATH] [--force]\n");
	return EXIT_USAGE;
}

struct warm {
	struct loop *loop;
	struct aws_err err;
};

static void on_describe(void *arg, const struct aws_err *err, const char *body, size_t len)
{
	struct warm *w = arg;
	(void)body;
	(void)len;
	w->err = *err;
	loop_stop(w->loop);
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int to_table(struct ddb_store *s, const char *path, bool force)
{
	char err[1024];
	struct state *st = NULL, *there = NULL;
	struct state_load_info info;
	bool missing = false;
	int status = EXIT_FAILED;
	if (state_load_readonly(path, &st, &info, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "envbot: %s: %s\n", path, err);
		return EXIT_FAILED;
	}
	if (info.missing) {
		fprintf(stderr, "envbot: %s does not exist: nothing to copy\n", path);
		goto out;
	}
	if (ddb_lease_acquire_sync(s, wall_ms(), MIGRATE_LEASE_MS, err, sizeof(err)) != BOT_OK) {
		struct ddb_lease_info l;
		char why[512];
		if (ddb_lease_read(s, &l, why, sizeof(why)) == BOT_OK && l.found)
			fprintf(stderr,
				"envbot: replica %s holds the lease (for %lld s more): stop every "
				"replica first\n",
				l.owner, (long long)((l.expires_ms - wall_ms()) / 1000));
		else
			fprintf(stderr, "envbot: could not take the lease: %s\n", err);
		goto out;
	}
	if (ddb_state_read(s, &there, &missing, err, sizeof(err)) != BOT_OK && !force) {
		fprintf(stderr,
			"envbot: the table's state does not read (%s); --force replaces it\n", err);
		goto release;
	}
	if (!missing && !force) {
		fprintf(stderr,
			"envbot: the table %s already holds a state (version %lld); --force "
			"replaces it\n",
			ddb_store_table(s), (long long)ddb_store_version(s));
		goto release;
	}
	if (ddb_state_write(s, st, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "envbot: not written: %s\n", err);
		goto release;
	}
	printf("copied %s into the table %s (version %lld): %zu audit lines, %zu workflows in "
	       "flight\n",
	       path, ddb_store_table(s), (long long)ddb_store_version(s), state_audit_count(st),
	       state_wf_count(st));
	status = EXIT_OK;
release:
	if (ddb_lease_release(s, err, sizeof(err)) != BOT_OK)
		fprintf(stderr, "envbot: the lease was not released (%s): it runs out in 60 s\n",
			err);
out:
	state_destroy(there);
	state_destroy(st);
	return status;
}

static int to_file(struct ddb_store *s, const char *path, bool force)
{
	char err[1024];
	struct state *st = NULL;
	struct state_lock *lock = NULL;
	bool missing = false;
	int status = EXIT_FAILED;
	if (access(path, F_OK) == 0 && !force) {
		fprintf(stderr, "envbot: %s exists; --force replaces it\n", path);
		return EXIT_FAILED;
	}
	if (state_lock_take(path, 0, &lock, err, sizeof(err)) == BOT_EBUSY) {
		fprintf(stderr, "envbot: %s is in use: %s\n", path, err);
		return EXIT_FAILED;
	}
	if (ddb_state_read(s, &st, &missing, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "envbot: the table's state does not read: %s\n", err);
		goto out;
	}
	if (missing) {
		fprintf(stderr, "envbot: the table %s holds no state: nothing to copy\n",
			ddb_store_table(s));
		goto out;
	}
	if (state_save(st, path, err, sizeof(err)) != BOT_OK) {
		fprintf(stderr, "envbot: %s\n", err);
		goto out;
	}
	printf("copied the table %s (version %lld) into %s: %zu audit lines, %zu workflows in "
	       "flight\n",
	       ddb_store_table(s), (long long)ddb_store_version(s), path, state_audit_count(st),
	       state_wf_count(st));
	status = EXIT_OK;
out:
	state_destroy(st);
	state_lock_release(lock);
	return status;
}

int cli_migrate_state(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "to-table", no_argument, NULL, 't' },
					      { "to-file", no_argument, NULL, 'f' },
					      { "file", required_argument, NULL, 'p' },
					      { "force", no_argument, NULL, 'F' },
					      { 0, 0, 0, 0 } };
	int dir = 0, o;
	bool force = false;
	const char *path = NULL;
	optind = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 't' || o == 'f')
			dir = dir ? -1 : o;
		else if (o == 'p')
			path = optarg;
		else if (o == 'F')
			force = true;
		else
			return usage();
	}
	if (dir <= 0 || optind != argc)
		return usage();
	struct cfg *cfg = NULL;
	int status = cli_load_config(cli, &cfg);
	if (status != 0)
		return status;
	status = EXIT_USAGE;
	struct loop *loop = NULL;
	struct aws *aws = NULL;
	struct ddb_store *store = NULL;
	char err[512], owner[DDB_OWNER_MAX], host[64] = "host";
	if (!cfg->state_ddb) {
		fprintf(stderr,
			"envbot: %s has no state = { backend = \"dynamodb\"; table = ...; }\n",
			cfg->path);
		goto out;
	}
	status = EXIT_FAILED;
	if (!(loop = loop_create()))
		goto out;
	aws = aws_create(loop, cfg, err, sizeof(err));
	struct aws_target t = { .region = cfg->state_region };
	struct aws *table_aws = aws ? aws_for(aws, &t, err, sizeof(err)) : NULL;
	if (!table_aws) {
		fprintf(stderr, "envbot: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	/* DescribeTable first, on the loop: it waits for credentials that
	 * come from the network, and names a missing table plainly. */
	struct warm w = { .loop = loop };
	char req[400];
	snprintf(req, sizeof(req), "{\"TableName\":\"%s\"}", cfg->state_table);
	if (aws_call_json(table_aws, AWS_DDB, "DescribeTable", req, on_describe, &w) != BOT_OK ||
	    loop_run(loop) != 0)
		goto out;
	if (w.err.rc != BOT_OK) {
		fprintf(stderr, "envbot: table %s: %s\n", cfg->state_table,
			aws_err_str(&w.err, err, sizeof(err)));
		status = w.err.rc == BOT_EAUTH ? EXIT_AUTH : EXIT_FAILED;
		goto out;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(owner, sizeof(owner), "migrate-state@%.60s#%ld", host, (long)getpid());
	if (!(store = ddb_store_create(table_aws, cfg->state_table, owner, NULL)))
		goto out;
	if (!path)
		path = cfg->state_file;
	status = dir == 't' ? to_table(store, path, force) : to_file(store, path, force);
out:
	ddb_store_destroy(store);
	aws_destroy(aws);
	loop_destroy(loop);
	cfg_destroy(cfg);
	return status;
}
