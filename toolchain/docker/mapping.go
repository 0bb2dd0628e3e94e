// Package docker maps the kreuzwerker Terraform Docker provider onto Pulumi's `docker` package,
// as pulumi-docker does: the same tokens, field names and defaults, so the plugin built from it
// serves the resources the @pulumi/docker SDK declares. pulumi-docker's native docker.Image is
// not here (it is not Terraform code); programs build with RemoteImage.
package docker

import (
	"context"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Version is the plugin's version, the @pulumi/docker version in package-lock.json; the build
// script sets it with -ldflags "-X".
var Version = "0.0.0-dev"

// Provider is the mapping. metadata is tfgen's bridge-metadata.json (empty when generating it).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	p := shim.NewProvider(Version)
	// Upstream deprecated a service network's `name` for an `id` that pulumi-docker's SDK
	// (5.2.0, whose types this plugin serves) does not have: without this every service would
	// warn on every run about a field its program cannot avoid. A network given by its name
	// (what the program does) previews clean after an up.
	undeprecate(p.ResourcesMap["docker_service"], "task_spec", "networks_advanced", "name")
	info := tfbridge.ProviderInfo{
		P:            shimv2.NewProvider(p),
		Name:         "docker",
		Version:      Version,
		GitHubOrg:    "kreuzwerker",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {Default: &tfbridge.DefaultInfo{
				EnvVars: []string{"DOCKER_HOST"},
				ComputeDefault: func(context.Context, tfbridge.ComputeDefaultOptions) (any, error) {
					return "unix:///var/run/docker.sock", nil
				},
			}},
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_config": {Tok: "docker:index/serviceConfig:ServiceConfig"},
			"docker_container": {
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image": {
				Tok:    "docker:index/remoteImage:RemoteImage",
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: "docker:index/getRemoteImage:getRemoteImage"},
		},
	}
	info.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	info.MustApplyAutoAliases()
	info.SetAutonaming(255, "-")
	return info
}

// undeprecate clears the deprecation of the nested attribute at path in r.
func undeprecate(r *schema.Resource, path ...string) {
	for i, name := range path {
		field, ok := r.Schema[name]
		if !ok {
			panic("docker mapping: no attribute " + name + " in the provider's schema")
		}
		if i == len(path)-1 {
			field.Deprecated = ""
			return
		}
		r = field.Elem.(*schema.Resource)
	}
}
