/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src_reader.c: the reader thread of src_ahead.c.  It calls pcw_src_next()
 * and queues each entry, then its data as the source knows it: chunks of
 * data, and holes (past them with the source's seek_data() and skip(),
 * never read; inside a chunk, asked of the source's hole() page by page at
 * the writer's page size) merged into one Q_HOLE each, then Q_EOD; or the
 * source's error.  The source's warnings become Q_WARN items in their
 * place, its idle moments a count (src_ahead.c says what the writer does
 * with them).  It stops when the writer says so (pcw_ahead.stop), at the
 * end, or at an error that is not an entry's own.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src_ahead.h"

/* Whether P is in the bytes allocated with IT (item_alloc). */
static bool inline_in(const struct qitem *it, const void *p)
{
	uintptr_t lo = (uintptr_t)(it + 1), q = (uintptr_t)p;

	return q >= lo && q < lo + it->ilen;
}

void pcw_ahead_item_free(struct qitem *it)
{
	if (!it)
		return;
	if (!inline_in(it, it->data))
		free(it->data);
	if (!inline_in(it, it->path))
		free(it->path);
	free(it->msg);
	if (!inline_in(it, it->blob))
		free(it->blob);
	free(it);
}

/*
 * An item with EXTRA bytes after it, in one allocation (an entry's strings,
 * a small file's data): a small file was seven allocations, each freed by
 * the other thread; now two.
 */
static struct qitem *item_alloc(enum qkind kind, size_t extra)
{
	struct qitem *it = calloc(1, sizeof(*it) + extra);

	if (it) {
		it->kind = kind;
		it->bytes = sizeof(*it) + extra;
		it->ilen = extra;
	}
	return it;
}

static struct qitem *item_new(enum qkind kind)
{
	return item_alloc(kind, 0);
}

static char *dup_or_null(const char *p)
{
	return p ? strdup(p) : NULL;
}

/* Asked between reads: no lock taken (stop() sets it under the lock). */
static bool stopped(struct pcw_ahead *a)
{
	return __atomic_load_n(&a->stop, __ATOMIC_ACQUIRE);
}

/* Whether a waiting writer is woken for IT now (AHEAD_WAKE_BYTES). */
static bool wakes_writer(const struct pcw_ahead *a, const struct qitem *it)
{
	return it->kind > Q_EOD || a->bytes >= AHEAD_WAKE_BYTES ||
	       a->items >= AHEAD_WAKE_ITEMS;
}

/* Queue IT, waiting for room; ECANCELED (IT freed) once the writer stops. */
static errcode_t push(struct pcw_source *s, struct qitem *it)
{
	struct pcw_ahead *a = s->ahead;

	if (!it)
		return ENOMEM;
	it->changes = s->changes;
	pthread_mutex_lock(&a->lock);
	while (!a->stop && a->head && a->bytes + it->bytes > AHEAD_BYTES) {
		/* Never both waiting: a writer short of AHEAD_WAKE_* is woken. */
		if (a->writer_waits)
			pthread_cond_signal(&a->more);
		a->reader_waits++;
		pthread_cond_wait(&a->room, &a->lock);
		a->reader_waits--;
	}
	if (a->stop) {
		pthread_mutex_unlock(&a->lock);
		pcw_ahead_item_free(it);
		return ECANCELED;
	}
	if (a->tail)
		a->tail->next = it;
	else
		a->head = it;
	a->tail = it;
	a->bytes += it->bytes;
	a->items++;
	if (a->writer_waits && wakes_writer(a, it))
		pthread_cond_signal(&a->more);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static errcode_t push_error(struct pcw_source *s, errcode_t err)
{
	struct qitem *it = item_new(Q_ERROR);

	if (!it)
		return ENOMEM;
	it->err = err;
	it->msg = dup_or_null(s->msg);
	it->path = dup_or_null(s->path);
	return push(s, it);
}

/* The source's warn callback, in the reader thread: queued in its place. */
void pcw_ahead_warn(void *arg, const char *path, const char *msg)
{
	struct pcw_source *s = arg;
	struct qitem *it = item_new(Q_WARN);

	if (!it)
		return;
	it->path = dup_or_null(path);
	it->msg = dup_or_null(msg);
	push(s, it);
}

/* The source's idle callback: its input is empty, it waits. */
void pcw_ahead_idle(void *arg)
{
	struct pcw_ahead *a = ((struct pcw_source *)arg)->ahead;

	pthread_mutex_lock(&a->lock);
	a->idle_seq++;
	pthread_cond_signal(&a->more);
	pthread_mutex_unlock(&a->lock);
}

/* An entry as one item: its strings and xattrs copied into one blob. */
static struct qitem *entry_item(struct pcw_source *s, const struct pcw_entry *e,
				bool has_data)
{
	const char *strs[5] = { e->path, e->link, e->uname, e->gname, s->path };
	const char **dst[4];
	size_t len = e->nxattrs * sizeof(struct pcw_xattr), k, off;
	struct qitem *it;
	struct pcw_xattr *x;
	char *b;

	for (k = 0; k < 4; k++)
		len += strs[k] ? strlen(strs[k]) + 1 : 0;
	for (k = 0; k < e->nxattrs; k++)
		len += strlen(e->xattrs[k].name) + 1 + e->xattrs[k].size;
	/* The blob first: the xattr array at its start is aligned as the item. */
	it = item_alloc(Q_ENTRY, len + (strs[4] ? strlen(strs[4]) + 1 : 0));
	if (!it)
		return NULL;
	it->e = *e;
	it->has_data = has_data;
	dst[0] = &it->e.path;
	dst[1] = &it->e.link;
	dst[2] = &it->e.uname;
	dst[3] = &it->e.gname;
	it->blob = b = (char *)(it + 1);
	if (strs[4])
		it->path = strcpy(b + len, strs[4]);
	x = (struct pcw_xattr *)b;
	off = e->nxattrs * sizeof(*x);
	for (k = 0; k < 4; k++) {
		if (!strs[k])
			continue;
		*dst[k] = strcpy(b + off, strs[k]);
		off += strlen(strs[k]) + 1;
	}
	for (k = 0; k < e->nxattrs; k++) {
		x[k].name = strcpy(b + off, e->xattrs[k].name);
		off += strlen(e->xattrs[k].name) + 1;
		x[k].value = b + off;
		if (e->xattrs[k].size)
			memcpy(b + off, e->xattrs[k].value, e->xattrs[k].size);
		x[k].size = e->xattrs[k].size;
		off += e->xattrs[k].size;
	}
	it->e.xattrs = e->nxattrs ? x : NULL;
	return it;
}

/* The hole kept back, merged with the holes that follow it, queued. */
static errcode_t flush_hole(struct pcw_source *s)
{
	struct pcw_ahead *a = s->ahead;
	struct qitem *it;

	if (a->rhole_lo >= a->rhole_hi)
		return 0;
	it = item_new(Q_HOLE);
	if (!it)
		return ENOMEM;
	it->lo = a->rhole_lo;
	it->hi = a->rhole_hi;
	a->rhole_lo = a->rhole_hi = 0;
	return push(s, it);
}

static errcode_t add_hole(struct pcw_source *s, uint64_t lo, uint64_t hi)
{
	struct pcw_ahead *a = s->ahead;
	errcode_t err = 0;

	if (lo >= hi)
		return 0;
	if (a->rhole_lo < a->rhole_hi && a->rhole_hi == lo) {
		a->rhole_hi = hi;
		return 0;
	}
	err = flush_hole(s);
	a->rhole_lo = lo;
	a->rhole_hi = hi;
	return err;
}

/* Bytes [lo, hi) in DATA (CAP bytes, the item's now). */
static errcode_t push_data(struct pcw_source *s, uint64_t lo, uint64_t hi,
			   unsigned char *data, size_t cap, bool eod)
{
	struct qitem *it = item_new(Q_DATA);
	errcode_t err = flush_hole(s);

	if (err || !it) {
		free(data);
		pcw_ahead_item_free(it);
		return err ? err : ENOMEM;
	}
	it->lo = lo;
	it->hi = hi;
	it->data = data;
	it->eod = eod;
	it->bytes += cap;
	return push(s, it);
}

/* Bytes [lo, hi) copied from P into the item's own allocation. */
static errcode_t push_copy(struct pcw_source *s, uint64_t lo, uint64_t hi,
			   const unsigned char *p, bool eod)
{
	struct qitem *it = item_alloc(Q_DATA, hi - lo);
	errcode_t err = flush_hole(s);

	if (err || !it) {
		pcw_ahead_item_free(it);
		return err ? err : ENOMEM;
	}
	it->lo = lo;
	it->hi = hi;
	it->data = memcpy(it + 1, p, hi - lo);
	it->eod = eod;
	return push(s, it);
}

/*
 * [pos, pos+got), just read into BUF: its data and its holes, page by page
 * as the writer asks the source's hole(), so that its answers are the
 * source's.  A chunk without holes is queued as it is (BUF given to its
 * item), or copied when BUF is the reader's scratch (SCRATCH: not freed).
 * LAST: the data ends with the chunk; *EOD_DONE when its last item says so.
 */
static errcode_t queue_chunk(struct pcw_source *s, struct pcw_iter *i,
			     uint64_t pos, unsigned char *buf, size_t got,
			     size_t cap, bool scratch, bool last,
			     bool *eod_done)
{
	struct pcw_ahead *a = s->ahead;
	uint64_t end = pos + got, p = pos, run = pos;
	bool in_hole = false, any = false;
	errcode_t err = 0;

	i->src_pos = end;	/* where the source's own offset is */
	while (p < end) {
		uint64_t q = (p / a->page + 1) * a->page;
		bool h;

		if (q > end)
			q = end;
		h = i->ops->hole && i->ops->hole(i, p, q - p);
		if (h != in_hole && p > run) {
			any = true;
			if (in_hole)
				err = add_hole(s, run, p);
			else
				err = push_copy(s, run, p, buf + (run - pos),
						false);
			if (err)
				goto out;
			run = p;
		}
		in_hole = h;
		p = q;
	}
	if (in_hole) {
		err = add_hole(s, run, end);
	} else if (!any && !scratch) {
		err = push_data(s, pos, end, buf, cap, last);
		buf = NULL;
		*eod_done = last;
	} else {
		err = push_copy(s, run, end, buf + (run - pos), last);
		*eod_done = last;
	}
out:
	if (!scratch)
		free(buf);
	return err;
}

/*
 * The entry's data, from the source's iterator I: past its holes
 * (seek_data, skip: never read), its data in chunks, then Q_EOD; or the
 * error reading it.
 */
static errcode_t read_data(struct pcw_source *s, struct pcw_iter *i,
			   int64_t size)
{
	struct pcw_ahead *a = s->ahead;
	uint64_t pos = 0;
	errcode_t err;

	a->rhole_lo = a->rhole_hi = 0;
	for (;;) {
		uint64_t d = pos;
		size_t cap = AHEAD_CHUNK - pos % a->page, got = 0, n;
		bool scratch = false, eod_done = false;
		unsigned char *buf;

		if (stopped(a))
			return ECANCELED;
		i->head = i->tail = 0;
		i->src_pos = pos;
		err = i->ops->seek_data ? i->ops->seek_data(i, pos, &d) : 0;
		if (!err && d > pos) {
			err = i->ops->skip(i, d);
			if (!err)
				err = add_hole(s, pos, d);
			pos = d;
			i->src_pos = pos;
			cap = AHEAD_CHUNK - pos % a->page;
		}
		if (err)
			break;
		/* A small file: its size, and room to see the end. */
		if (size >= 0 && (uint64_t)size >= pos &&
		    (uint64_t)size - pos < cap - a->page) {
			cap = ((uint64_t)size - pos) / a->page * a->page +
			      a->page;
			scratch = true;		/* copied into its item */
		}
		if (scratch && !a->rbuf)
			a->rbuf = malloc(AHEAD_CHUNK);
		buf = scratch ? a->rbuf : malloc(cap);
		if (!buf)
			return ENOMEM;
		while (got < cap) {
			/*
			 * What a failing read got is kept: the writer's read
			 * fails where the source's own would have.
			 */
			n = 0;
			err = i->ops->read(i, buf + got, cap - got, &n);
			got += n;
			i->src_pos = pos + got;
			if ((err == EINTR || err == EAGAIN) && !stopped(a) &&
			    !pcw_signal_pending()) {
				err = 0;
				continue;
			}
			if (err || !n)
				break;
		}
		/* A small file's bytes only, not its buffer, held queued. */
		if (!scratch && got + a->page <= cap) {
			unsigned char *b = got ? realloc(buf, got) : NULL;

			if (b) {
				buf = b;
				cap = got;
			}
		}
		if (got) {
			errcode_t e2 = queue_chunk(s, i, pos, buf, got, cap,
						   scratch, !err && got < cap,
						   &eod_done);

			if (e2)
				return e2;
			pos += got;
		} else if (!scratch) {
			free(buf);
		}
		if (err)
			break;
		if (got < cap) {
			err = flush_hole(s);
			if (err || eod_done)
				return err;
			return push(s, item_new(Q_EOD));
		}
	}
	/* A hole before an error is not one the source knew of: dropped. */
	a->rhole_lo = a->rhole_hi = 0;
	if (err == ECANCELED)
		return err;
	return push_error(s, err) ? ECANCELED : err;
}

void *pcw_ahead_reader(void *arg)
{
	struct pcw_source *s = arg;
	struct pcw_ahead *a = s->ahead;
	errcode_t err;

	for (;;) {
		const struct pcw_entry *e;
		struct pcw_iter *data;
		struct qitem *it;

		if (stopped(a)) {
			err = ECANCELED;
			break;
		}
		err = pcw_src_next(s, &e, &data);
		if (err == PCW_ET_END) {
			err = push(s, item_new(Q_END));
			break;
		}
		if (err) {
			/*
			 * An entry's own error: the writer may skip it and ask
			 * for the next.  Any other ends the reading.
			 */
			if (push_error(s, err) || !pcw_error_entry_only(err))
				break;
			continue;
		}
		it = entry_item(s, e, data != NULL);
		err = push(s, it);
		if (!err && data)
			err = read_data(s, data, e->size);
		if (err)
			break;
	}
	pthread_mutex_lock(&a->lock);
	a->done = true;
	a->final_err = err;
	pthread_cond_signal(&a->more);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

