// Package shim exposes the kreuzwerker Docker provider's schema.Provider to the bridge. Go's
// internal rule is by import path, and this module's path sits under the provider's, so it may
// import the provider's internal package.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the Terraform provider at the given version.
func NewProvider(version string) *schema.Provider {
	return provider.New(version)()
}
