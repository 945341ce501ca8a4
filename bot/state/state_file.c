/* The state file: the atomic save (tmp + fsync + .bak + rename + directory
 * fsync) and the recovering load (the .bak when the file is missing or
 * corrupt, the corrupt file moved aside). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/log.h"
#include "state.h"
#include "state_internal.h"

/* The state file is ours and small (the default audit of 1000 lines is a few
 * hundred KB); anything far larger is not a state file. */
#define STATE_FILE_MAX ((size_t)256 << 20)

/* ------------------------------------------------------------------- files */

/* Reads a whole file into a new NUL-terminated string (caller frees).
 * Returns 0, or -1 with errno set (EFBIG when the text and its NUL would
 * not stay below STATE_FILE_MAX). */
static int read_file(const char *path, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct buf b = { 0 };
	char chunk[8192];
	int rc = -1, saved = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			goto out;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n + 1 >= STATE_FILE_MAX) {
			saved = EFBIG;
			goto out;
		}
		buf_add(&b, chunk, (size_t)n);
		if (b.oom) {
			saved = ENOMEM;
			goto out;
		}
	}
	size_t len = b.len;
	char *text = buf_take(&b);
	if (!text) {
		saved = ENOMEM;
		goto out;
	}
	*out = text;
	*outlen = len;
	rc = 0;
out:
	buf_free(&b);
	close(fd);
	if (rc < 0)
		errno = saved;
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies src to dst (created 0600, fsynced): the .bak fallback when the file
 * system refuses hard links. */
static int copy_file(const char *src, const char *dst)
{
	char *data = NULL;
	size_t len = 0;
	if (read_file(src, &data, &len) < 0)
		return -1;
	int rc = -1;
	int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		rc = write_all(fd, data, len) == 0 && fsync(fd) == 0 ? 0 : -1;
		if (close(fd) != 0)
			rc = -1;
	}
	free(data);
	return rc;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	state_copy_text(dir, sizeof(dir), path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

enum bot_rc state_save(const struct state *st, const char *path, char *err, size_t errlen)
{
	enum bot_rc rc = BOT_ENOMEM;
	char tmp[PATH_MAX], bak[PATH_MAX], baktmp[PATH_MAX];
	int fd = -1;
	bool tmp_made = false;
	struct stat sb;
	char *json = state_dump(st);
	if (!json) {
		state_set_err(err, errlen, "out of memory encoding the state");
		goto out;
	}
	rc = BOT_EINVAL;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) ||
	    (size_t)snprintf(bak, sizeof(bak), "%s.bak", path) >= sizeof(bak) ||
	    (size_t)snprintf(baktmp, sizeof(baktmp), "%s.bak.tmp", path) >= sizeof(baktmp)) {
		state_set_err(err, errlen, "state file path too long");
		goto out;
	}

	rc = BOT_EIO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		state_set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	tmp_made = true;
	/* A tmp left by a crash may have another mode; the state names users. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, json, strlen(json)) != 0 ||
	    write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
		state_set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	int cr = close(fd);
	fd = -1;
	if (cr != 0) {
		state_set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}

	/* The current file becomes .bak: a hard link costs nothing and is the
	 * exact bytes; it goes through .bak.tmp so that .bak is always whole. */
	if (lstat(path, &sb) == 0) {
		if (!S_ISREG(sb.st_mode)) {
			state_set_err(err, errlen, "%s is not a regular file", path);
			goto out;
		}
		if (unlink(baktmp) != 0 && errno != ENOENT) {
			state_set_err(err, errlen, "cannot remove %s: %s", baktmp, strerror(errno));
			goto out;
		}
		if (link(path, baktmp) != 0 && copy_file(path, baktmp) != 0) {
			state_set_err(err, errlen, "cannot keep %s as %s: %s", path, bak,
				      strerror(errno));
			unlink(baktmp);
			goto out;
		}
		if (rename(baktmp, bak) != 0) {
			state_set_err(err, errlen, "cannot keep %s as %s: %s", path, bak,
				      strerror(errno));
			unlink(baktmp);
			goto out;
		}
	} else if (errno != ENOENT) {
		state_set_err(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}

	if (rename(tmp, path) != 0) {
		state_set_err(err, errlen, "cannot rename %s to %s: %s", tmp, path,
			      strerror(errno));
		goto out;
	}
	tmp_made = false;
	/* Without this the rename itself may not survive a power cut. */
	if (fsync_dir_of(path) != 0) {
		state_set_err(err, errlen, "cannot fsync the directory of %s: %s", path,
			      strerror(errno));
		goto out;
	}
	rc = BOT_OK;
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlink(tmp);
	free(json);
	return rc;
}

/* Loads one file. BOT_ENOTFOUND when it does not exist (a local meaning
 * inside this file only; never returned by state_load). */
static enum bot_rc load_one(const char *path, struct state **out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	if (read_file(path, &text, &len) < 0) {
		if (errno == ENOENT)
			return BOT_ENOTFOUND;
		state_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return BOT_EIO;
	}
	if (len == 0 || strlen(text) != len) {
		free(text);
		state_set_err(err, errlen, len == 0 ? "empty file" : "NUL bytes in the file");
		return BOT_EPARSE;
	}
	enum bot_rc rc = state_parse(text, out, err, errlen);
	free(text);
	return rc;
}

/* <path>.corrupt-<UTC stamp>[-N], a name nothing exists at. */
static int corrupt_name(const char *path, char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int n = 1; n < 1000; n++) {
		int w = n == 1 ? snprintf(buf, len, "%s.corrupt-%s", path, stamp)
			       : snprintf(buf, len, "%s.corrupt-%s-%d", path, stamp, n);
		if (w < 0 || (size_t)w >= len)
			return -1;
		struct stat sb;
		if (lstat(buf, &sb) != 0 && errno == ENOENT)
			return 0;
	}
	return -1;
}

static enum bot_rc load_impl(const char *path, bool readonly, struct state **out,
			     struct state_load_info *info, char *err, size_t errlen)
{
	struct state_load_info dummy;
	char why[256] = "", bakwhy[256] = "", bak[PATH_MAX], aside[512];
	struct state *st = NULL, *bst = NULL;
	enum bot_rc rc;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	*out = NULL;
	if ((size_t)snprintf(bak, sizeof(bak), "%s.bak", path) >= sizeof(bak)) {
		state_set_err(err, errlen, "state file path too long");
		return BOT_EINVAL;
	}

	rc = load_one(path, &st, why, sizeof(why));
	if (rc == BOT_OK) {
		*out = st;
		return BOT_OK;
	}
	if (rc == BOT_EIO || rc == BOT_ENOMEM || rc == BOT_EINVAL) {
		state_set_err(err, errlen, "%s: %s", path, why);
		return rc;
	}

	enum bot_rc brc = load_one(bak, &bst, bakwhy, sizeof(bakwhy));
	if (rc == BOT_ENOTFOUND) {
		if (brc == BOT_ENOTFOUND) {
			*out = state_create();
			info->missing = true;
			return *out ? BOT_OK : BOT_ENOMEM;
		}
		if (brc != BOT_OK) {
			state_set_err(err, errlen, "%s is missing and %s is unusable (%s)", path,
				      bak, bakwhy);
			return brc == BOT_ENOMEM ? BOT_ENOMEM : BOT_EPARSE;
		}
		/* Only our own save creates .bak, and it never removes path:
		 * something deleted the state. Do not quietly forget it. */
		log_error("state",
			  "msg=\"state file missing; loading the last good copy\" "
			  "path=\"%s\" bak=\"%s\"",
			  path, bak);
		info->recovered = true;
		snprintf(info->reason, sizeof(info->reason), "%s was missing", path);
		*out = bst;
		return BOT_OK;
	}

	/* path is corrupt. */
	if (brc != BOT_OK) {
		state_destroy(bst);
		state_set_err(
			err, errlen,
			"%s is corrupt (%s) and there is no usable last good copy %s (%s); "
			"nothing was changed: move the file aside to start with an empty state",
			path, why, bak, brc == BOT_ENOTFOUND ? "missing" : bakwhy);
		return brc == BOT_ENOMEM ? BOT_ENOMEM : BOT_EPARSE;
	}
	if (readonly) {
		log_error("state",
			  "msg=\"state file corrupt; using the last good copy (read-only: "
			  "nothing moved)\" path=\"%s\" reason=\"%s\" loaded=\"%s\"",
			  path, why, bak);
		info->recovered = true;
		state_copy_text(info->reason, sizeof(info->reason), why);
		*out = bst;
		return BOT_OK;
	}
	/* Keep the bad file for whoever investigates; the next save must not
	 * turn it into .bak (it would replace the good copy). */
	if (corrupt_name(path, aside, sizeof(aside)) < 0 || rename(path, aside) != 0) {
		state_destroy(bst);
		state_set_err(err, errlen, "%s is corrupt (%s) and could not be moved aside: %s",
			      path, why, strerror(errno));
		return BOT_EIO;
	}
	log_error("state",
		  "msg=\"state file corrupt; moved aside and loaded the last good copy\" "
		  "path=\"%s\" reason=\"%s\" moved_to=\"%s\" loaded=\"%s\"",
		  path, why, aside, bak);
	info->recovered = true;
	state_copy_text(info->corrupt_path, sizeof(info->corrupt_path), aside);
	state_copy_text(info->reason, sizeof(info->reason), why);
	*out = bst;
	return BOT_OK;
}

enum bot_rc state_load(const char *path, struct state **out, struct state_load_info *info,
		       char *err, size_t errlen)
{
	return load_impl(path, false, out, info, err, errlen);
}

enum bot_rc state_load_readonly(const char *path, struct state **out, struct state_load_info *info,
				char *err, size_t errlen)
{
	return load_impl(path, true, out, info, err, errlen);
}
