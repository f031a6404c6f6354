/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iter.c: struct pcw_iter, the source of a write (the kernel's iov_iter).
 *
 * A user buffer is all there when write() is called; a pipe is not.  The
 * iterator keeps what has been read and not yet consumed in a buffer, and
 * pcw_iter_fault_in() blocks until a page's worth is there, as a page fault
 * blocks until the user page is present.  Its count is what has been
 * delivered and not consumed, so a stream of unknown length has a known
 * count for the current page.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "iter.h"

/* Read in chunks of this much at least, so a fast source costs few reads. */
#define PCW_ITER_MIN_BUF	(256U << 10)

static errcode_t fd_read(struct pcw_iter *i, unsigned char *buf, size_t n,
			 size_t *got);
static bool fd_hole(struct pcw_iter *i, uint64_t pos, uint64_t len);
static errcode_t fd_seek_data(struct pcw_iter *i, uint64_t pos,
			      uint64_t *data);
static errcode_t fd_skip(struct pcw_iter *i, uint64_t to);

const struct pcw_iter_ops pcw_iter_fd_ops = {
	.read		= fd_read,
	.hole		= fd_hole,
	.seek_data	= fd_seek_data,
	.skip		= fd_skip,
};

errcode_t pcw_iter_init(struct pcw_iter *i, const struct pcw_iter_ops *ops,
			void *priv, size_t page_size)
{
	memset(i, 0, sizeof(*i));
	i->ops = ops;
	i->priv = priv;
	i->fd = -1;
	i->cap = page_size * 2 > PCW_ITER_MIN_BUF ? page_size * 2
						  : PCW_ITER_MIN_BUF;
	i->buf = malloc(i->cap);
	return i->buf ? 0 : ENOMEM;
}

void pcw_iter_fini(struct pcw_iter *i)
{
	free(i->buf);
	i->buf = NULL;
}

void pcw_iter_reset(struct pcw_iter *i)
{
	i->head = i->tail = 0;
	i->dense = false;
	i->eof = false;
	i->total_read = 0;
	i->src_pos = 0;
	i->hole_lo = i->hole_hi = 0;
	i->data_lo = i->data_hi = 0;
}

errcode_t pcw_iter_open_fd(int fd, size_t page_size, struct pcw_iter **ret)
{
	struct pcw_iter *i;
	struct stat st;
	off_t off;
	errcode_t err;

	i = malloc(sizeof(*i));
	if (!i)
		return ENOMEM;
	err = pcw_iter_init(i, &pcw_iter_fd_ops, NULL, page_size);
	if (err) {
		free(i);
		return err;
	}
	i->fd = fd;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (off = lseek(fd, 0, SEEK_CUR)) >= 0) {
		i->is_reg = true;
		i->src_pos = off;
		i->dense = pcw_iter_st_dense(&st);
	}
	*ret = i;
	return 0;
}

void pcw_iter_free(struct pcw_iter *i)
{
	if (!i)
		return;
	pcw_iter_fini(i);
	free(i);
}

void pcw_iter_set_fault(struct pcw_iter *i, pcw_copy_fault_fn fn, void *arg)
{
	i->fault = fn;
	i->fault_arg = arg;
}

size_t pcw_iter_count(const struct pcw_iter *i)
{
	return i->tail - i->head;
}

/*
 * Make sure BYTES are buffered: read until they are, the input ends, a
 * signal arrives or the source fails.  Reads as much as the buffer holds, so
 * a source that floods is read in large chunks; a source that trickles is
 * waited for.  Returns 0 or the source's errno; the count says what is there.
 */
errcode_t pcw_iter_fault_in(struct pcw_iter *i, size_t bytes)
{
	while (pcw_iter_count(i) < bytes && !i->eof) {
		size_t n;
		errcode_t err;

		if (pcw_signal_pending())
			return 0;
		if (i->head && i->cap - i->tail < bytes) {
			memmove(i->buf, i->buf + i->head, i->tail - i->head);
			i->tail -= i->head;
			i->head = 0;
		}
		err = i->ops->read(i, i->buf + i->tail, i->cap - i->tail, &n);
		if (err == EINTR || err == EAGAIN)
			continue;	/* the signal check decides */
		if (err)
			return err;
		if (n == 0)
			i->eof = true;
		i->tail += n;
		i->total_read += n;
	}
	return 0;
}

static errcode_t fd_read(struct pcw_iter *i, unsigned char *buf, size_t n,
			 size_t *got)
{
	ssize_t r = read(i->fd, buf, n);

	*got = 0;
	if (r < 0)
		return errno;
	*got = r;
	return 0;
}

/*
 * iov_iter_copy_from_user_atomic(): copy up to BYTES into the page, at TO
 * (its data at the write's offset: the iterator knows no page's layout).
 * Copies less only when a fault is injected.
 */
size_t pcw_iter_copy_to_page(struct pcw_iter *i, unsigned char *to,
			     size_t bytes, uint64_t pos)
{
	size_t n = pcw_iter_count(i);

	if (n > bytes)
		n = bytes;
	if (i->fault) {
		size_t allowed = i->fault(i->fault_arg, pos, n);

		if (allowed < n)
			n = allowed;
	}
	memcpy(to, i->buf + i->head, n);
	return n;
}

/* Consume BYTES: what write_end committed. */
void pcw_iter_advance(struct pcw_iter *i, size_t bytes)
{
	i->src_pos += bytes;
	i->head += bytes;
	if (i->head == i->tail)
		i->head = i->tail = 0;
}

void pcw_iter_set_sparse(struct pcw_iter *i, enum pcw_sparse sparse)
{
	i->sparse = sparse;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	static const unsigned char zero[4096];

	while (n >= sizeof(zero)) {
		if (memcmp(p, zero, sizeof(zero)))
			return false;
		p += sizeof(zero);
		n -= sizeof(zero);
	}
	return !n || !memcmp(p, zero, n);
}

/*
 * Where the source file's data and holes are, around P: SEEK_DATA and
 * SEEK_HOLE move the file offset, so it is put back where reading goes on.
 * A hole to the end of the file ends at its size now; at or past the end
 * there is nothing to know (read() says 0).
 */
static void probe_holes(struct pcw_iter *i, uint64_t p)
{
	off_t readpos = (off_t)(i->src_pos + pcw_iter_count(i));
	off_t d = lseek(i->fd, (off_t)p, SEEK_DATA);

	if (d < 0) {
		off_t end = errno == ENXIO ? lseek(i->fd, 0, SEEK_END) : -1;

		/* ENXIO: a hole to the end; anything else: assume data. */
		if (end > 0 && (uint64_t)end > p) {
			i->hole_lo = p;
			i->hole_hi = end;
		} else {
			i->data_lo = p;
			i->data_hi = UINT64_MAX;
		}
	} else if ((uint64_t)d > p) {
		i->hole_lo = p;
		i->hole_hi = d;
	} else {
		off_t h = lseek(i->fd, (off_t)p, SEEK_HOLE);

		i->data_lo = p;
		i->data_hi = h > d ? (uint64_t)h : UINT64_MAX;
	}
	lseek(i->fd, readpos, SEEK_SET);
}

/*
 * Are the next BYTES (all buffered) a hole to keep?  --sparse=auto: they
 * lie in a hole of a sparse source file; --sparse=always: they are zeroes.
 */
bool pcw_iter_zero(struct pcw_iter *i, size_t bytes)
{
	uint64_t p = i->src_pos;

	if (bytes == 0 || bytes > pcw_iter_count(i))
		return false;
	switch (i->sparse) {
	case PCW_SPARSE_NEVER:
		return false;
	case PCW_SPARSE_ALWAYS:
		return all_zero(i->buf + i->head, bytes);
	case PCW_SPARSE_AUTO:
		break;
	}
	return i->ops->hole && i->ops->hole(i, p, bytes) &&
	       all_zero(i->buf + i->head, bytes);
}

/*
 * A file with as many blocks as bytes has no hole to look for (st_blocks
 * counts 512-byte units): no SEEK_DATA/SEEK_HOLE for it.
 */
bool pcw_iter_st_dense(const struct stat *st)
{
	return (uint64_t)st->st_blocks * 512 >= (uint64_t)st->st_size;
}

static bool fd_hole(struct pcw_iter *i, uint64_t p, uint64_t len)
{
	uint64_t e = p + len;

	if (!i->is_reg || i->dense)
		return false;
	if (!(p >= i->hole_lo && e <= i->hole_hi) &&
	    !(p >= i->data_lo && p < i->data_hi))
		probe_holes(i, p);
	return p >= i->hole_lo && e <= i->hole_hi;
}

/*
 * SEEK_DATA from P, remembered as fd_hole's are: one probe per hole and per
 * data region, whatever their lengths.  A filesystem without SEEK_DATA
 * (EINVAL) is all data, read as it comes.
 */
static errcode_t fd_seek_data(struct pcw_iter *i, uint64_t p, uint64_t *data)
{
	*data = p;
	if (!i->is_reg || i->dense)
		return 0;
	if (!(p >= i->hole_lo && p < i->hole_hi) &&
	    !(p >= i->data_lo && p < i->data_hi))
		probe_holes(i, p);
	if (p >= i->hole_lo && p < i->hole_hi)
		*data = i->hole_hi;
	return 0;
}

static errcode_t fd_skip(struct pcw_iter *i, uint64_t to)
{
	return lseek(i->fd, (off_t)to, SEEK_SET) < 0 ? errno : 0;
}

/*
 * How many bytes from the iterator's position on are a hole of the source,
 * known without reading them: 0 with --sparse=never, for a source that
 * cannot tell (a pipe, a file with no holes), or at data.
 */
errcode_t pcw_iter_hole_ahead(struct pcw_iter *i, uint64_t *len)
{
	uint64_t data;
	errcode_t err;

	*len = 0;
	if (i->sparse == PCW_SPARSE_NEVER || !i->ops->seek_data)
		return 0;
	err = i->ops->seek_data(i, i->src_pos, &data);
	if (!err && data > i->src_pos)
		*len = data - i->src_pos;
	return err;
}

/*
 * Go past LEN bytes of hole (at most what pcw_iter_hole_ahead gave): what
 * is buffered of it is dropped, the rest never read.
 */
errcode_t pcw_iter_skip_hole(struct pcw_iter *i, uint64_t len)
{
	size_t n = pcw_iter_count(i);
	errcode_t err;

	if (len <= n) {
		pcw_iter_advance(i, len);
		return 0;
	}
	err = i->ops->skip(i, i->src_pos + len);
	if (err)
		return err;
	i->head = i->tail = 0;
	i->src_pos += len;
	return 0;
}
