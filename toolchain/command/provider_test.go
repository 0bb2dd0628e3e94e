package command

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const testURN = "urn:pulumi:dev::cmdtest::command:local:Command::cmd"

func toStruct(t *testing.T, m pm) *structpb.Struct {
	t.Helper()
	s, err := marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fromStruct(t *testing.T, s *structpb.Struct) pm {
	t.Helper()
	m, err := unmarshal("test", s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func create(t *testing.T, p *Provider, inputs pm, preview bool, timeout float64) (pm, error) {
	t.Helper()
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: testURN, Properties: toStruct(t, inputs), Preview: preview, Timeout: timeout,
	})
	if err != nil {
		return nil, err
	}
	if !regexp.MustCompile(`^cmd[0-9a-f]{8}$`).MatchString(resp.Id) {
		t.Errorf("id %q: want the name and 8 hex digits", resp.Id)
	}
	return fromStruct(t, resp.Properties), nil
}

func update(t *testing.T, p *Provider, olds, news pm, preview bool) (pm, error) {
	t.Helper()
	resp, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: testURN, Id: "cmd0", Olds: toStruct(t, olds), News: toStruct(t, news), Preview: preview,
	})
	if err != nil {
		return nil, err
	}
	return fromStruct(t, resp.Properties), nil
}

func deleteState(t *testing.T, p *Provider, state pm) error {
	t.Helper()
	_, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testURN, Id: "cmd0", Properties: toStruct(t, state)})
	return err
}

// outputs returns a state's stdout and stderr.
func outputs(t *testing.T, state pm) (string, string) {
	t.Helper()
	if !state["stdout"].IsString() || !state["stderr"].IsString() {
		t.Fatalf("stdout and stderr must be plain strings: %v", state)
	}
	return state["stdout"].StringValue(), state["stderr"].StringValue()
}

func TestCreateRunsCommand(t *testing.T) {
	dir := t.TempDir()
	workdir := t.TempDir()
	t.Chdir(workdir)
	t.Setenv("HS_FROM_PLUGIN", "plugin")
	t.Setenv("HS_OVERRIDDEN", "plugin")
	tests := []struct {
		name           string
		inputs         pm
		stdout, stderr string
	}{
		{
			name: "environment, dir and stdin",
			inputs: pm{
				"create":      str(`printf '%s %s %s %s ' "$FOO" "$HS_FROM_PLUGIN" "$HS_OVERRIDDEN" "$(pwd)"; cat; echo; echo warn >&2`),
				"environment": object(pm{"FOO": secret("bar"), "HS_OVERRIDDEN": str("input")}),
				"dir":         str(dir),
				"stdin":       str("from-stdin"),
			},
			stdout: "bar plugin input " + dir + " from-stdin", stderr: "warn",
		},
		{
			name:   "default dir is the plugin's working directory, default interpreter /bin/sh -c",
			inputs: pm{"create": str(`echo "$0"; pwd`)},
			stdout: "/bin/sh\n" + workdir,
		},
		{name: "interpreter", inputs: pm{"create": str("hello"), "interpreter": list(str("/bin/echo"), str("via"))}, stdout: "via hello"},
		{name: "one final newline trimmed", inputs: pm{"create": str(`printf 'x\n\n'; printf 'y\n' >&2`)}, stdout: "x\n", stderr: "y"},
		{name: "no previous output on create", inputs: pm{"create": str(`echo "[$PULUMI_COMMAND_STDOUT]"`)}, stdout: "[]"},
		{name: "no create: nothing runs", inputs: pm{"delete": str("echo bye")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, err := create(t, New(nil), tt.inputs, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			if stdout, stderr := outputs(t, state); stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("got stdout %q stderr %q, want %q %q", stdout, stderr, tt.stdout, tt.stderr)
			}
			for k, v := range tt.inputs {
				if !state[k].DeepEquals(v) {
					t.Errorf("input %s: got %v, want it as given, %v", k, state[k], v)
				}
			}
		})
	}
}

func TestUpdateRunsUpdateOrCreate(t *testing.T) {
	olds := pm{"create": str("echo one"), "stdout": str("one"), "stderr": str("e1")}
	tests := []struct {
		name           string
		news           pm
		stdout, stderr string
	}{
		{
			name:   "update, with the previous output",
			news:   pm{"create": str("echo two"), "update": str(`echo "$PULUMI_COMMAND_STDOUT/$PULUMI_COMMAND_STDERR"`)},
			stdout: "one/e1",
		},
		{name: "no update: create", news: pm{"create": str(`echo "again:$PULUMI_COMMAND_STDOUT"`)}, stdout: "again:one"},
		{
			name:   "addPreviousOutputInEnv false",
			news:   pm{"create": str(`echo "[$PULUMI_COMMAND_STDOUT]"`), "addPreviousOutputInEnv": boolean(false)},
			stdout: "[]",
		},
		{name: "neither: outputs kept", news: pm{"delete": str("true")}, stdout: "one", stderr: "e1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, err := update(t, New(nil), olds, tt.news, false)
			if err != nil {
				t.Fatal(err)
			}
			if stdout, stderr := outputs(t, state); stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("got stdout %q stderr %q, want %q %q", stdout, stderr, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestDeleteRunsWithRecordedState(t *testing.T) {
	dir := t.TempDir()
	state := pm{
		"create":      str("echo hi"),
		"delete":      str(`echo "$PULUMI_COMMAND_STDOUT|$X" > deleted.txt`),
		"dir":         str(dir),
		"environment": object(pm{"X": secret("y")}),
		"stdout":      str("last output"),
		"stderr":      str(""),
	}
	if err := deleteState(t, New(nil), state); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "deleted.txt"))
	if err != nil || string(got) != "last output|y\n" {
		t.Errorf("delete wrote %q (%v)", got, err)
	}
	if err := deleteState(t, New(nil), pm{"create": str("echo hi"), "stdout": str("hi"), "stderr": str("")}); err != nil {
		t.Errorf("no delete command: %v", err)
	}
}

func TestFailingCommand(t *testing.T) {
	p := New(nil)
	cmd := "echo out; echo oops >&2; exit 3"
	check := func(step string, err error) {
		t.Helper()
		want := "exit status 3: running \"" + cmd + "\":\n"
		if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "oops") ||
			!strings.Contains(err.Error(), "out") {
			t.Errorf("%s: got error %v, want %q and the output", step, err, want)
		}
	}
	_, err := create(t, p, pm{"create": str(cmd)}, false, 0)
	check("create", err)
	t.Logf("the error: %v", err)
	_, err = update(t, p, pm{"stdout": str(""), "stderr": str("")}, pm{"update": str(cmd)}, false)
	check("update", err)
	check("delete", deleteState(t, p, pm{"delete": str(cmd), "stdout": str(""), "stderr": str("")}))
	_, err = create(t, p, pm{"create": str("true"), "dir": str("/does/not/exist")}, false, 0)
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("missing dir: %v", err)
	}
}

func TestTimeoutKillsTheCommandAndItsChildren(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	start := time.Now()
	// The background child outlives its shell unless the whole group is killed.
	_, err := create(t, New(nil), pm{
		"create":      str(`(sleep 2; touch "$M") & sleep 30`),
		"environment": object(pm{"M": str(marker)}),
	}, false, 1)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "timed out after 1s: signal: killed: running") {
		t.Errorf("error: %v", err)
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the background child was not killed")
	}
}

func TestCancelKillsRunningCommands(t *testing.T) {
	p := New(nil)
	done := make(chan error)
	go func() {
		_, err := p.Invoke(context.Background(), &pulumirpc.InvokeRequest{
			Tok: runToken, Args: toStruct(t, pm{"command": str("sleep 30")}),
		})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := p.Cancel(context.Background(), &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.HasPrefix(err.Error(), "cancelled by the engine: signal: killed") {
			t.Errorf("error: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the command still runs")
	}
	if _, err := create(t, p, pm{"create": str("true")}, false, 0); err == nil || err.Error() != "cancelled by the engine" {
		t.Errorf("a command ran after Cancel: %v", err)
	}
}

func TestPreviewRunsNothing(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	inputs := pm{
		"create":      str(`touch "$M"`),
		"update":      str(`touch "$M"`),
		"dir":         unknown,
		"environment": object(pm{"M": str(marker), "S": secret("s")}),
	}
	check := func(step string, state pm) {
		if !state["stdout"].IsComputed() || !state["stderr"].IsComputed() {
			t.Errorf("%s: stdout and stderr must be unknown: %v", step, state)
		}
		for k, v := range inputs {
			if !state[k].DeepEquals(v) {
				t.Errorf("%s: input %s: got %v, want it as given, %v", step, k, state[k], v)
			}
		}
	}
	state, err := create(t, New(nil), inputs, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	check("create", state)
	state, err = update(t, New(nil), pm{"create": str("true"), "stdout": str("old"), "stderr": str("")}, inputs, true)
	if err != nil {
		t.Fatal(err)
	}
	check("update", state)
	if _, err := os.Stat(marker); err == nil {
		t.Error("a preview ran the command")
	}
}

func TestInvokeRun(t *testing.T) {
	p := New(nil)
	args := pm{"command": str(`echo "$X"; echo e >&2`), "environment": object(pm{"X": secret("x")})}
	resp, err := p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: runToken, Args: toStruct(t, args)})
	if err != nil || len(resp.Failures) > 0 {
		t.Fatal(err, resp.GetFailures())
	}
	ret := fromStruct(t, resp.Return)
	if stdout, stderr := outputs(t, ret); stdout != "x" || stderr != "e" || !ret["environment"].DeepEquals(args["environment"]) {
		t.Errorf("returned %v", ret)
	}

	resp, err = p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: runToken, Args: toStruct(t, pm{"dir": str("/")})})
	if err != nil || len(resp.Failures) != 1 || resp.Failures[0].Property != "command" {
		t.Errorf("no command: %v %v", resp, err)
	}
	_, err = p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: runToken, Args: toStruct(t, pm{"command": str("exit 4")})})
	if err == nil || !strings.HasPrefix(err.Error(), "exit status 4: running \"exit 4\"") {
		t.Errorf("failing command: %v", err)
	}
	if _, err = p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: "command:local:other"}); err == nil {
		t.Error("unknown function: no error")
	}
}

func TestLogging(t *testing.T) {
	for logging, want := range map[string][]string{"": {"a", "b"}, "stdout": {"a"}, "stderr": {"b"}, "none": nil} {
		t.Run(logging, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			p := New(nil)
			p.logStatus = func(_ context.Context, urn resource.URN, line string) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, line)
				if urn != testURN {
					t.Errorf("urn %s", urn)
				}
			}
			inputs := pm{"create": str("echo a; printf b >&2")}
			if logging != "" {
				inputs["logging"] = str(logging)
			}
			if _, err := create(t, p, inputs, false, 0); err != nil {
				t.Fatal(err)
			}
			slices.Sort(got) // stdout and stderr are read concurrently
			if !slices.Equal(got, want) {
				t.Errorf("logged %q, want %q", got, want)
			}
		})
	}
}

func TestOtherTypesAndMethods(t *testing.T) {
	p := New(nil)
	remote := "urn:pulumi:dev::cmdtest::command:remote:Command::r"
	if _, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: remote, News: toStruct(t, pm{})}); err == nil {
		t.Error("command:remote:Command accepted")
	}
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: testURN, News: toStruct(t, pm{"create": number(1), "extra": str("x")}),
	})
	if err != nil || len(resp.Failures) != 1 || len(resp.Inputs.Fields) != 1 {
		t.Errorf("check: %v %v", resp, err)
	}
	diff, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn:  testURN,
		Olds: toStruct(t, pm{"create": str("a"), "stdout": str("x"), "stderr": str("")}),
		News: toStruct(t, pm{"create": str("a")}),
	})
	if err != nil || diff.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("diff against the state, stdout and stderr aside: %v %v", diff, err)
	}
	info, err := p.GetPluginInfo(context.Background(), &emptypb.Empty{})
	if err != nil || info.Version != Version {
		t.Errorf("plugin info %v %v", info, err)
	}
	conf, err := p.Configure(context.Background(), &pulumirpc.ConfigureRequest{})
	if err != nil || !conf.AcceptSecrets || !conf.SupportsPreview {
		t.Errorf("configure %v %v", conf, err)
	}
}
