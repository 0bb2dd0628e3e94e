// pulumi-resource-docker is the docker provider plugin. schema.json and bridge-metadata.json are
// written here by pulumi-tfgen-docker before this is built (scripts/pulumi-toolchain.sh).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"ha-stack/toolchain/docker"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() { tfbridge.Main("docker", docker.Version, docker.Provider(metadata), schema) }
