// pulumi-tfgen-docker writes the docker plugin's schema.json and bridge-metadata.json:
// `pulumi-tfgen-docker schema --out DIR --skip-docs --skip-examples`.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"ha-stack/toolchain/docker"
)

func main() { tfgen.Main("docker", docker.Version, docker.Provider(nil)) }
