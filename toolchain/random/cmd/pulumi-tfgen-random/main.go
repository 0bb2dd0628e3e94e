// pulumi-tfgen-random writes the random plugin's schema.json and bridge-metadata.json:
// `pulumi-tfgen-random schema --out DIR --skip-docs --skip-examples`.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"ha-stack/toolchain/random"
)

func main() { tfgen.Main("random", random.Provider(nil)) }
