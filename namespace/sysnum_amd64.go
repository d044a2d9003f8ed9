// Code generated from golang.org/x/sys/unix zsysnum_linux_amd64.go (v0.50.0); DO NOT EDIT.

//go:build amd64

package namespace

// syscallNumber returns the x86_64 number of a syscall, for the seccomp compiler.
// A switch, not a map: a map literal is built at package init, at every start of the
// binary (container inits, exec helpers, monitors), seccomp or not.
func syscallNumber(name string) (uint32, bool) {
	switch name {
	case "read":
		return 0, true
	case "write":
		return 1, true
	case "open":
		return 2, true
	case "close":
		return 3, true
	case "stat":
		return 4, true
	case "fstat":
		return 5, true
	case "lstat":
		return 6, true
	case "poll":
		return 7, true
	case "lseek":
		return 8, true
	case "mmap":
		return 9, true
	case "mprotect":
		return 10, true
	case "munmap":
		return 11, true
	case "brk":
		return 12, true
	case "rt_sigaction":
		return 13, true
	case "rt_sigprocmask":
		return 14, true
	case "rt_sigreturn":
		return 15, true
	case "ioctl":
		return 16, true
	case "pread64":
		return 17, true
	case "pwrite64":
		return 18, true
	case "readv":
		return 19, true
	case "writev":
		return 20, true
	case "access":
		return 21, true
	case "pipe":
		return 22, true
	case "select":
		return 23, true
	case "sched_yield":
		return 24, true
	case "mremap":
		return 25, true
	case "msync":
		return 26, true
	case "mincore":
		return 27, true
	case "madvise":
		return 28, true
	case "shmget":
		return 29, true
	case "shmat":
		return 30, true
	case "shmctl":
		return 31, true
	case "dup":
		return 32, true
	case "dup2":
		return 33, true
	case "pause":
		return 34, true
	case "nanosleep":
		return 35, true
	case "getitimer":
		return 36, true
	case "alarm":
		return 37, true
	case "setitimer":
		return 38, true
	case "getpid":
		return 39, true
	case "sendfile":
		return 40, true
	case "socket":
		return 41, true
	case "connect":
		return 42, true
	case "accept":
		return 43, true
	case "sendto":
		return 44, true
	case "recvfrom":
		return 45, true
	case "sendmsg":
		return 46, true
	case "recvmsg":
		return 47, true
	case "shutdown":
		return 48, true
	case "bind":
		return 49, true
	case "listen":
		return 50, true
	case "getsockname":
		return 51, true
	case "getpeername":
		return 52, true
	case "socketpair":
		return 53, true
	case "setsockopt":
		return 54, true
	case "getsockopt":
		return 55, true
	case "clone":
		return 56, true
	case "fork":
		return 57, true
	case "vfork":
		return 58, true
	case "execve":
		return 59, true
	case "exit":
		return 60, true
	case "wait4":
		return 61, true
	case "kill":
		return 62, true
	case "uname":
		return 63, true
	case "semget":
		return 64, true
	case "semop":
		return 65, true
	case "semctl":
		return 66, true
	case "shmdt":
		return 67, true
	case "msgget":
		return 68, true
	case "msgsnd":
		return 69, true
	case "msgrcv":
		return 70, true
	case "msgctl":
		return 71, true
	case "fcntl":
		return 72, true
	case "flock":
		return 73, true
	case "fsync":
		return 74, true
	case "fdatasync":
		return 75, true
	case "truncate":
		return 76, true
	case "ftruncate":
		return 77, true
	case "getdents":
		return 78, true
	case "getcwd":
		return 79, true
	case "chdir":
		return 80, true
	case "fchdir":
		return 81, true
	case "rename":
		return 82, true
	case "mkdir":
		return 83, true
	case "rmdir":
		return 84, true
	case "creat":
		return 85, true
	case "link":
		return 86, true
	case "unlink":
		return 87, true
	case "symlink":
		return 88, true
	case "readlink":
		return 89, true
	case "chmod":
		return 90, true
	case "fchmod":
		return 91, true
	case "chown":
		return 92, true
	case "fchown":
		return 93, true
	case "lchown":
		return 94, true
	case "umask":
		return 95, true
	case "gettimeofday":
		return 96, true
	case "getrlimit":
		return 97, true
	case "getrusage":
		return 98, true
	case "sysinfo":
		return 99, true
	case "times":
		return 100, true
	case "ptrace":
		return 101, true
	case "getuid":
		return 102, true
	case "syslog":
		return 103, true
	case "getgid":
		return 104, true
	case "setuid":
		return 105, true
	case "setgid":
		return 106, true
	case "geteuid":
		return 107, true
	case "getegid":
		return 108, true
	case "setpgid":
		return 109, true
	case "getppid":
		return 110, true
	case "getpgrp":
		return 111, true
	case "setsid":
		return 112, true
	case "setreuid":
		return 113, true
	case "setregid":
		return 114, true
	case "getgroups":
		return 115, true
	case "setgroups":
		return 116, true
	case "setresuid":
		return 117, true
	case "getresuid":
		return 118, true
	case "setresgid":
		return 119, true
	case "getresgid":
		return 120, true
	case "getpgid":
		return 121, true
	case "setfsuid":
		return 122, true
	case "setfsgid":
		return 123, true
	case "getsid":
		return 124, true
	case "capget":
		return 125, true
	case "capset":
		return 126, true
	case "rt_sigpending":
		return 127, true
	case "rt_sigtimedwait":
		return 128, true
	case "rt_sigqueueinfo":
		return 129, true
	case "rt_sigsuspend":
		return 130, true
	case "sigaltstack":
		return 131, true
	case "utime":
		return 132, true
	case "mknod":
		return 133, true
	case "uselib":
		return 134, true
	case "personality":
		return 135, true
	case "ustat":
		return 136, true
	case "statfs":
		return 137, true
	case "fstatfs":
		return 138, true
	case "sysfs":
		return 139, true
	case "getpriority":
		return 140, true
	case "setpriority":
		return 141, true
	case "sched_setparam":
		return 142, true
	case "sched_getparam":
		return 143, true
	case "sched_setscheduler":
		return 144, true
	case "sched_getscheduler":
		return 145, true
	case "sched_get_priority_max":
		return 146, true
	case "sched_get_priority_min":
		return 147, true
	case "sched_rr_get_interval":
		return 148, true
	case "mlock":
		return 149, true
	case "munlock":
		return 150, true
	case "mlockall":
		return 151, true
	case "munlockall":
		return 152, true
	case "vhangup":
		return 153, true
	case "modify_ldt":
		return 154, true
	case "pivot_root":
		return 155, true
	case "_sysctl":
		return 156, true
	case "prctl":
		return 157, true
	case "arch_prctl":
		return 158, true
	case "adjtimex":
		return 159, true
	case "setrlimit":
		return 160, true
	case "chroot":
		return 161, true
	case "sync":
		return 162, true
	case "acct":
		return 163, true
	case "settimeofday":
		return 164, true
	case "mount":
		return 165, true
	case "umount2":
		return 166, true
	case "swapon":
		return 167, true
	case "swapoff":
		return 168, true
	case "reboot":
		return 169, true
	case "sethostname":
		return 170, true
	case "setdomainname":
		return 171, true
	case "iopl":
		return 172, true
	case "ioperm":
		return 173, true
	case "create_module":
		return 174, true
	case "init_module":
		return 175, true
	case "delete_module":
		return 176, true
	case "get_kernel_syms":
		return 177, true
	case "query_module":
		return 178, true
	case "quotactl":
		return 179, true
	case "nfsservctl":
		return 180, true
	case "getpmsg":
		return 181, true
	case "putpmsg":
		return 182, true
	case "afs_syscall":
		return 183, true
	case "tuxcall":
		return 184, true
	case "security":
		return 185, true
	case "gettid":
		return 186, true
	case "readahead":
		return 187, true
	case "setxattr":
		return 188, true
	case "lsetxattr":
		return 189, true
	case "fsetxattr":
		return 190, true
	case "getxattr":
		return 191, true
	case "lgetxattr":
		return 192, true
	case "fgetxattr":
		return 193, true
	case "listxattr":
		return 194, true
	case "llistxattr":
		return 195, true
	case "flistxattr":
		return 196, true
	case "removexattr":
		return 197, true
	case "lremovexattr":
		return 198, true
	case "fremovexattr":
		return 199, true
	case "tkill":
		return 200, true
	case "time":
		return 201, true
	case "futex":
		return 202, true
	case "sched_setaffinity":
		return 203, true
	case "sched_getaffinity":
		return 204, true
	case "set_thread_area":
		return 205, true
	case "io_setup":
		return 206, true
	case "io_destroy":
		return 207, true
	case "io_getevents":
		return 208, true
	case "io_submit":
		return 209, true
	case "io_cancel":
		return 210, true
	case "get_thread_area":
		return 211, true
	case "lookup_dcookie":
		return 212, true
	case "epoll_create":
		return 213, true
	case "epoll_ctl_old":
		return 214, true
	case "epoll_wait_old":
		return 215, true
	case "remap_file_pages":
		return 216, true
	case "getdents64":
		return 217, true
	case "set_tid_address":
		return 218, true
	case "restart_syscall":
		return 219, true
	case "semtimedop":
		return 220, true
	case "fadvise64":
		return 221, true
	case "timer_create":
		return 222, true
	case "timer_settime":
		return 223, true
	case "timer_gettime":
		return 224, true
	case "timer_getoverrun":
		return 225, true
	case "timer_delete":
		return 226, true
	case "clock_settime":
		return 227, true
	case "clock_gettime":
		return 228, true
	case "clock_getres":
		return 229, true
	case "clock_nanosleep":
		return 230, true
	case "exit_group":
		return 231, true
	case "epoll_wait":
		return 232, true
	case "epoll_ctl":
		return 233, true
	case "tgkill":
		return 234, true
	case "utimes":
		return 235, true
	case "vserver":
		return 236, true
	case "mbind":
		return 237, true
	case "set_mempolicy":
		return 238, true
	case "get_mempolicy":
		return 239, true
	case "mq_open":
		return 240, true
	case "mq_unlink":
		return 241, true
	case "mq_timedsend":
		return 242, true
	case "mq_timedreceive":
		return 243, true
	case "mq_notify":
		return 244, true
	case "mq_getsetattr":
		return 245, true
	case "kexec_load":
		return 246, true
	case "waitid":
		return 247, true
	case "add_key":
		return 248, true
	case "request_key":
		return 249, true
	case "keyctl":
		return 250, true
	case "ioprio_set":
		return 251, true
	case "ioprio_get":
		return 252, true
	case "inotify_init":
		return 253, true
	case "inotify_add_watch":
		return 254, true
	case "inotify_rm_watch":
		return 255, true
	case "migrate_pages":
		return 256, true
	case "openat":
		return 257, true
	case "mkdirat":
		return 258, true
	case "mknodat":
		return 259, true
	case "fchownat":
		return 260, true
	case "futimesat":
		return 261, true
	case "newfstatat":
		return 262, true
	case "unlinkat":
		return 263, true
	case "renameat":
		return 264, true
	case "linkat":
		return 265, true
	case "symlinkat":
		return 266, true
	case "readlinkat":
		return 267, true
	case "fchmodat":
		return 268, true
	case "faccessat":
		return 269, true
	case "pselect6":
		return 270, true
	case "ppoll":
		return 271, true
	case "unshare":
		return 272, true
	case "set_robust_list":
		return 273, true
	case "get_robust_list":
		return 274, true
	case "splice":
		return 275, true
	case "tee":
		return 276, true
	case "sync_file_range":
		return 277, true
	case "vmsplice":
		return 278, true
	case "move_pages":
		return 279, true
	case "utimensat":
		return 280, true
	case "epoll_pwait":
		return 281, true
	case "signalfd":
		return 282, true
	case "timerfd_create":
		return 283, true
	case "eventfd":
		return 284, true
	case "fallocate":
		return 285, true
	case "timerfd_settime":
		return 286, true
	case "timerfd_gettime":
		return 287, true
	case "accept4":
		return 288, true
	case "signalfd4":
		return 289, true
	case "eventfd2":
		return 290, true
	case "epoll_create1":
		return 291, true
	case "dup3":
		return 292, true
	case "pipe2":
		return 293, true
	case "inotify_init1":
		return 294, true
	case "preadv":
		return 295, true
	case "pwritev":
		return 296, true
	case "rt_tgsigqueueinfo":
		return 297, true
	case "perf_event_open":
		return 298, true
	case "recvmmsg":
		return 299, true
	case "fanotify_init":
		return 300, true
	case "fanotify_mark":
		return 301, true
	case "prlimit64":
		return 302, true
	case "name_to_handle_at":
		return 303, true
	case "open_by_handle_at":
		return 304, true
	case "clock_adjtime":
		return 305, true
	case "syncfs":
		return 306, true
	case "sendmmsg":
		return 307, true
	case "setns":
		return 308, true
	case "getcpu":
		return 309, true
	case "process_vm_readv":
		return 310, true
	case "process_vm_writev":
		return 311, true
	case "kcmp":
		return 312, true
	case "finit_module":
		return 313, true
	case "sched_setattr":
		return 314, true
	case "sched_getattr":
		return 315, true
	case "renameat2":
		return 316, true
	case "seccomp":
		return 317, true
	case "getrandom":
		return 318, true
	case "memfd_create":
		return 319, true
	case "kexec_file_load":
		return 320, true
	case "bpf":
		return 321, true
	case "execveat":
		return 322, true
	case "userfaultfd":
		return 323, true
	case "membarrier":
		return 324, true
	case "mlock2":
		return 325, true
	case "copy_file_range":
		return 326, true
	case "preadv2":
		return 327, true
	case "pwritev2":
		return 328, true
	case "pkey_mprotect":
		return 329, true
	case "pkey_alloc":
		return 330, true
	case "pkey_free":
		return 331, true
	case "statx":
		return 332, true
	case "io_pgetevents":
		return 333, true
	case "rseq":
		return 334, true
	case "uretprobe":
		return 335, true
	case "uprobe":
		return 336, true
	case "pidfd_send_signal":
		return 424, true
	case "io_uring_setup":
		return 425, true
	case "io_uring_enter":
		return 426, true
	case "io_uring_register":
		return 427, true
	case "open_tree":
		return 428, true
	case "move_mount":
		return 429, true
	case "fsopen":
		return 430, true
	case "fsconfig":
		return 431, true
	case "fsmount":
		return 432, true
	case "fspick":
		return 433, true
	case "pidfd_open":
		return 434, true
	case "clone3":
		return 435, true
	case "close_range":
		return 436, true
	case "openat2":
		return 437, true
	case "pidfd_getfd":
		return 438, true
	case "faccessat2":
		return 439, true
	case "process_madvise":
		return 440, true
	case "epoll_pwait2":
		return 441, true
	case "mount_setattr":
		return 442, true
	case "quotactl_fd":
		return 443, true
	case "landlock_create_ruleset":
		return 444, true
	case "landlock_add_rule":
		return 445, true
	case "landlock_restrict_self":
		return 446, true
	case "memfd_secret":
		return 447, true
	case "process_mrelease":
		return 448, true
	case "futex_waitv":
		return 449, true
	case "set_mempolicy_home_node":
		return 450, true
	case "cachestat":
		return 451, true
	case "fchmodat2":
		return 452, true
	case "map_shadow_stack":
		return 453, true
	case "futex_wake":
		return 454, true
	case "futex_wait":
		return 455, true
	case "futex_requeue":
		return 456, true
	case "statmount":
		return 457, true
	case "listmount":
		return 458, true
	case "lsm_get_self_attr":
		return 459, true
	case "lsm_set_self_attr":
		return 460, true
	case "lsm_list_modules":
		return 461, true
	case "mseal":
		return 462, true
	case "setxattrat":
		return 463, true
	case "getxattrat":
		return 464, true
	case "listxattrat":
		return 465, true
	case "removexattrat":
		return 466, true
	case "open_tree_attr":
		return 467, true
	case "file_getattr":
		return 468, true
	case "file_setattr":
		return 469, true
	case "listns":
		return 470, true
	case "rseq_slice_yield":
		return 471, true
	}
	return 0, false
}
