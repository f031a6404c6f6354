/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host_files.c: the host side of a run, checked before the image is opened.
 *
 * Two classes of accident are ruled out here.  A standard descriptor that
 * was closed would be the next open()'s result: the image would become
 * standard output and the report would land on its superblock.  And a host
 * file the run writes or reads (the report, the undo file, a SOURCE, a
 * standard stream) may be the image under another name: a symlink, a hard
 * link, /dev/stdin, /proc/self/fd/N, a loop device over it.  Every such
 * file is compared with the image, and with the others, by what
 * pcw_host_id() says its bytes are (lib/host.c); a collision is a usage
 * error (exit 2) before the image or any file is opened for writing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcwrite_cmd.h"

static const char *const std_names[] = {
	"standard input", "standard output", "standard error",
};

/* A report file this run created: removed again by a refusal. */
static const char *created_report;
static int created_report_fd = -1;

void cli_host_files_cleanup(void)
{
	if (created_report)
		pcw_host_remove(created_report, created_report_fd);
	created_report = NULL;
}

/*
 * "pcwrite: WHAT 'NAME': reason" (a source 'x', a report file 'r'), or
 * "pcwrite: standard input: reason" when NAME is NULL; one line, exit 2.
 */
static void refuse(const char *what, const char *name, errcode_t code)
{
	cli_host_files_cleanup();
	if (name)
		fprintf(stderr, "pcwrite: %s %s: %s\n", what,
			cli_quote_always(name), error_message(code));
	else
		fprintf(stderr, "pcwrite: %s: %s\n", what, error_message(code));
	exit(EXIT_USAGE);
}

/*
 * A host file named by an option: "pcwrite: report file 'r': reason" for
 * a refusal (exit 2), "pcwrite: cannot open report file 'r': reason" when
 * the system said no (exit 1).
 */
static void option_error(const char *what, const char *path, errcode_t err,
			 int status)
{
	if (status == EXIT_USAGE)
		refuse(what, path, err);
	cli_host_files_cleanup();
	fprintf(stderr, "pcwrite: cannot open %s %s: %s\n", what,
		cli_quote_always(path), error_message(err));
	exit(status);
}

static void refuse_usage(const char *msg)
{
	cli_host_files_cleanup();
	fprintf(stderr, "pcwrite: %s\n", msg);
	exit(EXIT_USAGE);
}

/*
 * Give each closed standard descriptor an empty file of its own: reads see
 * end of file, writes fail (it is sealed), as on a closed descriptor, but
 * the number is taken, and /dev/stdin or /proc/self/fd/N opened later is
 * recognised as that file.  /dev/null where memfd_create is missing.
 */
unsigned cli_occupy_std_fds(void)
{
	unsigned closed = 0;
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		closed |= 1U << fd;
		nfd = memfd_create("pcwrite: closed descriptor",
				   MFD_ALLOW_SEALING);
		if (nfd >= 0)
			fcntl(nfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_WRITE |
			      F_SEAL_GROW | F_SEAL_SHRINK);
		else
			nfd = open("/dev/null", O_RDWR);
		if (nfd < 0)
			_exit(EXIT_USAGE);	/* nowhere to say it */
		if (nfd != fd) {
			/* a lower one was open: fd is the lowest closed */
			if (dup2(nfd, fd) < 0)
				_exit(EXIT_USAGE);
			close(nfd);
		}
	}
	return closed;
}

/*
 * Standard error that is a file named on the command line (2>>IMAGE) must
 * not receive even the message that refuses the run: it is swapped for a
 * sealed empty file, and the exit status alone says it.
 */
static void silence_stderr(void)
{
	int fd = memfd_create("pcwrite: silenced", MFD_ALLOW_SEALING);

	if (fd < 0)
		fd = open("/dev/null", O_WRONLY);
	if (fd >= 0) {
		fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_WRITE |
		      F_SEAL_GROW | F_SEAL_SHRINK);
		dup2(fd, STDERR_FILENO);
		close(fd);
	} else {
		close(STDERR_FILENO);
	}
}

void cli_host_files_usage_stderr(int argc, const char **argv)
{
	struct pcw_host_id err, id;
	int i;

	if (pcw_host_id_fd(STDERR_FILENO, &err) || err.kind == PCW_HOST_OTHER)
		return;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-')
			a = (a[1] == '-' && strchr(a, '=')) ?
			    strchr(a, '=') + 1 : "";
		if (*a && pcw_host_id_path(a, &id) == 0 &&
		    pcw_host_overlap(&err, &id)) {
			silence_stderr();
			return;
		}
	}
}

/*
 * The standard streams a run uses: input when it is the SOURCE, output
 * for the JSON report, error for messages and the text report.
 */
static bool report_to_stdout(const struct cli_control *ctl)
{
	return ctl->report != REPORT_NONE && !ctl->report_file &&
	       (REPORT_IS_JSON(ctl->report) || ctl->report_stdout);
}

static bool report_to_stderr(const struct cli_control *ctl)
{
	return ctl->report != REPORT_NONE && !ctl->report_file &&
	       !report_to_stdout(ctl);
}

struct pcw_guard *cli_host_files_guard(const struct cli_control *ctl,
				       unsigned closed)
{
	static const errcode_t closed_code[] = {
		PCW_ET_STDIN_CLOSED, PCW_ET_STDOUT_CLOSED, PCW_ET_STDERR_CLOSED,
	};
	struct pcw_host_id image, id;
	struct pcw_guard *guard;
	bool have_image;
	struct stat st;
	int fd;

	/* A closed descriptor the run needs. */
	if ((closed & 1) && ctl->from_stdin)
		refuse_usage("standard input is closed, and it is the SOURCE");
	if ((closed & 2) && report_to_stdout(ctl))
		refuse_usage(REPORT_IS_JSON(ctl->report) ?
			     "standard output is closed, and the JSON report "
			     "goes there (use --report-file)" :
			     "standard output is closed, and the report goes "
			     "there (--report-file=-)");
	if ((closed & 4) && report_to_stderr(ctl))
		refuse_usage("standard error is closed, and the report goes "
			     "there (use --report-file)");

	if (pcw_guard_new(&guard)) {
		perror("pcwrite");
		exit(1);
	}
	/* A missing IMAGE is pcw_fs_open's to report. */
	have_image = pcw_host_id_path(ctl->image, &image) == 0;
	if (have_image && pcw_guard_add(guard, &image, PCW_ET_HOST_IMAGE)) {
		perror("pcwrite");
		exit(1);
	}
	for (fd = 0; fd <= 2; fd++) {
		bool used = fd == 0 ? ctl->from_stdin :
			    fd == 1 ? report_to_stdout(ctl) : true;

		if (pcw_host_id_fd(fd, &id))
			continue;
		if (closed & (1U << fd)) {
			pcw_guard_add(guard, &id, closed_code[fd]);
			continue;
		}
		/* 1<>IMAGE, 2>>IMAGE, <IMAGE as the SOURCE */
		if (used && have_image && pcw_host_overlap(&image, &id)) {
			if (fd == STDERR_FILENO)
				silence_stderr();
			refuse(std_names[fd], NULL, PCW_ET_HOST_IMAGE);
		}
		if ((fd == 1 && report_to_stdout(ctl)) ||
		    (fd == 2 && report_to_stderr(ctl)))
			pcw_guard_add(guard, &id, PCW_ET_HOST_REPORT);
	}
	/* An existing undo file is refused, never replaced. */
	if (ctl->undo_file && lstat(ctl->undo_file, &st) == 0) {
		errcode_t code = pcw_guard_check_path(guard, ctl->undo_file);

		option_error("undo file", ctl->undo_file,
			     code ? code : PCW_ET_UNDO_EXISTS, EXIT_USAGE);
	}
	return guard;
}

void cli_host_files_source(struct pcw_guard *guard, const char *what,
			   const char *name, int fd)
{
	struct pcw_host_id id;
	errcode_t code;

	if (pcw_host_id_fd(fd, &id))
		return;
	/* Two sources may be one file (hard links): only the report may not. */
	code = pcw_guard_check_id(guard, &id);
	if (code && code != PCW_ET_HOST_SOURCE)
		refuse(name ? what : std_names[0], name, code);
	pcw_guard_add(guard, &id, PCW_ET_HOST_SOURCE);
}

/*
 * The report file: opened without truncating it, compared, and only then
 * emptied, so that a report file that is the image or a SOURCE is left as
 * it was.  NULL when the report goes to a standard stream (or nowhere).
 */
FILE *cli_host_files_report(const struct cli_control *ctl,
			    struct pcw_guard *guard)
{
	const char *path = ctl->report_file;
	struct pcw_host_id id;
	struct stat st;
	errcode_t code;
	FILE *f;
	int fd;

	if (ctl->report == REPORT_NONE || !path)
		return NULL;
	if (pcw_host_create(path, 0666, &fd) == 0) {
		created_report = path;
		created_report_fd = fd;
	} else if (errno == EEXIST) {
		fd = open(path, O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC,
			  0666);
	}
	if (fd < 0 || fstat(fd, &st) < 0)
		option_error("report file", path, errno, 1);
	if (pcw_host_id_stat(&st, &id) == 0) {
		code = pcw_guard_check_id(guard, &id);
		if (code)
			option_error("report file", path, code, EXIT_USAGE);
		pcw_guard_add(guard, &id, PCW_ET_HOST_REPORT);
	}
	if (S_ISREG(st.st_mode) && ftruncate(fd, 0) < 0)
		option_error("report file", path, errno, 1);
	f = fdopen(fd, "w");
	if (!f) {
		perror("pcwrite");
		exit(1);
	}
	return f;
}

/*
 * The undo file, created new and empty (O_EXCL|O_NOFOLLOW) as the last
 * thing before the image is opened; pcw_fs_open takes the descriptor over.
 */
int cli_host_files_undo(const struct cli_control *ctl, struct pcw_guard *guard)
{
	const char *path = ctl->undo_file;
	errcode_t err, code;
	int fd;

	if (!path)
		return -1;
	err = pcw_host_create(path, 0600, &fd);
	if (err == EEXIST) {
		/* made since the first look: by the report file? */
		code = pcw_guard_check_path(guard, path);
		option_error("undo file", path, code ? code : PCW_ET_UNDO_EXISTS,
			     EXIT_USAGE);
	}
	if (err)
		option_error("undo file", path, err, 1);
	return fd;
}

/* From here on, a report file the run created is the run's. */
void cli_host_files_keep(void)
{
	created_report = NULL;
}
