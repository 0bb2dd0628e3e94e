// Package random maps the hashicorp/random Terraform provider onto Pulumi's `random` package, as
// pulumi-random does: tokens random:index/<x>:Random<X>, so the plugin built from it serves the
// resources the @pulumi/random SDK declares.
package random

import (
	"context"
	"errors"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Version is the plugin's version, the @pulumi/random version in package-lock.json; the build
// script sets it with -ldflags "-X".
var Version = "0.0.0-dev"

// Provider is the mapping. metadata is tfgen's bridge-metadata.json (empty when generating it).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "random",
		Version:      Version,
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			// random_bytes has no id attribute of its own.
			"random_bytes": {ComputeID: bytesID},
		},
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	random := func(module, name string) (string, error) {
		return tokens.MakeStandard("random")(module, "Random"+name)
	}
	info.MustComputeTokens(tokens.SingleModule("random_", "index", random))
	info.MustApplyAutoAliases()
	return info
}

// bytesID is a RandomBytes' id: its base64 value.
func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	v, ok := state["base64"]
	if ok && v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !ok || !v.IsString() {
		return "", errors.New("random_bytes: the state has no base64 string to use as its id")
	}
	return resource.ID(v.StringValue()), nil
}
