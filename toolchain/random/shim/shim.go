// Package shim exposes the hashicorp/random provider (a plugin-framework provider) to the bridge.
// Go's internal rule is by import path, and this module's path sits under the provider's, so it
// may import the provider's internal package.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	random "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the Terraform provider.
func NewProvider() provider.Provider { return random.New() }
