package executor

import "syscall"

// childProcAttr puts the child in its own process group (killed whole at the
// deadline) and kills it if the daemon dies first.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
