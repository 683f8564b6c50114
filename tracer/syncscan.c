// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Atomics in code the access probes do not cover (syncscan.h). */
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../analyzer/array.h"
#include "../reports/model.h"
#include "syncscan.h"

/* What one file holds, decoded once. */
struct scanned_file {
	__u64 dev;
	__u64 ino;
	__u64 first_offset;
	size_t atomics;
	bool program;
};

/* A (process, file) already told about. */
struct told {
	__u64 dev;
	__u64 ino;
	__u32 pid;
	bool unseen;		/* an EV_SYNC_UNSEEN was made for it */
};

struct syncscan {
	csh cs;
	bool cs_open;
	struct scanned_file *files;
	size_t nr_files, cap_files;
	struct told *told;
	size_t nr_told, cap_told;
	size_t unreadable;
};

struct syncscan *syncscan__new(void)
{
	struct syncscan *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	if (elf_version(EV_CURRENT) == EV_NONE ||
	    cs_open(CS_ARCH_X86, CS_MODE_64, &sc->cs) != CS_ERR_OK) {
		free(sc);
		errno = EINVAL;
		return NULL;
	}
	sc->cs_open = true;
	/* mnemonics only: the prefix is in them ("lock cmpxchg") */
	cs_option(sc->cs, CS_OPT_DETAIL, CS_OPT_OFF);
	cs_option(sc->cs, CS_OPT_SKIPDATA, CS_OPT_ON);
	return sc;
}

void syncscan__free(struct syncscan *sc)
{
	if (!sc)
		return;
	if (sc->cs_open)
		cs_close(&sc->cs);
	free(sc->files);
	free(sc->told);
	free(sc);
}

/* "lock add", "xchg qword ptr [rdi], rax": an atomic read-modify-write of memory. */
static bool insn_atomic(const cs_insn *insn)
{
	if (!strncmp(insn->mnemonic, "lock ", 5))
		return true;
	return !strcmp(insn->mnemonic, "xchg") && strchr(insn->op_str, '[');
}

/* Counts the atomics of one section; *first: the first's file offset. */
static size_t scan_section(struct syncscan *sc, const __u8 *code, size_t len, __u64 vaddr,
			   __u64 offset, __u64 *first)
{
	cs_insn *insn = cs_malloc(sc->cs);
	const uint8_t *p = code;
	uint64_t addr = vaddr;
	size_t n = 0;

	if (!insn)
		return 0;
	while (len && cs_disasm_iter(sc->cs, &p, &len, &addr, insn)) {
		if (!insn_atomic(insn))
			continue;
		if (!n++ || offset + (insn->address - vaddr) < *first)
			*first = offset + (insn->address - vaddr);
	}
	cs_free(insn, 1);
	return n;
}

static void scan_file(struct syncscan *sc, const char *path, struct scanned_file *f)
{
	size_t shstrndx, phnum, i;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	Elf *elf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sc->unreadable++;
		return;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    elf_getshdrstrndx(elf, &shstrndx) || elf_getphdrnum(elf, &phnum)) {
		sc->unreadable++;
		goto out;
	}
	/* a program (ET_EXEC, or PIE: it names an interpreter), else a library */
	f->program = eh.e_type == ET_EXEC;
	for (i = 0; i < phnum && !f->program; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_INTERP)
			f->program = true;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;
		__u64 first = 0;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || data->d_size < sh.sh_size)
			continue;
		n = scan_section(sc, data->d_buf, sh.sh_size, sh.sh_addr, sh.sh_offset, &first);
		if (n && (!f->atomics || first < f->first_offset))
			f->first_offset = first;
		f->atomics += n;
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
}

size_t syncscan__file(struct syncscan *sc, const char *path, __u64 dev, __u64 ino,
		      __u64 *first_offset, bool *program)
{
	struct scanned_file *f = NULL;
	size_t i;

	for (i = 0; i < sc->nr_files; i++) {
		if (sc->files[i].dev == dev && sc->files[i].ino == ino) {
			f = &sc->files[i];
			break;
		}
	}
	if (!f) {
		if (array__reserve(&sc->files, &sc->cap_files, sc->nr_files + 1,
				   sizeof(*sc->files)))
			return 0;
		f = &sc->files[sc->nr_files++];
		*f = (struct scanned_file){ .dev = dev, .ino = ino };
		scan_file(sc, path, f);
	}
	*first_offset = f->first_offset;
	*program = f->program;
	return f->atomics;
}

static bool told(struct syncscan *sc, const struct trace_mapping *m)
{
	size_t i;

	for (i = 0; i < sc->nr_told; i++)
		if (sc->told[i].pid == m->pid && sc->told[i].dev == m->dev &&
		    sc->told[i].ino == m->ino)
			return true;
	if (!array__reserve(&sc->told, &sc->cap_told, sc->nr_told + 1, sizeof(*sc->told)))
		sc->told[sc->nr_told++] = (struct told){ .dev = m->dev, .ino = m->ino, .pid = m->pid,
							 .unseen = true };
	return false;
}

bool syncscan__mapping(struct syncscan *sc, const struct trace_mapping *m, bool covered,
		       struct ipcrace_event *ev)
{
	__u64 first = 0;
	bool program = false;
	size_t n;

	if (!sc || !(m->prot & PROT_EXEC) || m->path[0] != '/' || covered ||
	    report__module_is_runtime(m->path))
		return false;
	n = syncscan__file(sc, m->path, m->dev, m->ino, &first, &program);
	if (!n || told(sc, m))
		return false;
	memset(ev, 0, sizeof(*ev));
	ev->hdr.kind = IPCRACE_REC_EVENT;
	ev->hdr.size = sizeof(*ev);
	ev->type = EV_SYNC_UNSEEN;
	ev->ts = m->ts;
	ev->pid = m->pid;
	ev->tid = m->pid;
	/* the first atomic where this mapping holds it, else the mapping */
	ev->addr = first >= m->pgoff && first - m->pgoff < m->end - m->start ?
		   m->start + (first - m->pgoff) : m->start;
	ev->arg0 = n;
	ev->arg1 = program ? UNSEEN_CODE_EXECUTABLE : UNSEEN_CODE_LIBRARY;
	return true;
}

bool syncscan__pid_unseen(const struct syncscan *sc, __u32 pid)
{
	size_t i;

	for (i = 0; sc && i < sc->nr_told; i++)
		if (sc->told[i].pid == pid && sc->told[i].unseen)
			return true;
	return false;
}

size_t syncscan__nr_files(const struct syncscan *sc)
{
	return sc ? sc->nr_files : 0;
}

size_t syncscan__unreadable(const struct syncscan *sc)
{
	return sc ? sc->unreadable : 0;
}
