/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src_ahead.h: the reader thread's queue, shared by its two sides: the
 * reader (src_reader.c) and the writer (src_ahead.c).  Private to lib/.
 */
#ifndef PCW_SRC_AHEAD_H
#define PCW_SRC_AHEAD_H

#include <pthread.h>

#include "src.h"

/*
 * The queue's bound: the bytes of entries (their strings and xattrs) and
 * data read and not yet taken by the writer.  An item larger than that
 * still goes into an empty queue.  Part of the run's memory bound.
 */
#define AHEAD_BYTES	(2U << 20)
/*
 * 2 MiB, not 4: the reader's allocations live in its own malloc arena,
 * which holds about twice the queue at its peak (free chunks between live
 * ones); -x of a tar of /usr took 33.2 MiB max RSS with 4, 29.3-30.7 with
 * 2, against issue 17's 32 MiB.  Two megabytes are still eight of the
 * reader's 256 KiB chunks.
 */
/* One read of an entry's data; a small file's is its size. */
#define AHEAD_CHUNK	(256U << 10)
/* How long the writer waits on the queue before it looks for a signal. */
#define AHEAD_WAIT_NS	(20 * 1000 * 1000L)
/*
 * Wake-ups with hysteresis, as a pipe's reader and writer are woken (a
 * pipe buffer, not a byte): a waiting writer is woken once the queue holds
 * AHEAD_WAKE_BYTES or AHEAD_WAKE_ITEMS, or an item that is not an entry or
 * its data (an end, an error, a warning; an idle source wakes it too); a
 * waiting reader once the queue has drained to half.  Woken for every
 * item, the two threads took turns item by item: 265,000 futex calls and a
 * third of the run in wake-ups for a tar of /usr/share (68,000 entries).
 */
#define AHEAD_WAKE_BYTES	(AHEAD_BYTES / 4)
#define AHEAD_WAKE_ITEMS	64

enum qkind {
	Q_ENTRY,	/* an entry; its data items follow it up to Q_EOD */
	Q_DATA,		/* bytes [lo, hi) of the entry's data */
	Q_HOLE,		/* [lo, hi): a hole of the source */
	Q_EOD,		/* the end of the entry's data */
	Q_WARN,		/* a warning about path */
	Q_ERROR,	/* the source's error err, with its message */
	Q_END,		/* the last entry was read */
};

struct qitem {
	struct qitem	*next;
	enum qkind	kind;
	size_t		bytes;		/* counted against AHEAD_BYTES */
	uint64_t	changes;	/* the source's count when queued */
	errcode_t	err;
	uint64_t	lo, hi;
	unsigned char	*data;
	char		*path;		/* the source's path (pcw_source_path) */
	char		*msg;
	struct pcw_entry e;		/* its strings and xattrs in blob */
	bool		has_data;
	bool		eod;		/* Q_DATA: the end of the entry's data
					   follows (no Q_EOD item) */
	char		*blob;
	size_t		ilen;		/* bytes allocated after the item:
					   data, blob, path may point there */
};

struct pcw_ahead {
	bool		started;	/* false: read in the writer's thread */
	pthread_t	thread;
	pthread_mutex_t	lock;
	pthread_cond_t	more, room;
	struct qitem	*head, *tail;
	size_t		bytes;
	size_t		items;
	unsigned	writer_waits;	/* the writer waits on more */
	unsigned	reader_waits;	/* the reader waits on room */
	bool		stop;		/* the writer's word to the reader
					   (read without the lock too) */
	bool		done;		/* the reader has returned */
	errcode_t	final_err;	/* what stopped it, if not the end */
	uint64_t	idle_seq;	/* the reader waited on empty input */
	int		wake[2];
	struct pcw_source_params user;	/* the callbacks as given */
	unsigned	page;

	/* the reader's side: a hole not queued yet (holes are merged) */
	uint64_t	rhole_lo, rhole_hi;
	unsigned char	*rbuf;		/* a small file read here first */

	/* the writer's side */
	uint64_t	idle_seen;
	struct qitem	*cur;		/* the entry handed out */
	struct qitem	*err;		/* the last error handed out */
	bool		in_data;	/* cur's data not read to its end */
	errcode_t	data_err;
	uint64_t	pos;		/* source offset read up to */
	struct hole	holes[NHOLES];
	unsigned	nholes;
	uint64_t	changes;
	struct pcw_iter	iter;
};


/* src_reader.c: the reader thread, and the source's callbacks in it */
void pcw_ahead_item_free(struct qitem *it);
void *pcw_ahead_reader(void *arg);
void pcw_ahead_warn(void *arg, const char *path, const char *msg);
void pcw_ahead_idle(void *arg);

#endif
