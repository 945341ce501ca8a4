/* EC2 calls (ec2 protocol, XML): instances selected by a tag over all
 * DescribeInstances pages, and StartInstances/StopInstances in batches of 50.
 * Calling convention, ownership and errors: see aws.h. */
#ifndef ENVBOT_EC2_H
#define ENVBOT_EC2_H

#include "aws.h"

#define EC2_BATCH 50 /* instance ids per Start/StopInstances request */

struct ec2_instance {
	const char *id;
	const char *state; /* pending, running, stopping, stopped, shutting-down */
	const char *type;
	const char *name;     /* tag Name, "" if none */
	const char *asg_name; /* tag aws:autoscaling:groupName, "" if none */
	bool in_asg;          /* managed by an Auto Scaling group: start/stop it there */
	const char *launch_time;
	/* AWS's own word on the last state change (stateReason), "" if none:
	 * reason_code "Client.InternalError"; reason the code and the message
	 * as one line, "Client.InternalError: Client error on launch" (EC2's
	 * messages mostly repeat the code already; it is not doubled). */
	const char *reason_code;
	const char *reason;
	bool hibernation; /* HibernationOptions.Configured: StopInstances may hibernate it */
	const struct aws_tag *tags; /* every tag, as DescribeInstances gave them */
	size_t n_tags;
};

struct ec2_instances {
	const struct ec2_instance *v; /* terminated instances are skipped */
	size_t n;
	size_t n_asg; /* how many of v have in_asg */
	size_t n_pages;
};
typedef void (*ec2_instances_fn)(void *arg, const struct aws_err *err,
				 const struct ec2_instances *list);
/* Instances with tag key=value, every state but terminated. */
enum bot_rc ec2_describe_by_tag(struct aws *aws, const char *key, const char *value,
				ec2_instances_fn cb, void *arg);

struct ec2_state_change {
	const char *id;
	const char *previous; /* state name */
	const char *current;
};
struct ec2_changes {
	const struct ec2_state_change *v;
	size_t n;
};
/* Batches of EC2_BATCH ids; the callback runs once after every batch
 * succeeded (changes of all batches), or at the first failed batch (batches
 * already sent are not undone; changes is NULL). n == 0 succeeds at once. */
typedef void (*ec2_changes_fn)(void *arg, const struct aws_err *err,
			       const struct ec2_changes *changes);
enum bot_rc ec2_start_instances(struct aws *aws, const char *const *ids, size_t n,
				ec2_changes_fn cb, void *arg);
enum bot_rc ec2_stop_instances(struct aws *aws, const char *const *ids, size_t n, ec2_changes_fn cb,
			       void *arg);
/* StopInstances with Hibernate=true. EC2 refuses the whole request
 * (UnsupportedHibernationConfiguration) when one of them cannot hibernate. */
/* The regions enabled in the account (DescribeRegions without AllRegions),
 * names only, sorted. */
struct ec2_regions {
	const char *const *v;
	size_t n;
};
typedef void (*ec2_regions_fn)(void *arg, const struct aws_err *err, const struct ec2_regions *r);
enum bot_rc ec2_describe_regions(struct aws *aws, ec2_regions_fn cb, void *arg);

enum bot_rc ec2_hibernate_instances(struct aws *aws, const char *const *ids, size_t n,
				    ec2_changes_fn cb, void *arg);

#endif
