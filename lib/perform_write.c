/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * perform_write.c: generic_perform_write(), the buffered write loop.
 *
 * Step for step the loop of mm/filemap.c in the 4.x kernels: fault the
 * source in, write_begin, copy, write_end, advance, balance_dirty_pages.  It
 * calls the filesystem only through mapping->a_ops and never asks whether
 * delayed allocation is on.
 *
 * Where 6.x differs (folios; halving the chunk after a short copy) pcwrite
 * keeps the 4.x rule: one page per iteration, and after a short copy a retry
 * with the single segment's length.
 *
 * A hole of the source never reaches the kernel's loop: tar -S and cp
 * --sparse find it with SEEK_DATA/SEEK_HOLE and lseek() past it, and set the
 * size at the end.  pcwrite's loop is handed the whole source, so it does the
 * same itself: at a page boundary where the file has nothing yet, a hole the
 * source knows of (pcw_iter_hole_ahead: SEEK_DATA, or an archive's sparse
 * map) is passed in one step, whatever its length: no iteration, no page
 * record, nothing read.  The size is raised over it as write_end would.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "file.h"
#include "iter.h"

static void report_page(struct pcw_mapping *mapping, uint64_t pos,
			unsigned offset, unsigned bytes, size_t copied,
			int64_t status, const struct pcw_fsdata *fsdata,
			bool retry)
{
	struct pcw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = PCW_EV_PAGE;
	ev.file = mapping->name;
	ev.u.page.seq = mapping->seq++;
	ev.u.page.index = pos >> mapping->page_shift;
	ev.u.page.pos = pos;
	ev.u.page.offset = offset;
	ev.u.page.bytes = bytes;
	ev.u.page.copied = copied;
	ev.u.page.status = status;
	ev.u.page.reserved = fsdata ? fsdata->reserved : 0;
	ev.u.page.read_before = fsdata ? fsdata->read_before : 0;
	ev.u.page.retry = retry;
	pcw_emit(mapping->ei.pfs, &ev);
}

errcode_t pcw_perform_write(struct pcw_mapping *mapping, struct pcw_iter *i,
			    uint64_t pos, uint64_t *written_out)
{
	const struct pcw_aops *a_ops;
	uint64_t written = 0, empty;
	errcode_t err = 0;

	if (!mapping || mapping->magic != PCW_MAGIC_MAPPING)
		return PCW_ET_MAGIC_MAPPING;
	a_ops = mapping->a_ops;
	*written_out = 0;
	empty = pcw_empty_from(mapping);
	err = pcw_zero_eof_tail(mapping, pos);
	if (err)
		return err;

	for (;;) {
		struct pcw_page *page;
		struct pcw_fsdata fsdata;
		unsigned offset = pos & (mapping->page_size - 1);
		size_t bytes = mapping->page_size - offset;
		size_t copied;
		int64_t status;
		bool retry = false;

		/*
		 * generic_write_checks(): nothing at or past s_maxbytes.  The
		 * kernel cuts the write short at the limit and fails the next
		 * one; a source that ends exactly there was written whole.
		 */
		if (pos >= mapping->maxbytes) {
			err = pcw_iter_fault_in(i, 1);
			if (!err && pcw_iter_count(i))
				err = PCW_ET_FILE_TOO_BIG;
			else if (!err && pcw_signal_pending())
				err = EINTR;
			break;
		}
		if (bytes > mapping->maxbytes - pos)
			bytes = mapping->maxbytes - pos;
		if (offset == 0 && pos >= empty) {
			uint64_t hole;

			err = pcw_iter_hole_ahead(i, &hole);
			if (err) {
				report_page(mapping, pos, offset, 0, 0,
					    -pcw_errno(err), NULL, false);
				break;
			}
			if (hole > mapping->maxbytes - pos)
				hole = mapping->maxbytes - pos;
			hole &= ~(uint64_t)(mapping->page_size - 1);
			if (hole) {
				err = pcw_iter_skip_hole(i, hole);
				if (err) {
					report_page(mapping, pos, offset, 0, 0,
						    -pcw_errno(err), NULL,
						    false);
					break;
				}
				pcw_hole_passed(mapping, pos, hole);
				pos += hole;
				written += hole;
				continue;
			}
		}
again:
		/*
		 * Bring in the source data we will copy from _first_: the
		 * page's records must not depend on how the source delivers
		 * (a pipe that trickles gives the pages a file gives).
		 */
		err = pcw_iter_fault_in(i, bytes);
		if (err) {
			report_page(mapping, pos, offset, 0, 0, -pcw_errno(err),
				    NULL, retry);
			break;
		}
		if (pcw_iter_count(i) == 0) {
			/* End of input, or a signal with nothing buffered. */
			if (pcw_signal_pending()) {
				err = EINTR;
				report_page(mapping, pos, offset, 0, 0, -EINTR,
					    NULL, retry);
			}
			break;
		}
		/* Bytes already read are written, never dropped. */
		if (bytes > pcw_iter_count(i))
			bytes = pcw_iter_count(i);

		memset(&fsdata, 0, sizeof(fsdata));
		/*
		 * pcwrite's other addition to the loop: a chunk the source
		 * says is a hole (--sparse) but that could not be passed over
		 * (the file has blocks there, or the hole does not cover the
		 * page) is passed down, for write_begin to leave unallocated.
		 * It is an iteration, reported.
		 */
		fsdata.hole = pcw_iter_zero(i, bytes);
		err = a_ops->write_begin(mapping, pos, bytes, &page, &fsdata);
		if (err) {
			report_page(mapping, pos, offset, bytes, 0,
				    -pcw_errno(err), &fsdata, retry);
			break;
		}

		copied = pcw_iter_copy_to_page(i, page->data + offset, bytes,
					       pos);

		status = a_ops->write_end(mapping, pos, bytes, copied, page,
					  &fsdata);
		report_page(mapping, pos, offset, bytes, copied, status,
			    &fsdata, retry);
		if (status < 0) {
			err = -status;
			break;
		}

		pcw_iter_advance(i, status);
		if (status == 0) {
			/*
			 * A short copy into a page that was not up to date
			 * committed nothing.  Retry with the length of the
			 * single segment, so that the retry cannot livelock
			 * on a multi-segment source (ours has one).
			 */
			bytes = mapping->page_size - offset;
			if (bytes > pcw_iter_count(i))
				bytes = pcw_iter_count(i);
			retry = true;
			goto again;
		}
		pos += status;
		written += status;

		err = pcw_balance_dirty_pages(mapping);
		if (err)
			break;
	}

	*written_out = written;
	return err;
}
