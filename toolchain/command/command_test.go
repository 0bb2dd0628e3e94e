package command

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	pschema "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type pm = resource.PropertyMap

var (
	str      = resource.NewProperty[string]
	secret   = func(s string) resource.PropertyValue { return resource.MakeSecret(str(s)) }
	unknown  = resource.MakeComputed(str(""))
	list     = func(vs ...resource.PropertyValue) resource.PropertyValue { return resource.NewProperty(vs) }
	object   = func(m pm) resource.PropertyValue { return resource.NewProperty(m) }
	boolean  = func(b bool) resource.PropertyValue { return resource.NewProperty(b) }
	number   = func(n float64) resource.PropertyValue { return resource.NewProperty(n) }
	baseline = pm{
		"create":      str("echo create"),
		"update":      str("echo update"),
		"delete":      str("echo delete"),
		"dir":         str("/tmp"),
		"environment": object(pm{"A": str("1"), "TOKEN": secret("s3cret")}),
		"interpreter": list(str("/bin/bash"), str("-c")),
		"stdin":       str("in"),
		"logging":     str("none"),
		"triggers":    list(str("a"), number(1), object(pm{"k": secret("v")})),
	}
)

// with returns baseline with k set to v, or deleted if v is nil.
func with(changes pm) pm {
	m := baseline.Copy()
	for k, v := range changes {
		if v.IsNull() {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func TestDiffCommand(t *testing.T) {
	null := resource.NewNullProperty()
	tests := []struct {
		name     string
		olds     pm
		news     pm
		replace  bool
		diffs    []string // top-level properties that differ; none means no change
		detailed map[string]pulumirpc.PropertyDiff_Kind
	}{
		{name: "same", olds: baseline, news: baseline.Copy()},
		{name: "both empty", olds: pm{}, news: pm{}},
		{name: "same secrets", olds: pm{"create": secret("x")}, news: pm{"create": secret("x")}},
		{
			name: "create changes: update", olds: baseline, news: with(pm{"create": str("echo 2")}),
			diffs: []string{"create"}, detailed: map[string]pulumirpc.PropertyDiff_Kind{"create": pulumirpc.PropertyDiff_UPDATE},
		},
		{name: "update changes: update", olds: baseline, news: with(pm{"update": str("x")}), diffs: []string{"update"}},
		{name: "delete removed: update", olds: baseline, news: with(pm{"delete": null}), diffs: []string{"delete"},
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"delete": pulumirpc.PropertyDiff_DELETE}},
		{name: "dir changes: update", olds: baseline, news: with(pm{"dir": str("/")}), diffs: []string{"dir"}},
		{name: "stdin changes: update", olds: baseline, news: with(pm{"stdin": str("")}), diffs: []string{"stdin"}},
		{name: "logging changes: update", olds: baseline, news: with(pm{"logging": str("stdout")}), diffs: []string{"logging"}},
		{name: "interpreter changes: update", olds: baseline, news: with(pm{"interpreter": list(str("sh"), str("-c"))}),
			diffs: []string{"interpreter"}},
		{name: "addPreviousOutputInEnv added: update", olds: baseline, news: with(pm{"addPreviousOutputInEnv": boolean(false)}),
			diffs: []string{"addPreviousOutputInEnv"}},
		{
			name: "environment variable added: update", olds: baseline,
			news:  with(pm{"environment": object(pm{"A": str("1"), "B": str("2"), "TOKEN": secret("s3cret")})}),
			diffs: []string{"environment"}, detailed: map[string]pulumirpc.PropertyDiff_Kind{"environment.B": pulumirpc.PropertyDiff_ADD},
		},
		{
			name: "secret value changes: update", olds: baseline,
			news:  with(pm{"environment": object(pm{"A": str("1"), "TOKEN": secret("other")})}),
			diffs: []string{"environment"},
		},
		{
			// As upstream: the old and new inputs differ in secretness, so they differ.
			name: "value turns secret: update", olds: pm{"create": str("x")}, news: pm{"create": secret("x")},
			diffs: []string{"create"},
		},
		{name: "create unknown in a preview: update", olds: baseline, news: with(pm{"create": unknown}), diffs: []string{"create"}},
		{
			name: "trigger changes: replace", olds: baseline,
			news:    with(pm{"triggers": list(str("b"), number(1), object(pm{"k": secret("v")}))}),
			replace: true, diffs: []string{"triggers"},
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"triggers[0]": pulumirpc.PropertyDiff_UPDATE_REPLACE},
		},
		{
			name: "secret trigger changes: replace", olds: baseline,
			news:    with(pm{"triggers": list(str("a"), number(1), object(pm{"k": secret("w")}))}),
			replace: true, diffs: []string{"triggers"},
		},
		{
			name: "trigger appended: replace", olds: baseline,
			news:    with(pm{"triggers": list(str("a"), number(1), object(pm{"k": secret("v")}), boolean(true))}),
			replace: true, diffs: []string{"triggers"},
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"triggers[3]": pulumirpc.PropertyDiff_ADD_REPLACE},
		},
		{
			name: "triggers added: replace", olds: pm{"create": str("x")}, news: pm{"create": str("x"), "triggers": list(str("a"))},
			replace: true, diffs: []string{"triggers"},
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"triggers": pulumirpc.PropertyDiff_ADD_REPLACE},
		},
		{
			name: "triggers removed: replace", olds: baseline, news: with(pm{"triggers": null}),
			replace: true, diffs: []string{"triggers"},
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"triggers": pulumirpc.PropertyDiff_DELETE_REPLACE},
		},
		{
			name: "trigger unknown in a preview: replace", olds: baseline,
			news:    with(pm{"triggers": list(unknown, number(1), object(pm{"k": secret("v")}))}),
			replace: true, diffs: []string{"triggers"},
		},
		{name: "triggers unknown in a preview: replace", olds: baseline, news: with(pm{"triggers": unknown}),
			replace: true, diffs: []string{"triggers"}},
		{
			name: "trigger and create change: replace", olds: baseline,
			news:    with(pm{"create": str("echo 2"), "triggers": list(str("b"), number(1), object(pm{"k": secret("v")}))}),
			replace: true, diffs: []string{"create", "triggers"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diffCommand(tt.olds, tt.news)
			wantChanges := pulumirpc.DiffResponse_DIFF_NONE
			if len(tt.diffs) > 0 {
				wantChanges = pulumirpc.DiffResponse_DIFF_SOME
			}
			if got.Changes != wantChanges {
				t.Errorf("changes: got %v, want %v", got.Changes, wantChanges)
			}
			if !slices.Equal(got.Diffs, tt.diffs) {
				t.Errorf("diffs: got %v, want %v", got.Diffs, tt.diffs)
			}
			var wantReplaces []string
			if tt.replace {
				wantReplaces = []string{"triggers"}
			}
			if !slices.Equal(got.Replaces, wantReplaces) {
				t.Errorf("replaces: got %v, want %v", got.Replaces, wantReplaces)
			}
			if got.DeleteBeforeReplace {
				t.Error("deleteBeforeReplace: upstream creates the replacement first")
			}
			for path, kind := range tt.detailed {
				if d := got.DetailedDiff[path]; d == nil || d.Kind != kind || !d.InputDiff {
					t.Errorf("detailed diff %s: got %v, want %v", path, d, kind)
				}
			}
			for path, d := range got.DetailedDiff {
				isReplace := d.Kind == pulumirpc.PropertyDiff_ADD_REPLACE || d.Kind == pulumirpc.PropertyDiff_DELETE_REPLACE ||
					d.Kind == pulumirpc.PropertyDiff_UPDATE_REPLACE
				if isReplace != strings.HasPrefix(path, "triggers") {
					t.Errorf("detailed diff %s: %v", path, d.Kind)
				}
			}
		})
	}
}

func TestCheckCommand(t *testing.T) {
	t.Run("valid inputs are kept as they are, other keys dropped", func(t *testing.T) {
		news := with(pm{"extra": str("x"), "addPreviousOutputInEnv": boolean(false)})
		kept, failures := checkCommand(news)
		if len(failures) > 0 {
			t.Fatal(failures)
		}
		if _, ok := kept["extra"]; ok || !kept.DeepEquals(with(pm{"addPreviousOutputInEnv": boolean(false)})) {
			t.Errorf("kept %v", kept)
		}
	})
	t.Run("unknowns are kept and not checked", func(t *testing.T) {
		news := pm{"create": unknown, "environment": object(pm{"A": unknown})}
		kept, failures := checkCommand(news)
		if len(failures) > 0 || !kept.DeepEquals(news) {
			t.Errorf("kept %v, failures %v", kept, failures)
		}
	})
	for _, tt := range []struct {
		name, property string
		news           pm
	}{
		{"create must be a string", "create", pm{"create": number(1)}},
		{"environment must map to strings", "environment", pm{"environment": object(pm{"A": number(1)})}},
		{"interpreter must be a list", "interpreter", pm{"interpreter": str("sh")}},
		{"logging must be a known value", "logging", pm{"logging": str("all")}},
		{"assetPaths is not implemented", "assetPaths", pm{"assetPaths": list(str("*"))}},
		{"archivePaths is not implemented", "archivePaths", pm{"archivePaths": list(str("*"))}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, failures := checkCommand(tt.news)
			if len(failures) != 1 || failures[0].Property != tt.property {
				t.Errorf("failures: %v", failures)
			}
		})
	}
}

func TestSchemaBinds(t *testing.T) {
	var spec pschema.PackageSpec
	if err := json.Unmarshal([]byte(schema()), &spec); err != nil {
		t.Fatal(err)
	}
	// The schema refers to no other package, so the loader is never asked for one.
	pkg, diags, err := pschema.BindSpec(spec, struct{ pschema.Loader }{}, pschema.ValidationOptions{})
	if err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	if pkg.Name != "command" || pkg.Version.String() != Version {
		t.Errorf("package %s %v", pkg.Name, pkg.Version)
	}
	res, ok := pkg.GetResource(commandType)
	if !ok || len(res.InputProperties) != 10 || len(res.Properties) != 12 {
		t.Fatalf("resource %v", res)
	}
	if _, ok := pkg.GetFunction(runToken); !ok {
		t.Error("no function", runToken)
	}
}
