package command

import "os/exec"

// killTree leaves cmd as it is: when its context ends, the interpreter alone is killed.
func killTree(*exec.Cmd) {}
