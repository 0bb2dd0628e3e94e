//go:build !windows

package command

import (
	"os/exec"
	"syscall"
)

// killTree makes cmd, when its context ends, kill its whole process group and not just the
// interpreter: a shell's children would otherwise live on and keep its output open, so that the
// run would not end (upstream kills the interpreter alone).
func killTree(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
