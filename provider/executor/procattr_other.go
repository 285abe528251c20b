//go:build !linux

package executor

import "syscall"

// childProcAttr puts the child in its own process group (killed whole at the
// deadline).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
