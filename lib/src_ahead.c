/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src_ahead.c: the source read ahead, in a thread of its own, while the
 * writer commits (issue 17 item 2).  Decompressing an archive, or walking
 * a cold host tree and reading its files, took turns with writing the
 * image on one core; now the reader thread calls pcw_src_next() and drains
 * each entry's data into a queue bounded by bytes (AHEAD_BYTES), and the
 * writer takes entries and data from the queue.
 *
 * Only the reader thread touches the source (its libarchive handle, its
 * fts walk, its descriptors); only the writer touches the image (libext2fs
 * is not thread-safe) and calls the run's callbacks.  So the source's
 * callbacks become queue items: a warning is queued in its place among the
 * entries and handed to the writer when it gets there (its warn callback
 * commits and reports, after the entries before it, as before); "the input
 * is empty now" (idle) is a count the writer looks at when it finds the
 * queue empty: it commits then, before it waits, as a reader on one thread
 * committed before it waited on an empty pipe.
 *
 * An entry's data goes into the queue as the source knows it: data
 * chunks, and holes (SEEK_DATA/SEEK_HOLE for a host file, libarchive's
 * block offsets for an archive) as holes, never as zeroes.  The writer's
 * iterator (queue_ops) gives back what the source's own did: zeroes for a
 * hole read through, the same hole() answers page by page (the reader asks
 * the source's hole() for every page it reads, at the writer's page size),
 * and seek_data()/skip() past a hole without reading it; a read fills
 * what it was asked or stops at the end or an error (the error dropping
 * that read's bytes, as an archive's read does).  The page records are the
 * ones a single thread wrote.
 *
 * Signals go to the writer (the reader blocks them); the writer waits on
 * the queue in slices of AHEAD_WAIT_NS to see one.  The reader waits for
 * an empty pipe in poll() on the source and on a wake pipe, which closing
 * the source writes to: a run that stops (a signal, an error, the last
 * entry) joins its reader wherever it was.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src_ahead.h"

/* ---- the writer's side ---------------------------------------------------------------- */

/*
 * The queue's first item, waiting for one: NULL and *ERR when a signal
 * came (EINTR) or the reader stopped with nothing queued.  An empty queue
 * whose reader waits on its empty input: commit first (the idle callback).
 */
static struct qitem *peek(struct pcw_source *s, errcode_t *err)
{
	struct pcw_ahead *a = s->ahead;
	struct qitem *it;

	pthread_mutex_lock(&a->lock);
	while (!a->head) {
		struct timespec ts;

		if (pcw_signal_pending() || a->done) {
			*err = pcw_signal_pending() ? EINTR :
			       a->final_err ? a->final_err : PCW_ET_END;
			pthread_mutex_unlock(&a->lock);
			return NULL;
		}
		if (a->idle_seq != a->idle_seen) {
			a->idle_seen = a->idle_seq;
			pthread_mutex_unlock(&a->lock);
			if (a->user.idle)
				a->user.idle(a->user.idle_arg);
			pthread_mutex_lock(&a->lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += AHEAD_WAIT_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		a->writer_waits++;
		pthread_cond_timedwait(&a->more, &a->lock, &ts);
		a->writer_waits--;
	}
	it = a->head;
	pthread_mutex_unlock(&a->lock);
	return it;
}

/* Take the first item (peeked) off the queue. */
static void pop(struct pcw_ahead *a)
{
	struct qitem *it;

	pthread_mutex_lock(&a->lock);
	it = a->head;
	a->head = it->next;
	if (!a->head)
		a->tail = NULL;
	a->bytes -= it->bytes;
	a->items--;
	if (a->reader_waits && (!a->head || a->bytes <= AHEAD_BYTES / 2))
		pthread_cond_signal(&a->room);
	pthread_mutex_unlock(&a->lock);
	it->next = NULL;
	a->changes = it->changes;
}

/* An error item taken: it is what message and path say now. */
static errcode_t take_error(struct pcw_ahead *a, struct qitem *it)
{
	pop(a);
	pcw_ahead_item_free(a->err);
	a->err = it;
	a->in_data = false;
	a->data_err = it->err;
	return it->err;
}

/* A warning taken: the run's warn callback, in this (the writer's) thread. */
static void take_warning(struct pcw_ahead *a, struct qitem *it)
{
	pop(a);
	if (a->user.warn)
		a->user.warn(a->user.warn_arg, it->path, it->msg);
	pcw_ahead_item_free(it);
}

/* A hole of the entry's data seen: remembered for hole() and seek_data(). */
static void note_hole(struct pcw_ahead *a, uint64_t lo, uint64_t hi)
{
	unsigned k, n = 0;

	for (k = 0; k < a->nholes; k++)
		if (lo >= a->holes[k].lo && hi <= a->holes[k].hi)
			return;
	for (k = 0; k < a->nholes; k++)
		if (a->holes[k].hi > a->iter.src_pos)
			a->holes[n++] = a->holes[k];
	a->nholes = n;
	if (a->nholes == NHOLES) {
		memmove(a->holes, a->holes + 1,
			(NHOLES - 1) * sizeof(*a->holes));
		a->nholes--;
	}
	a->holes[a->nholes].lo = lo;
	a->holes[a->nholes].hi = hi;
	a->nholes++;
}

static errcode_t queue_read(struct pcw_iter *i, unsigned char *buf, size_t n,
			    size_t *got)
{
	struct pcw_source *s = i->priv;
	struct pcw_ahead *a = s->ahead;
	errcode_t err;

	*got = 0;
	while (*got < n && a->in_data) {
		struct qitem *it = peek(s, &err);
		size_t k;

		if (!it)
			return err == PCW_ET_END ? PCW_ET_SOURCE : err;
		switch (it->kind) {
		case Q_DATA:
		case Q_HOLE:
			k = it->hi - a->pos < n - *got ? it->hi - a->pos
						       : n - *got;
			if (it->kind == Q_DATA) {
				memcpy(buf + *got, it->data + (a->pos - it->lo),
				       k);
			} else {
				note_hole(a, it->lo, it->hi);
				memset(buf + *got, 0, k);
			}
			*got += k;
			a->pos += k;
			if (a->pos == it->hi) {
				if (it->eod)
					a->in_data = false;
				pop(a);
				pcw_ahead_item_free(it);
			}
			break;
		case Q_EOD:
			pop(a);
			pcw_ahead_item_free(it);
			a->in_data = false;
			break;
		case Q_WARN:
			take_warning(a, it);
			break;
		case Q_ERROR:
			/* As a source's read: what this read got is dropped. */
			*got = 0;
			return take_error(a, it);
		default:
			return PCW_ET_SOURCE;	/* an entry inside data: a bug */
		}
	}
	return *got || !a->data_err ? 0 : a->data_err;
}

static bool queue_hole(struct pcw_iter *i, uint64_t pos, uint64_t len)
{
	struct pcw_ahead *a = ((struct pcw_source *)i->priv)->ahead;
	unsigned k;

	for (k = 0; k < a->nholes; k++)
		if (pos >= a->holes[k].lo && pos + len <= a->holes[k].hi)
			return true;
	return false;
}

/*
 * Where data goes on from POS: at the end of what was read, the next item
 * says (a hole's end); inside it, the holes seen say.
 */
static errcode_t queue_seek_data(struct pcw_iter *i, uint64_t pos,
				 uint64_t *data)
{
	struct pcw_source *s = i->priv;
	struct pcw_ahead *a = s->ahead;
	errcode_t err;
	unsigned k;

	*data = pos;
	while (pos == a->pos && a->in_data) {
		struct qitem *it = peek(s, &err);

		if (!it)
			return err == PCW_ET_END ? PCW_ET_SOURCE : err;
		if (it->kind == Q_WARN) {
			take_warning(a, it);
			continue;
		}
		if (it->kind == Q_ERROR)
			return take_error(a, it);
		if (it->kind == Q_HOLE)
			note_hole(a, it->lo, it->hi);
		break;
	}
	for (k = 0; k < a->nholes; k++)
		if (pos >= a->holes[k].lo && pos < a->holes[k].hi)
			*data = a->holes[k].hi;
	return 0;
}

/* On at TO, past the hole seek_data() gave: its items taken, unread. */
static errcode_t queue_skip(struct pcw_iter *i, uint64_t to)
{
	struct pcw_source *s = i->priv;
	struct pcw_ahead *a = s->ahead;
	errcode_t err;

	while (a->pos < to) {
		struct qitem *it = peek(s, &err);

		if (!it)
			return err == PCW_ET_END ? PCW_ET_SOURCE : err;
		if (it->kind != Q_HOLE || a->pos < it->lo || to > it->hi)
			return PCW_ET_SOURCE;	/* not a hole: a bug */
		a->pos = to;
		if (a->pos == it->hi) {
			pop(a);
			pcw_ahead_item_free(it);
		}
	}
	return 0;
}

static const struct pcw_iter_ops queue_ops = {
	.read		= queue_read,
	.hole		= queue_hole,
	.seek_data	= queue_seek_data,
	.skip		= queue_skip,
};

/*
 * Start the reader thread, the source's callbacks turned into queue items.
 * A reader that cannot start (no memory, no thread) leaves A not started:
 * the source is read in this thread as before.
 */
static errcode_t start(struct pcw_source *s)
{
	struct pcw_ahead *a = calloc(1, sizeof(*a));
	sigset_t all, old;
	errcode_t err;

	if (!a)
		return ENOMEM;
	s->ahead = a;
	a->wake[0] = a->wake[1] = -1;
	a->page = s->p.page_size ? s->p.page_size : 4096;
	err = pcw_iter_init(&a->iter, &queue_ops, s, a->page);
	if (err)
		return err;
	if (pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return 0;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->more, NULL);
	pthread_cond_init(&a->room, NULL);
	a->user = s->p;
	s->p.warn = a->user.warn ? pcw_ahead_warn : NULL;
	s->p.warn_arg = s;
	s->p.idle = a->user.idle ? pcw_ahead_idle : NULL;
	s->p.idle_arg = s;
	s->wake_fd = a->wake[0];
	/* The thread takes no signal: the writer's thread sees them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	a->started = pthread_create(&a->thread, NULL, pcw_ahead_reader, s) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!a->started) {
		s->p = a->user;
		s->wake_fd = -1;
	}
	return 0;
}

/* The reader stopped wherever it was and joined; the queue freed. */
static void stop(struct pcw_ahead *a)
{
	struct qitem *it;
	char c = 1;

	if (!a->started)
		return;
	pthread_mutex_lock(&a->lock);
	__atomic_store_n(&a->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&a->room);
	pthread_mutex_unlock(&a->lock);
	if (write(a->wake[1], &c, 1) < 0) {
		/* Full already: the reader has its word. */
	}
	pthread_join(a->thread, NULL);
	a->started = false;
	while ((it = a->head)) {
		a->head = it->next;
		pcw_ahead_item_free(it);
	}
	a->tail = NULL;
	a->bytes = 0;
	a->items = 0;
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->more);
	pthread_cond_destroy(&a->room);
}

/*
 * The entry handed out last is done with: the rest of its data (a refused
 * entry's, a hard link's) is taken and dropped.
 */
static errcode_t drop_data(struct pcw_source *s)
{
	struct pcw_ahead *a = s->ahead;
	errcode_t err;

	while (a->in_data) {
		struct qitem *it = peek(s, &err);

		if (!it)
			return err == PCW_ET_END ? PCW_ET_SOURCE : err;
		if (it->kind == Q_ERROR)
			return take_error(a, it);
		if (it->kind == Q_WARN) {
			take_warning(a, it);
			continue;
		}
		pop(a);
		if (it->kind == Q_EOD || it->eod)
			a->in_data = false;
		pcw_ahead_item_free(it);
	}
	return 0;
}

errcode_t pcw_source_next(struct pcw_source *s, const struct pcw_entry **entry,
			  struct pcw_iter **data)
{
	struct pcw_ahead *a;
	errcode_t err;

	if (!s || s->magic != PCW_MAGIC_SOURCE)
		return EINVAL;
	*entry = NULL;
	*data = NULL;
	if (!s->ahead) {
		err = start(s);
		if (err)
			return err;
	}
	a = s->ahead;
	if (!a->started)
		return pcw_src_next(s, entry, data);
	err = drop_data(s);
	if (err)
		return err;
	pcw_ahead_item_free(a->cur);
	a->cur = NULL;
	pcw_ahead_item_free(a->err);
	a->err = NULL;
	for (;;) {
		struct qitem *it = peek(s, &err);

		if (!it)
			return err;
		switch (it->kind) {
		case Q_WARN:
			take_warning(a, it);
			continue;
		case Q_ERROR:
			return take_error(a, it);
		case Q_END:
			a->changes = it->changes;
			return PCW_ET_END;	/* left queued: the end again */
		case Q_ENTRY:
			pop(a);
			a->cur = it;
			*entry = &it->e;
			if (it->has_data) {
				pcw_iter_reset(&a->iter);
				a->in_data = true;
				a->data_err = 0;
				a->pos = 0;
				a->nholes = 0;
				*data = &a->iter;
			}
			return 0;
		default:
			pop(a);		/* data of no entry: a bug */
			pcw_ahead_item_free(it);
			return PCW_ET_SOURCE;
		}
	}
}

const char *pcw_source_message(const struct pcw_source *s)
{
	if (!s)
		return NULL;
	if (s->ahead && s->ahead->started)
		return s->ahead->err ? s->ahead->err->msg : NULL;
	return s->msg;
}

const char *pcw_source_path(const struct pcw_source *s)
{
	const struct pcw_ahead *a;

	if (!s)
		return NULL;
	a = s->ahead;
	if (!a || !a->started)
		return s->path;
	return a->err ? a->err->path : a->cur ? a->cur->path : NULL;
}

uint64_t pcw_source_changes(const struct pcw_source *s)
{
	if (!s || s->magic != PCW_MAGIC_SOURCE)
		return 0;
	return s->ahead && s->ahead->started ? s->ahead->changes : s->changes;
}

void pcw_source_close(struct pcw_source *s)
{
	struct pcw_ahead *a;

	if (!s)
		return;
	a = s->ahead;
	if (a) {
		stop(a);
		pcw_ahead_item_free(a->cur);
		pcw_ahead_item_free(a->err);
		pcw_iter_fini(&a->iter);
		free(a->rbuf);
		if (a->wake[0] >= 0)
			close(a->wake[0]);
		if (a->wake[1] >= 0)
			close(a->wake[1]);
		free(a);
		s->ahead = NULL;
	}
	pcw_src_close(s);
}
