// pulumi-resource-random is the random provider plugin. schema.json and bridge-metadata.json are
// written here by pulumi-tfgen-random before this is built (scripts/pulumi-toolchain.sh).
package main

import (
	"context"
	_ "embed"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"ha-stack/toolchain/random"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	meta := pf.ProviderMetadata{PackageSchema: schema, BridgeMetadata: metadata}
	pf.Main(context.Background(), "random", random.Provider(metadata), meta)
}
