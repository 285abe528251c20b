package types

import (
	"fmt"
	"strings"

	errorsmod "cosmossdk.io/errors"
)

// Validate reports whether r is a role that can be granted.
func (r Role) Validate() error {
	switch r {
	case Role_ROLE_VALIDATOR, Role_ROLE_PROVIDER:
		return nil
	default:
		return errorsmod.Wrapf(ErrInvalidRole, "%d is not VALIDATOR or PROVIDER", int32(r))
	}
}

// ParseRole accepts "validator", "VALIDATOR" or "ROLE_VALIDATOR" (and the same for provider).
func ParseRole(s string) (Role, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "ROLE_") {
		name = "ROLE_" + name
	}
	v, ok := Role_value[name]
	if !ok || Role(v).Validate() != nil {
		return Role_ROLE_UNSPECIFIED, errorsmod.Wrapf(ErrInvalidRole, "%q: want validator or provider", s)
	}
	return Role(v), nil
}

// ShortName is the lowercase name without the ROLE_ prefix ("validator").
func (r Role) ShortName() string {
	n, ok := Role_name[int32(r)]
	if !ok {
		return fmt.Sprintf("role(%d)", int32(r))
	}
	return strings.ToLower(strings.TrimPrefix(n, "ROLE_"))
}
