package command

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/mapper"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Options say how a command runs; local.Command and local.run share them (upstream's BaseInputs,
// provider/pkg/provider/local/base.go, less assetPaths and archivePaths).
type Options struct {
	Dir                    *string           `pulumi:"dir,optional"`
	Environment            map[string]string `pulumi:"environment,optional"`
	Interpreter            []string          `pulumi:"interpreter,optional"`
	Stdin                  *string           `pulumi:"stdin,optional"`
	Logging                *string           `pulumi:"logging,optional"`
	AddPreviousOutputInEnv *bool             `pulumi:"addPreviousOutputInEnv,optional"`
}

// Outputs are what a run of a command leaves: its stdout and stderr, each less one final newline.
type Outputs struct {
	Stdout string `pulumi:"stdout,optional"`
	Stderr string `pulumi:"stderr,optional"`
}

// CommandArgs are the inputs of a command:local:Command (upstream's common.ResourceInputs plus
// BaseInputs).
type CommandArgs struct {
	Triggers []any   `pulumi:"triggers,optional"`
	Create   *string `pulumi:"create,optional"`
	Update   *string `pulumi:"update,optional"`
	Delete   *string `pulumi:"delete,optional"`
	Options
}

// CommandState is the state of a command:local:Command: its inputs and its last outputs.
type CommandState struct {
	CommandArgs
	Outputs
}

// RunArgs are the arguments of the command:local:run function.
type RunArgs struct {
	Command string `pulumi:"command"`
	Options
}

// inputKeys are the input properties of a Command; Check drops any other key, as upstream does.
var inputKeys = []resource.PropertyKey{
	"triggers", "create", "update", "delete", "dir", "environment", "interpreter", "stdin",
	"logging", "addPreviousOutputInEnv", "assetPaths", "archivePaths",
}

// loggingValues are the values of upstream's Logging enum (local/logging.go).
var loggingValues = []string{"stdout", "stderr", "stdoutAndStderr", "none"}

// decode copies props into dst, a pointer to one of the structs above, with secrets unwrapped.
// Unknown values (only in previews) decode as absent.
func decode(props resource.PropertyMap, dst any) []*pulumirpc.CheckFailure {
	var plain func(v resource.PropertyValue) (any, bool)
	plain = func(v resource.PropertyValue) (any, bool) {
		switch {
		case v.IsSecret():
			return v.SecretValue().Element.MapRepl(nil, plain), true
		case v.IsComputed():
			return nil, true
		}
		return nil, false
	}
	err := mapper.MapIU(props.MapRepl(nil, plain), dst)
	if err == nil {
		return nil
	}
	var failures []*pulumirpc.CheckFailure
	for _, f := range err.Failures() {
		failure := &pulumirpc.CheckFailure{Reason: f.Error()}
		if fe, ok := f.(mapper.FieldError); ok {
			// The mapper names a nested field `environment[A] value`: report the property.
			failure.Property, _, _ = strings.Cut(fe.Field(), "[")
		}
		failures = append(failures, failure)
	}
	return failures
}

// failed turns decoding failures outside Check (where the engine has checked the inputs already)
// into one error.
func failed(failures []*pulumirpc.CheckFailure) error {
	if len(failures) == 0 {
		return nil
	}
	return fmt.Errorf("invalid properties: %v", failures)
}

// onlyInputs returns the input properties of props.
func onlyInputs(props resource.PropertyMap) resource.PropertyMap {
	inputs := resource.PropertyMap{}
	for _, k := range inputKeys {
		if v, ok := props[k]; ok {
			inputs[k] = v
		}
	}
	return inputs
}

// checkCommand validates a Command's inputs and returns the ones it keeps.
func checkCommand(news resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	kept, known := onlyInputs(news), resource.PropertyMap{}
	for k, v := range kept {
		// A value still unknown in a preview is checked when it is known.
		if !v.ContainsUnknowns() {
			known[k] = v
		}
	}
	var args CommandArgs
	failures := decode(known, &args)
	for _, k := range []resource.PropertyKey{"assetPaths", "archivePaths"} {
		if _, ok := kept[k]; ok {
			failures = append(failures, &pulumirpc.CheckFailure{
				Property: string(k), Reason: "not implemented by this build of the command provider",
			})
		}
	}
	if args.Logging != nil && !slices.Contains(loggingValues, *args.Logging) {
		failures = append(failures, &pulumirpc.CheckFailure{
			Property: "logging", Reason: fmt.Sprintf("must be one of %v", loggingValues),
		})
	}
	return kept, failures
}

// withOutputs returns the state to record: the inputs exactly as given (so secrets stay secret
// and, in a preview, unknowns stay unknown) plus stdout and stderr, unknown if out is nil.
func withOutputs(inputs resource.PropertyMap, out *Outputs) resource.PropertyMap {
	state := inputs.Copy()
	if out == nil {
		state["stdout"] = resource.MakeComputed(resource.NewProperty(""))
		state["stderr"] = resource.MakeComputed(resource.NewProperty(""))
	} else {
		state["stdout"] = resource.NewProperty(out.Stdout)
		state["stderr"] = resource.NewProperty(out.Stderr)
	}
	return state
}

// diffCommand decides what going from olds to news (both inputs) does: nothing, an update in
// place, or a replacement when triggers change. Upstream (pulumi-go-provider's default diff)
// compares old and new inputs the same way, secrets and unknowns included: a value that turns
// secret or is unknown in a preview counts as a change. Upstream's diff itself replaces only
// when triggers as a whole come or go, and its SDKs add replaceOnChanges ["triggers[*]"] for
// the rest; here any change within triggers replaces, so the result is the same without it.
func diffCommand(olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		HasDetailedDiff: true,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
	}
	for path, d := range plugin.NewDetailedDiffFromObjectDiff(olds.Diff(news), true) {
		top := path
		if p, err := resource.ParsePropertyPath(path); err == nil && len(p) > 0 {
			if s, ok := p[0].(string); ok {
				top = s
			}
		}
		if top == "triggers" {
			d.Kind = d.Kind.AsReplace()
			if !slices.Contains(resp.Replaces, top) {
				resp.Replaces = append(resp.Replaces, top)
			}
		}
		if !slices.Contains(resp.Diffs, top) {
			resp.Diffs = append(resp.Diffs, top)
		}
		// plugin.DiffKind and the wire's PropertyDiff_Kind number their kinds alike.
		resp.DetailedDiff[path] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_Kind(d.Kind), InputDiff: true}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	slices.Sort(resp.Replaces)
	slices.Sort(resp.Diffs)
	return resp
}
