/* SPDX-License-Identifier: MIT */
/*
 * Private to libipcq: names and lifetimes of named objects (registry.c).
 * Backends include this where their objects have names or records.
 */
#ifndef IPCQ_REGISTRY_PVT_H
#define IPCQ_REGISTRY_PVT_H

#include "ipcq_pvt.h"

struct ipcq_reg_ops;
struct ipcq_reg_dir;

/*
 * The user's private libipcq directory (0700, owned by us, not a symlink),
 * created when missing: $XDG_RUNTIME_DIR/ipcq when set and usable, else
 * /tmp/ipcq-<uid>; when that one is not ours alone (another user made it
 * first), the fallback /tmp/ipcq-<uid>.XXXXXX of ours that every process of
 * this user finds (registry.c says how).  Returns 0 (the usual one), 1 (the
 * fallback; @why, when not NULL, says why), or -errno.
 */
int __ipcq_private_base(char *buf, size_t len, char *why, size_t why_len);

/*
 * The subdirectory @sub (also 0700) of __ipcq_private_base(), or that
 * directory itself for @sub NULL.  Returns 0 or -errno (-EPERM when an
 * existing subdirectory is not safely ours).
 */
int __ipcq_private_dir(char *buf, size_t len, const char *sub);

/* @buf: the file @prefix@leaf of the private subdirectory @sub; 0 or -errno. */
int __ipcq_private_file(char *buf, size_t len, const char *sub, const char *prefix,
			const char *leaf);

/*
 * Opens the subdirectory @sub of the private directory and takes its flock()
 * (LOCK_EX, waiting): serializes the name operations of a backend (create,
 * unlink, clean) with no lock file left behind.  Returns the descriptor (close
 * it to unlock) or -errno.
 */
int __ipcq_dir_lock(const char *sub);

/*
 * An OFD lock of the whole file @fd (owned by the open file description, so
 * shared across fork, dropped with its last descriptor, SIGKILL included):
 * the backends' reference counts are read locks of a record.  Returns 0,
 * -EAGAIN or -EACCES (held; @wait false), or -errno.
 */
int __ipcq_ofd_lock(int fd, short type, bool wait);

/*
 * 0 when no other open file description holds a lock on @fd: no handle is
 * left.  With @take, the write lock is then ours (and openers wait on it).
 * Returns 0, -EAGAIN (held), or -errno.
 */
int __ipcq_ofd_unheld(int fd, bool take);

/*
 * The creator record of a named queue (pipe, mqueue): our pid and its start
 * time, and @ino, the inode of the object it describes (0: none), written
 * into @fd; read back by __ipcq_creator_read() (-EBADMSG when it is not one).
 */
/* pread() of a small text file from its start into @buf, NUL-terminated: its length or -errno. */
ssize_t __ipcq_read_text(int fd, char *buf, size_t len);

int __ipcq_creator_write(int fd, unsigned long long ino);
int __ipcq_creator_read(int fd, pid_t *pid, unsigned long long *start, unsigned long long *ino);

/* What the clean functions of the backends pass along. */
struct ipcq_clean_ctx {
	bool remove; /* ipcq_clean_named(): remove what is listed */
	ipcq_clean_fn fn;
	void *ctx;
	const char *dir;		 /* set by __ipcq_private_each(): the directory's path */
	const struct ipcq_reg_ops *reg;	 /* __ipcq_reg_clean_named(): whose records */
	const struct ipcq_reg_dir *dreg; /* __ipcq_reg_dir_clean*(): whose directories */
};

/*
 * Runs @one(dfd, leaf, @c) for each entry of the private subdirectory @sub
 * whose name starts with @prefix (names starting with '.' only when @prefix
 * does), holding the directory's lock (__ipcq_dir_lock()) when @lock.
 * Returns the sum of what @one returned, or -errno.
 */
ssize_t __ipcq_private_each(const char *sub, const char *prefix, bool lock,
			    int (*one)(int dfd, const char *leaf, const struct ipcq_clean_ctx *c),
			    struct ipcq_clean_ctx *c);

/* 0 when @fd is owned by us and closed to group and others, else -EACCES (or -errno). */
int __ipcq_fd_ours(int fd);

/* open(@path, @flags | O_CLOEXEC | O_NOFOLLOW) of a file of ours alone: a descriptor or -errno. */
int __ipcq_open_ours(const char *path, int flags);

/*
 * Start time of process @pid in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), or 0 when there is no such process.  A (pid, start time)
 * pair names a process even after the pid is reused.
 */
unsigned long long __ipcq_proc_start(pid_t pid);

/* True when the process @pid that started at @start (0: any) still runs. */
bool __ipcq_proc_alive(pid_t pid, unsigned long long start);

/* Exclusive create and removal: temporary names --------------------------- */

/*
 * @buf: ".<kind>-<pid>-<start>-<16 random hex digits>", a name that queue
 * names never take (they cannot start with '.') and that tells who made it:
 * objects are built under it and renamed into place (RENAME_NOREPLACE or
 * rename over a file of ours), or renamed to it to be removed.  0 or -errno.
 */
int __ipcq_reg_tmp_name(char *buf, size_t len, const char *kind);

/*
 * True when @leaf is a temporary name of @kind (also the older form
 * ".<kind>-<pid>-<random>") whose process is gone: what it names was left
 * by a process killed in the middle.  *@pid: that process.
 */
bool __ipcq_reg_tmp_left(const char *leaf, const char *kind, pid_t *pid);

/*
 * Creates the temporary file __ipcq_reg_tmp_name(@kind) in the private
 * subdirectory @sub, 0600 whatever the umask; its path in @tmp.  Returns the
 * descriptor or -errno.  A creator killed before renaming it away leaves it
 * to its backend's clean (__ipcq_reg_tmp_left() tells).
 */
int __ipcq_reg_tmp_file(const char *sub, const char *kind, char *tmp, size_t len);

/* Writes @text into @fd, the temporary file @tmp, and renames it to @path: 0 or -errno. */
int __ipcq_reg_publish(int fd, const char *tmp, const char *path, const char *text);

/* Publishes @text as @path of @sub: a temporary file (".new-") renamed into place. */
int __ipcq_reg_file_publish(const char *sub, const char *path, const char *text);

/* Named objects in a namespace of their own (POSIX mqueue, /dev/shm) ------- */

/*
 * Such a backend keeps a creator record for each named object,
 * <private dir>/<sub>/n.<name> (0600): the creator's pid and start time and
 * the object's inode, which ipcq_clean_named() reads; every handle holds an
 * OFD read lock on it, which tells that nobody holds the object.  Records
 * are made, removed and cleaned under the flock() of that directory, so that
 * a name's record is always its object's; an opener takes its read lock
 * while a remover's write lock waits, then finds the record unlinked.
 */
struct ipcq_reg_ops {
	const char *backend; /* reported to ipcq_clean_named()'s callback */
	const char *sub;     /* the private subdirectory of the records */
	const char *kind;    /* what a report calls one: "POSIX queue" */
	/* The object's path in its namespace ("/ipcq.n.<name>"); 0 or -errno. */
	int (*path)(char *buf, size_t len, const char *name);
	/* Opens the object at @path to look at it: a descriptor, or -errno (-ENOENT: none). */
	int (*look)(const char *path);
	/* Removes the object at @path; 0 or -errno. */
	int (*remove)(const char *path);
};

/*
 * Makes the object @name: @make(@arg) returns a descriptor of the new
 * object (the caller's to keep and close) or -errno.  Its record is written
 * before, so that a creator killed at any instant leaves one, and the
 * object's inode noted after.  Returns 0 with the handle's reference in
 * *@lock_fd, -EEXIST when @name exists, or -errno; when @make succeeded
 * and the record then failed, the object is removed again (the caller
 * still closes its descriptors).
 */
int __ipcq_reg_create(const struct ipcq_reg_ops *r, const char *name, int (*make)(void *arg),
		      void *arg, int *lock_fd);

/*
 * An opener's reference to @name, whose object it opened as @obj_fd: the
 * read lock of its record in *@lock_fd, -1 when it has none (made by an
 * earlier libipcq).  Returns 0, or -ENOENT when a remover took the object
 * while we waited.
 */
int __ipcq_reg_hold(const struct ipcq_reg_ops *r, const char *name, int obj_fd, int *lock_fd);

/*
 * Removes the object @name and its record: 0, -ENOENT, -EACCES (the object
 * or its record not ours alone: the rule of every backend's unlink), -errno.
 */
int __ipcq_reg_unlink(const struct ipcq_reg_ops *r, const char *name);

/* ipcq_clean_named() of such a backend: objects of dead creators that nobody holds. */
ssize_t __ipcq_reg_clean_named(const struct ipcq_reg_ops *r, bool remove, ipcq_clean_fn fn,
			       void *ctx);

/* Named objects that are a directory of files of ours (pipe) -------------- */

/*
 * <private dir>/<sub>/<name>/ holds the object's files (@leaves) and a
 * "creator" record; every handle read-locks the file @ref.  Such a directory
 * is built under a temporary name and renamed into place (RENAME_NOREPLACE),
 * and renamed away to be removed, so that openers see all of it or nothing.
 */
struct ipcq_reg_dir {
	const char *backend;	   /* reported to the clean callbacks */
	const char *sub;	   /* the private subdirectory */
	const char *kind;	   /* what a report calls one: "named pipe queue" */
	const char *const *leaves; /* the object's files, NULL-terminated ("creator" too) */
	const char *ref;	   /* the leaf each handle holds an OFD read lock on */
};

/* <private dir>/<sub>, open (O_NOFOLLOW: checked to be ours); or -errno. */
int __ipcq_reg_dir_base(const struct ipcq_reg_dir *r);

/*
 * The directory of the object @name, open (O_NOFOLLOW), it and each of its
 * leaves checked to be ours alone: a descriptor, -ENOENT (none, or not a
 * directory), -EACCES (another user's, or open to others), or -errno.
 */
int __ipcq_reg_dir_open(const struct ipcq_reg_dir *r, const char *name);

/*
 * Makes the object @name: @build(dfd, @arg) fills its fresh directory
 * (0700) and returns 0 or -errno, then the creator record is written and
 * the directory renamed into place.  Returns 0, -EEXIST, or -errno; a
 * failure after @build succeeded is the caller's to undo (its descriptors),
 * the directory is gone in every failure.
 */
int __ipcq_reg_dir_create(const struct ipcq_reg_dir *r, const char *name,
			  int (*build)(int dfd, void *arg), void *arg);

/*
 * Removes the object @name (renamed away first): 0, -ENOENT, -EACCES (the
 * directory or one of its files not ours alone), or -errno.
 */
int __ipcq_reg_dir_unlink(const struct ipcq_reg_dir *r, const char *name);

/* ipcq_clean(): temporary directories of processes killed in a create or unlink. */
ssize_t __ipcq_reg_dir_clean(const struct ipcq_reg_dir *r, ipcq_clean_fn fn, void *ctx);

/* ipcq_clean_named(): objects of dead creators that no handle holds. */
ssize_t __ipcq_reg_dir_clean_named(const struct ipcq_reg_dir *r, bool remove, ipcq_clean_fn fn,
				   void *ctx);

#endif /* IPCQ_REGISTRY_PVT_H */
