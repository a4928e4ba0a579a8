/* SPDX-License-Identifier: MIT */
/*
 * Where a run's files go.  Nothing in the target directory is trusted: once
 * the measurements are over (also after a stopping signal), the run is
 * written into a fresh directory that mkdtemp makes beside it, each file
 * created there exclusively and never through a link, and that directory
 * is renamed into place.  So a SIGKILLed run leaves no files, a
 * reader never sees half a run, and a link planted where the run goes is
 * never followed: at most it is replaced (--force) or the run is refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define TMP_NAME ".ipcbench-run.XXXXXX"
#define RM_DEPTH 16 /* a run holds report/ at most; deeper is not ours to remove */

/* The names by which a directory is recognised as a run that --force may replace. */
static const char *const run_files[] = {"results.csv", "benchmarks.json", "env.json"};

/* Splits d->path into the parent (d->parent) and the last component (d->base). */
static int split_path(struct out_dir *d, const char *path)
{
	size_t n = strlen(path), room = PATH_MAX - sizeof("/" TMP_NAME);
	const char *p, *slash;

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (!n)
		return -EINVAL;
	if (n >= room)
		return -ENAMETOOLONG;
	memcpy(d->path, path, n);
	d->path[n] = '\0';
	for (p = d->path; *p; p = slash + 1) {
		slash = strchr(p, '/');
		if ((slash ? (size_t)(slash - p) : strlen(p)) > NAME_MAX)
			return -ENAMETOOLONG;
		if (!slash)
			break;
	}
	slash = strrchr(d->path, '/');
	p = slash ? slash + 1 : d->path;
	memcpy(d->base, p, strlen(p) + 1); /* at most NAME_MAX, checked above */
	if (!slash)
		snprintf(d->parent, sizeof(d->parent), ".");
	else if (slash == d->path)
		snprintf(d->parent, sizeof(d->parent), "/");
	else
		snprintf(d->parent, sizeof(d->parent), "%.*s", (int)(slash - d->path), d->path);
	if (!d->base[0] || !strcmp(d->base, ".") || !strcmp(d->base, ".."))
		return -EINVAL;
	return 0;
}

/* The directory @name in @dirfd, never through a link; NULL with errno set. */
static DIR *open_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), e;
	DIR *dir;

	if (fd < 0)
		return NULL;
	dir = fdopendir(fd);
	if (!dir) {
		e = errno;
		close(fd);
		errno = e;
	}
	return dir;
}

/* 0: empty; 1: holds a run; 2: holds something else; -errno. */
static int dir_kind(const char *path)
{
	DIR *dir = open_dir(AT_FDCWD, path);
	struct dirent *e;
	int kind = 0;

	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!kind)
			kind = 2;
		for (size_t i = 0; i < sizeof(run_files) / sizeof(run_files[0]); i++)
			if (!strcmp(e->d_name, run_files[i]))
				kind = 1;
	}
	closedir(dir);
	return kind;
}

int out_check(struct out_dir *d, const char *path, bool force, char *why, size_t len)
{
	struct stat st;
	int rc, kind;

	memset(d, 0, sizeof(*d));
	d->fd = d->pfd = -1;
	rc = split_path(d, path);
	if (rc == -ENAMETOOLONG) {
		snprintf(why, len, "a path under %d bytes with names under %d bytes",
			 PATH_MAX - (int)sizeof("/" TMP_NAME), NAME_MAX + 1);
		return rc;
	}
	if (rc) {
		snprintf(why, len, "a directory name (not empty, '.' or '..')");
		return rc;
	}
	if (lstat(d->path, &st) < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return 0;
		snprintf(why, len, "a directory that can be created and written (%s)",
			 strerror(-rc));
		return rc;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(why, len, "a directory, not a symbolic link (never followed)");
		return -ELOOP;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len, "a new directory or an empty one (this is not a directory)");
		return -ENOTDIR;
	}
	kind = dir_kind(d->path);
	if (kind < 0) {
		snprintf(why, len, "a directory that can be read (%s)", strerror(-kind));
		return kind;
	}
	if (kind == 2) {
		snprintf(why, len,
			 "a new or empty directory, or with --force one that holds an ipcbench "
			 "run (this holds other files)");
		return -ENOTEMPTY;
	}
	if (kind == 1 && !force) {
		snprintf(why, len,
			 "a new or empty directory; it holds a run: --force replaces it whole");
		return -EEXIST;
	}
	d->replace = kind == 1;
	return 0;
}

/* Makes a fresh directory in @parent (PATH_MAX bytes at @buf): 0 or -errno. */
static int tmp_path(char *buf, const char *parent)
{
	if (snprintf(buf, PATH_MAX, "%s/" TMP_NAME, parent) >= PATH_MAX)
		return -ENAMETOOLONG; /* split_path left room */
	return mkdtemp(buf) ? 0 : -errno;
}

/* mkdir -p of d->parent, remembering the first directory made for out_abort. */
static int make_parents(struct out_dir *d)
{
	char path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s", d->parent);
	for (p = path + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char end = *p;

		*p = '\0';
		if (mkdir(path, 0755) == 0) {
			if (!d->made[0])
				snprintf(d->made, sizeof(d->made), "%s", path);
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (!end)
			return 0;
		*p = '/';
	}
}

int out_create(struct out_dir *d, char *why, size_t len)
{
	char probe[PATH_MAX];
	int rc = make_parents(d);

	/* A fresh directory made and removed: the run's own can be made at the end. */
	if (!rc && !(rc = tmp_path(probe, d->parent)) && rmdir(probe))
		rc = -errno;
	if (!rc) {
		d->pfd = open(d->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = d->pfd < 0 ? -errno : 0;
	}
	if (rc) {
		snprintf(why, len, "a directory that can be created and written (%s)",
			 strerror(-rc));
		out_abort(d);
	}
	return rc;
}

int out_begin(struct out_dir *d, char *why, size_t len)
{
	char tmp[PATH_MAX];
	struct stat st;
	int rc = tmp_path(tmp, d->parent);

	if (!rc) {
		snprintf(d->tmp, sizeof(d->tmp), "%s", strrchr(tmp, '/') + 1);
		d->fd = openat(d->pfd, d->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		rc = d->fd < 0 ? -errno : 0;
	}
	/* Swapped for something else in a world-writable parent: not ours. */
	if (!rc && (fstat(d->fd, &st) || st.st_uid != geteuid() || (st.st_mode & 077)))
		rc = -EPERM;
	if (rc) {
		snprintf(why, len, "%s: %s", d->parent, strerror(-rc));
		if (d->fd >= 0)
			close(d->fd);
		d->fd = -1;
		if (d->tmp[0])
			unlinkat(d->pfd, d->tmp, AT_REMOVEDIR);
		d->tmp[0] = '\0';
	}
	return rc;
}

int out_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	return fd < 0 ? -errno : fd;
}

/* Removes @name in @at and all below it, never following a link. */
static int rm_tree(int at, const char *name, int depth)
{
	struct dirent *e;
	DIR *dir;
	int rc = 0;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth >= RM_DEPTH)
		return -ELOOP;
	dir = open_dir(at, name);
	if (!dir)
		return -errno;
	while (!rc && (e = readdir(dir)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = rm_tree(dirfd(dir), e->d_name, depth + 1);
	closedir(dir);
	if (!rc && unlinkat(at, name, AT_REMOVEDIR))
		rc = -errno;
	return rc;
}

void out_abort(struct out_dir *d)
{
	char path[PATH_MAX], *slash;

	if (d->fd >= 0)
		close(d->fd);
	if (d->pfd >= 0 && d->tmp[0])
		rm_tree(d->pfd, d->tmp, 0);
	if (d->pfd >= 0)
		close(d->pfd);
	d->fd = d->pfd = -1;
	d->tmp[0] = '\0';
	/* The parents we made, deepest first, up to the first one made. */
	snprintf(path, sizeof(path), "%s", d->parent);
	while (d->made[0] && strlen(path) >= strlen(d->made)) {
		if (rmdir(path))
			break;
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	d->made[0] = '\0';
}

/*
 * Swaps the new run in for the old one, then removes the old one: exchanged
 * in one step, or where the file system cannot, renamed aside first.  Once
 * the new run is in place, an old file that will not go is left (hidden).
 */
static int replace_run(struct out_dir *d)
{
	char aside[PATH_MAX], *name;
	int rc;

	if (renameat2(d->pfd, d->tmp, d->pfd, d->base, RENAME_EXCHANGE) == 0) {
		rm_tree(d->pfd, d->tmp, 0); /* d->tmp names the old run now */
		return 0;
	}
	if (errno == ENOENT) /* the old run went meanwhile */
		return renameat(d->pfd, d->tmp, d->pfd, d->base) ? -errno : 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	rc = tmp_path(aside, d->parent);
	if (rc)
		return rc;
	name = strrchr(aside, '/') + 1;
	/* Renaming a directory over an empty one replaces it. */
	if (renameat(d->pfd, d->base, d->pfd, name)) {
		rc = -errno;
		unlinkat(d->pfd, name, AT_REMOVEDIR);
		return rc;
	}
	if (renameat(d->pfd, d->tmp, d->pfd, d->base)) {
		rc = -errno;
		renameat(d->pfd, name, d->pfd, d->base); /* the old run back */
		return rc;
	}
	rm_tree(d->pfd, name, 0);
	return 0;
}

int out_commit(struct out_dir *d)
{
	mode_t mask = umask(0);
	int rc;

	umask(mask);
	/* mkdtemp made it 0700; a run is as readable as any directory the user makes. */
	if (fchmod(d->fd, 0755 & ~mask))
		return -errno;
	if (d->replace)
		rc = replace_run(d);
	else
		rc = renameat(d->pfd, d->tmp, d->pfd, d->base) ? -errno : 0;
	if (rc)
		return rc;
	close(d->fd);
	close(d->pfd);
	d->fd = d->pfd = -1;
	d->tmp[0] = d->made[0] = '\0';
	return 0;
}

int out_write(struct out_dir *d, const char *what, int (*write)(int fd, void *ctx), void *ctx)
{
	char why[PATH_MAX + 64];
	int rc = out_begin(d, why, sizeof(why));

	if (rc) {
		fprintf(stderr, "ipcbench: writing %s to %s: %s\n", what, d->path, why);
		return rc;
	}
	rc = write(d->fd, ctx);
	if (!rc)
		rc = out_commit(d);
	if (rc)
		fprintf(stderr, "ipcbench: writing %s to %s: %s; what was written is in %s/%s\n",
			what, d->path, strerror(-rc), d->parent, d->tmp);
	return rc;
}
