package command

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds a command when the engine sends no timeout (a resource without
// customTimeouts) and every local.run. Upstream has no bound at all; an hour is far above what
// any command of this project takes and still ends one that hangs.
const DefaultTimeout = time.Hour

// run runs command once, as upstream's run (provider/pkg/provider/local/commandOutputs.go) does:
// with the interpreter (default `/bin/sh -c`), in dir (default: this process's working
// directory, which the engine sets to the project's), with this process's environment plus
// opts.Environment plus, unless addPreviousOutputInEnv is false, PULUMI_COMMAND_STDOUT and
// PULUMI_COMMAND_STDERR holding prev's non-empty outputs. A command still running when ctx ends
// or timeout (DefaultTimeout if not positive) passes is killed with all its children. logLine,
// if not nil, gets each line of output that opts.Logging says to log.
func run(ctx context.Context, timeout time.Duration, command string, opts Options, prev Outputs,
	logLine func(string),
) (Outputs, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("timed out after %s", timeout))
	defer cancel()

	args := []string{"/bin/sh", "-c"}
	if runtime.GOOS == "windows" {
		args = []string{"cmd", "/C"}
	}
	if len(opts.Interpreter) > 0 {
		args = opts.Interpreter
	}
	args = append(args[:len(args):len(args)], command) // copies: opts.Interpreter stays as it is
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	killTree(cmd)

	if opts.Dir != nil {
		cmd.Dir = *opts.Dir
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return Outputs{}, err
		}
		cmd.Dir = wd
	}
	// Later entries win, so `environment` overrides the plugin's own variables.
	cmd.Env = os.Environ()
	for k, v := range opts.Environment {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if opts.AddPreviousOutputInEnv == nil || *opts.AddPreviousOutputInEnv {
		if prev.Stdout != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+prev.Stdout)
		}
		if prev.Stderr != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDERR="+prev.Stderr)
		}
	}
	if opts.Stdin != nil && *opts.Stdin != "" {
		cmd.Stdin = strings.NewReader(*opts.Stdin)
	}

	// both is stdout and stderr interleaved, for the error message. Each stream is logged by
	// lines of its own, so that a logged line never mixes the two.
	var stdout, stderr bytes.Buffer
	both := &lines{}
	outLog, errLog := &lines{emit: logLine}, &lines{emit: logLine}
	outs, errs := []io.Writer{&stdout, both}, []io.Writer{&stderr, both}
	logging := "stdoutAndStderr"
	if opts.Logging != nil {
		logging = *opts.Logging
	}
	if logLine != nil && (logging == "stdout" || logging == "stdoutAndStderr") {
		outs = append(outs, outLog)
	}
	if logLine != nil && (logging == "stderr" || logging == "stdoutAndStderr") {
		errs = append(errs, errLog)
	}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(outs...), io.MultiWriter(errs...)

	err := cmd.Run()
	outLog.flush()
	errLog.flush()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		// Upstream's wording: `exit status 2: running "false":` and then the output.
		return Outputs{}, fmt.Errorf("%w: running %q:\n%s", err, command, both.buf.String())
	}
	return Outputs{
		Stdout: strings.TrimSuffix(stdout.String(), "\n"),
		Stderr: strings.TrimSuffix(stderr.String(), "\n"),
	}, nil
}

// lines is an io.Writer that stdout and stderr may share. Without emit it keeps all it is given;
// with emit it calls emit for each complete line and keeps only the rest.
type lines struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(string)
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for l.emit != nil {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		l.emit(string(l.buf.Next(i + 1)[:i]))
	}
	return len(p), nil
}

// flush emits a last line that has no newline.
func (l *lines) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.emit != nil && l.buf.Len() > 0 {
		l.emit(l.buf.String())
	}
}
