/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmini's exit status, documented in README ("Exit status"). Keep the two
 * in step. The isa-debug-exit port (tests only) returns (v << 1) | 1, which
 * test guests keep above these by writing values >= 0x10.
 */
#ifndef KVMINI_EXITCODE_H
#define KVMINI_EXITCODE_H

enum kvmini_exit {
	EXIT_POWEROFF = 0,	/* the guest powered off (ACPI S5) */
	EXIT_VMM_ERROR = 1,	/* kvmini failed: setup error or fatal runtime error */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_REBOOT = 3,	/* the guest asked for a reset (i8042, ACPI reset register, 0xcf9) */
	EXIT_SHUTDOWN = 4,	/* triple fault: KVM_EXIT_SHUTDOWN */
	EXIT_GUEST_ERROR = 5,	/* the guest hit something KVM cannot run (emulation failure) */
	EXIT_USER_QUIT = 6,	/* Ctrl-A x on the console, or "stop" on the api socket */
	EXIT_SECCOMP = 7,	/* a thread made a system call its seccomp filter forbids */
};

#define EXIT_VMM_ERROR_CODE EXIT_VMM_ERROR

#endif
