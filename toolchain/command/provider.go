// Package command is a Pulumi resource provider for the `command` package's local.Command resource
// and local.run function, behaving as @pulumi/command's own provider does (github.com/pulumi/
// pulumi-command, provider/pkg/provider/local) for the inputs it implements: all but assetPaths
// and archivePaths.
package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Version is the plugin's version, the @pulumi/command version in package-lock.json; the build
// sets it with -ldflags "-X ha-stack/toolchain/command.Version=...".
var Version = "0.0.0-dev"

const (
	commandType = "command:local:Command"
	runToken    = "command:local:run"
)

// Provider serves the ResourceProvider gRPC service for the `command` package.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	// logStatus shows a line of a command's output in the engine's progress display, as
	// upstream does (nil: not shown).
	logStatus func(ctx context.Context, urn resource.URN, line string)
	// stopped ends when the engine calls Cancel; every command runs under it.
	stopped context.Context
	stop    context.CancelCauseFunc
}

// New returns a Provider that logs to host, if not nil.
func New(host *provider.HostClient) *Provider {
	p := &Provider{}
	p.stopped, p.stop = context.WithCancelCause(context.Background())
	if host != nil {
		p.logStatus = func(ctx context.Context, urn resource.URN, line string) {
			_ = host.LogStatus(ctx, diag.Info, urn, line) // a lost line of output is no failure
		}
	}
	return p
}

// GetPluginInfo reports the plugin's version.
func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// GetSchema returns the schema of what this provider serves.
func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schema()}, nil
}

// CheckConfig accepts any configuration: the provider has none.
func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig reports no change: no configuration change calls for a new provider.
func (p *Provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

// Configure tells the engine to send secrets as secrets and to call Create and Update in previews.
func (p *Provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

// Check validates a Command's inputs.
func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := commandProps(req.GetUrn(), req.GetNews())
	if err != nil {
		return nil, err
	}
	kept, failures := checkCommand(news)
	inputs, err := marshal(kept)
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, err
}

// Diff compares a Command's old inputs with its new ones (see diffCommand).
func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := commandProps(req.GetUrn(), req.GetOldInputs())
	if err == nil && req.GetOldInputs() == nil {
		// An engine that sends no old inputs: the state holds them beside stdout and stderr.
		olds, err = commandProps(req.GetUrn(), req.GetOlds())
		olds = onlyInputs(olds)
	}
	if err != nil {
		return nil, err
	}
	news, err := commandProps(req.GetUrn(), req.GetNews())
	if err != nil {
		return nil, err
	}
	return diffCommand(olds, news), nil
}

// Create runs `create` (nothing in a preview) and records its output.
func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn := resource.URN(req.GetUrn())
	inputs, err := commandProps(req.GetUrn(), req.GetProperties())
	if err != nil {
		return nil, err
	}
	// Upstream's id: the resource's name and 8 random hex digits.
	id, err := resource.NewUniqueHex(urn.Name(), 8, 0)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := marshal(withOutputs(inputs, nil))
		return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
	}
	var args CommandArgs
	if err := failed(decode(inputs, &args)); err != nil {
		return nil, err
	}
	var out Outputs
	if args.Create != nil {
		// Upstream passes no previous output to `create`.
		out, err = p.run(ctx, req.GetTimeout(), urn, *args.Create, args.Options, Outputs{})
		if err != nil {
			return nil, err
		}
	}
	props, err := marshal(withOutputs(inputs, &out))
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
}

// Read returns the state as it is: there is nothing to read a command's outputs from.
func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if _, err := commandProps(req.GetUrn(), req.GetProperties()); err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// Update runs `update`, or `create` if there is no `update` (nothing in a preview), with the
// previous stdout and stderr in its environment.
func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	urn := resource.URN(req.GetUrn())
	olds, err := commandProps(req.GetUrn(), req.GetOlds())
	if err != nil {
		return nil, err
	}
	inputs, err := commandProps(req.GetUrn(), req.GetNews())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := marshal(withOutputs(inputs, nil))
		return &pulumirpc.UpdateResponse{Properties: props}, err
	}
	var old CommandState
	var args CommandArgs
	if err := failed(append(decode(olds, &old), decode(inputs, &args)...)); err != nil {
		return nil, err
	}
	out := old.Outputs // kept as they are when there is nothing to run
	if cmd := args.Create; args.Update != nil || cmd != nil {
		if args.Update != nil {
			cmd = args.Update
		}
		out, err = p.run(ctx, req.GetTimeout(), urn, *cmd, args.Options, old.Outputs)
		if err != nil {
			return nil, err
		}
	}
	props, err := marshal(withOutputs(inputs, &out))
	return &pulumirpc.UpdateResponse{Properties: props}, err
}

// Delete runs `delete`, if any, with the recorded inputs and the last stdout and stderr in its
// environment.
func (p *Provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	state, err := commandProps(req.GetUrn(), req.GetProperties())
	if err != nil {
		return nil, err
	}
	var old CommandState
	if err := failed(decode(state, &old)); err != nil || old.Delete == nil {
		return &emptypb.Empty{}, err
	}
	_, err = p.run(ctx, req.GetTimeout(), resource.URN(req.GetUrn()), *old.Delete, old.Options, old.Outputs)
	return &emptypb.Empty{}, err
}

// Invoke runs command:local:run's command, in previews too (as upstream does), and returns its
// arguments with its stdout and stderr.
func (p *Provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != runToken {
		return nil, fmt.Errorf("unknown function %q", req.GetTok())
	}
	inputs, err := unmarshal(runToken, req.GetArgs())
	if err != nil {
		return nil, err
	}
	var args RunArgs
	if failures := decode(inputs, &args); len(failures) > 0 {
		return &pulumirpc.InvokeResponse{Failures: failures}, nil
	}
	out, err := p.run(ctx, 0, "", args.Command, args.Options, Outputs{})
	if err != nil {
		return nil, err
	}
	ret, err := marshal(withOutputs(inputs, &out))
	return &pulumirpc.InvokeResponse{Return: ret}, err
}

// Cancel kills every running command and makes any later one fail at once: the engine is
// shutting down.
func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.stop(errors.New("cancelled by the engine"))
	return &emptypb.Empty{}, nil
}

// run runs a command for the resource urn (none for an invoke) under the request's context and
// the provider's, within timeout seconds (0: DefaultTimeout).
func (p *Provider) run(ctx context.Context, timeout float64, urn resource.URN, command string,
	opts Options, prev Outputs,
) (Outputs, error) {
	if err := context.Cause(p.stopped); err != nil {
		return Outputs{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(p.stopped, func() { cancel(context.Cause(p.stopped)) })()
	var logLine func(string)
	if p.logStatus != nil {
		logLine = func(line string) { p.logStatus(ctx, urn, line) }
	}
	return run(ctx, time.Duration(timeout*float64(time.Second)), command, opts, prev, logLine)
}

// commandProps decodes the properties of the resource urn, which must be a command:local:Command:
// the engine sends this plugin every `command:` type, command:remote:* too.
func commandProps(urn string, s *structpb.Struct) (resource.PropertyMap, error) {
	if t := resource.URN(urn).Type(); t != commandType {
		return nil, fmt.Errorf("%s is not implemented by this build of the command provider", t)
	}
	return unmarshal(urn, s)
}

// unmarshal and marshal keep secrets and unknowns as they are; label names what is decoded in
// an error.
func unmarshal(label string, s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, SkipNulls: true,
	})
}

func marshal(props resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(props, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
}

// schema is the package schema: the resource and the function this provider serves, with the
// inputs it implements.
func schema() string {
	str := map[string]any{"type": "string"}
	merge := func(ms ...map[string]any) map[string]any {
		m := map[string]any{}
		for _, x := range ms {
			maps.Copy(m, x)
		}
		return m
	}
	options := map[string]any{
		"dir":                    str,
		"environment":            map[string]any{"type": "object", "additionalProperties": str},
		"interpreter":            map[string]any{"type": "array", "items": str},
		"stdin":                  str,
		"logging":                map[string]any{"$ref": "#/types/command:local:Logging"},
		"addPreviousOutputInEnv": map[string]any{"type": "boolean"},
	}
	outputs := map[string]any{"stdout": str, "stderr": str}
	commandInputs := merge(options, map[string]any{
		"create": str, "update": str, "delete": str,
		"triggers": map[string]any{
			"type": "array", "items": map[string]any{"$ref": "pulumi.json#/Any"}, "replaceOnChanges": true,
		},
	})
	runInputs := merge(options, map[string]any{"command": str})
	var enum []any
	for _, v := range loggingValues {
		enum = append(enum, map[string]any{"value": v})
	}
	spec := map[string]any{
		"name":    "command",
		"version": Version,
		"types": map[string]any{
			"command:local:Logging": map[string]any{"type": "string", "enum": enum},
		},
		"resources": map[string]any{commandType: map[string]any{
			"inputProperties": commandInputs,
			"properties":      merge(commandInputs, outputs),
			"required":        []string{"stderr", "stdout"},
		}},
		"functions": map[string]any{runToken: map[string]any{
			"inputs":  map[string]any{"properties": runInputs, "required": []string{"command"}},
			"outputs": map[string]any{"properties": merge(runInputs, outputs), "required": []string{"command", "stderr", "stdout"}},
		}},
	}
	b, err := json.Marshal(spec)
	if err != nil {
		panic(err) // maps of strings and bools always marshal
	}
	return string(b)
}
