/* SPDX-License-Identifier: MIT */
/*
 * The keeper of a named socket queue (sock_pvt.h): a socket has no name
 * that another process could open, so a small process holds the pair while
 * the queue's name lives and hands it to openers over SCM_RIGHTS, the way
 * Python's multiprocessing Manager serves queues to pool workers.
 *
 * - It listens on "sock" in the queue's directory (0600 in a 0700 directory
 *   of ours), reached as /proc/self/fd/<dir>/sock: sun_path has 108 bytes,
 *   the private directory's path may not fit.
 * - Both sides check the other with SO_PEERCRED: only our user's processes
 *   get the pair, and an opener takes it only from a keeper of ours.
 * - It goes when the directory's files go (inotify IN_DELETE: its own bound
 *   socket pins the directory, so IN_DELETE_SELF would never come; the
 *   files of a queue are only ever removed with it): ipcq_unlink(),
 *   ipcq_clean_named(), and ipcq_clean() of a creator killed mid-create all
 *   remove directories; ipcq_unlink() also tells it ("q") and waits for it,
 *   so that nothing is left when unlink returns.  It holds no lock of the
 *   queue, so it is no handle: a queue only it holds is what
 *   ipcq_clean_named() lists when its creator died.
 * - It is a grandchild (raw clone, no SIGCHLD, invisible to wait(-1)), so
 *   that no program of ours has a child it did not make, and keeps no
 *   descriptor of its creator but the ones it serves: a test harness
 *   waiting for EOF on a pipe is not held up.  After the clone it makes
 *   system calls only (async-signal-safe), whatever threads the creator had.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sock_pvt.h"

#define KEEPER_WAIT_MS 5000 /* an opener or a remover waits this long for the keeper */
#define PEER_WAIT_MS   1000 /* the keeper waits this long for a peer's command */

/* "/proc/self/fd/<dfd>/sock" */
static int sock_addr(int dfd, struct sockaddr_un *a, socklen_t *len)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/sock", dfd);
	if (n < 0 || (size_t)n >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

/* True when the peer of @fd is of our user; its pid (the keeper's: it listened) in *@pid. */
static bool peer_ours(int fd, pid_t *pid)
{
	struct ucred c;
	socklen_t l = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &l) < 0 || c.uid != geteuid())
		return false;
	if (pid)
		*pid = c.pid;
	return true;
}

static bool wait_in(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	return r > 0;
}

static void send_fds(int c, const int fds[2])
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} u;
	char tag = 'p';
	struct iovec iov = {&tag, 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);

	memset(u.buf, 0, sizeof(u.buf));
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(h), fds, 2 * sizeof(int));
	while (sendmsg(c, &m, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EINTR)
		;
}

/* Closes every descriptor but the @n in @keep (sorted, ascending). */
static void close_others(const int *keep, int n)
{
	unsigned lo = 0;

	for (int i = 0; i < n; i++) {
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0U);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0U);
}

static unsigned long hex(const char **p)
{
	unsigned long v = 0;

	for (;; (*p)++) {
		char c = **p;
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
						    : 16;
		if (d == 16)
			return v;
		v = v * 16 + d;
	}
}

/*
 * Unmaps every shared mapping the clone copied from its creator: a mapped
 * file keeps its open file description, and with it the OFD read locks
 * that say a handle holds a queue (the creator's "meta" of this queue and
 * of any other), alive as long as we live.  Private mappings (code, heap,
 * stack) hold no queue's file.  Static buffers: no malloc after a clone.
 */
static void unmap_shared(void)
{
	static char buf[8192];
	static unsigned long lo[4096], hi[4096];
	size_t have = 0, n = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return;
	while ((r = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *line = buf, *nl;

		have += (size_t)r;
		buf[have] = '\0';
		while ((nl = strchr(line, '\n')) && n < 4096) {
			const char *p = line;
			unsigned long a = hex(&p), b = (p++, hex(&p));

			/* "lo-hi rw-s ...": the fourth permission letter says shared */
			if (p[0] == ' ' && p[1] && p[2] && p[3] && p[4] == 's') {
				lo[n] = a;
				hi[n++] = b;
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
	}
	close(fd);
	for (size_t i = 0; i < n; i++)
		munmap((void *)lo[i], hi[i] - lo[i]);
}

/*
 * The keeper's life: listen (so that SO_PEERCRED names us, not our
 * creator), say so on @ready, serve openers until the directory's files go
 * or "q" comes.
 */
static __attribute__((noreturn)) void keeper(int ls, int in, const int fds[2], int ready)
{
	struct pollfd p[2] = {{.fd = ls, .events = POLLIN}, {.fd = in, .events = POLLIN}};
	int keep[5] = {ls, in, fds[0], fds[1], ready};
	sigset_t all;

	/* Sort them (insertion): close_others wants them in order. */
	for (int i = 1; i < 5; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	close_others(keep, 5);
	unmap_shared();
	setsid(); /* no terminal's signals: the queue lives until unlinked */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL); /* only SIGKILL ends us early */
	prctl(PR_SET_NAME, "ipcq-keeper", 0, 0, 0);
	if (listen(ls, 64) < 0 || write(ready, "k", 1) != 1)
		_exit(1);
	close(ready);
	for (;;) {
		char cmd = 0;
		int c;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break; /* the directory is gone (or inotify failed: go too) */
		if (!(p[0].revents & POLLIN))
			continue;
		c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		if (peer_ours(c, NULL) && wait_in(c, PEER_WAIT_MS) && read(c, &cmd, 1) == 1) {
			if (cmd == 'o')
				send_fds(c, fds);
			if (cmd == 'q')
				break; /* c goes with us: the remover sees EOF */
		}
		close(c);
	}
	_exit(0);
}

struct keeper_arg {
	int ls, in, ready[2];
	const int *fds;
};

/* The intermediate child: clones the keeper and exits, so that init adopts it. */
static int spawn_keeper(struct keeper_arg *k)
{
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0UL);

	if (pid == 0)
		keeper(k->ls, k->in, k->fds, k->ready[1]);
	_exit(pid < 0 ? 1 : 0);
}

int __ipcq_keeper_start(int dfd, const int fds[2])
{
	struct keeper_arg k = {.fds = fds, .ready = {-1, -1}};
	struct sockaddr_un a;
	socklen_t alen;
	char dir[40];
	int ret, status;
	long pid;

	ret = sock_addr(dfd, &a, &alen);
	if (ret < 0)
		return ret;
	k.ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k.ls < 0)
		return -errno;
	/* The umask decides bind's mode; the 0700 directory keeps others out meanwhile. */
	if (bind(k.ls, (struct sockaddr *)&a, alen) < 0 || fchmodat(dfd, "sock", 0600, 0) < 0 ||
	    pipe2(k.ready, O_CLOEXEC) < 0) {
		ret = -errno;
		close(k.ls);
		return ret;
	}
	snprintf(dir, sizeof(dir), "/proc/self/fd/%d", dfd);
	k.in = inotify_init1(IN_CLOEXEC);
	if (k.in < 0 || inotify_add_watch(k.in, dir, IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR) < 0) {
		ret = -errno;
		goto out;
	}
	/* Exit signal 0: no SIGCHLD for a child the program did not make. */
	pid = syscall(SYS_clone, 0UL, NULL, NULL, NULL, 0UL);
	if (pid == 0)
		spawn_keeper(&k);
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	while (waitpid((pid_t)pid, &status, __WCLONE) < 0 && errno == EINTR)
		;
	ret = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EAGAIN;
	/* Listening once it says so; EOF: it died first. */
	close(k.ready[1]);
	k.ready[1] = -1;
	if (!ret) {
		char c;
		ssize_t n;

		while ((n = read(k.ready[0], &c, 1)) < 0 && errno == EINTR)
			;
		ret = n == 1 ? 0 : -EAGAIN;
	}
out:
	for (int i = 0; i < 2; i++)
		if (k.ready[i] >= 0)
			close(k.ready[i]);
	if (k.in >= 0)
		close(k.in);
	close(k.ls);
	return ret;
}

/*
 * Connects to the keeper of @dfd and sends @cmd; the connection or -errno.
 * With @pidfd, a pidfd of the keeper first (-1 where there is none), taken
 * while it surely runs: it answers us.
 */
static int keeper_call(int dfd, char cmd, int *pidfd)
{
	pid_t pid = 0;
	struct sockaddr_un a;
	struct stat st;
	socklen_t alen;
	int c, ret;

	ret = sock_addr(dfd, &a, &alen);
	if (ret < 0)
		return ret;
	if (fstatat(dfd, "sock", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
		return -EACCES;
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -errno;
	while ((ret = connect(c, (struct sockaddr *)&a, alen)) < 0 && errno == EINTR)
		;
	if (ret < 0)
		ret = errno == ECONNREFUSED ? -ENOENT : -errno;
	else if (!peer_ours(c, &pid))
		ret = -EACCES;
	if (!ret && pidfd)
		*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (!ret && send(c, &cmd, 1, MSG_NOSIGNAL) != 1)
		ret = -errno;
	if (ret < 0) {
		close(c);
		return ret;
	}
	return c;
}

/* True when @fd is a socket of @domain and @type. */
static bool sock_is(int fd, int domain, int type)
{
	int d = -1, t = -1;
	socklen_t l = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &l) < 0)
		return false;
	l = sizeof(int);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &l) == 0 && d == domain && t == type;
}

int __ipcq_keeper_fetch(int dfd, int domain, int type, int fds[2])
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} u;
	char tag = 0;
	struct iovec iov = {&tag, 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *h;
	int c = keeper_call(dfd, 'o', NULL);
	ssize_t n = -1;

	if (c < 0)
		return c == -ENOENT || c == -ECONNRESET ? -ENOENT : c;
	if (wait_in(c, KEEPER_WAIT_MS))
		while ((n = recvmsg(c, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0 && errno == EINTR)
			;
	close(c);
	h = n == 1 ? CMSG_FIRSTHDR(&m) : NULL;
	if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
		return -ENOENT; /* the keeper went between connect and answer */
	if (h->cmsg_len != CMSG_LEN(2 * sizeof(int))) {
		/* Not what a keeper of ours sends: close whatever came. */
		size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && i < 2; i++)
			close(((int *)(void *)CMSG_DATA(h))[i]);
		return -EINVAL;
	}
	memcpy(fds, CMSG_DATA(h), 2 * sizeof(int));
	if (!sock_is(fds[0], domain, type) || !sock_is(fds[1], domain, type)) {
		close(fds[0]);
		close(fds[1]);
		return -EINVAL;
	}
	return 0;
}

int __ipcq_keeper_stop(int dfd)
{
	int pidfd = -1, c = keeper_call(dfd, 'q', &pidfd);
	char x;

	if (c < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return c;
	}
	/* EOF: it closed its descriptors on the way out; the pidfd: it is gone. */
	while (wait_in(c, KEEPER_WAIT_MS) && read(c, &x, 1) < 0 && errno == EINTR)
		;
	close(c);
	if (pidfd >= 0) {
		wait_in(pidfd, KEEPER_WAIT_MS);
		close(pidfd);
	}
	return 0;
}
