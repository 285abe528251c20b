package types

// DefaultParams sets no caps: the authority decides each grant.
func DefaultParams() Params {
	return Params{}
}

// Validate checks the params. Every value of the two caps is meaningful.
func (p Params) Validate() error {
	return nil
}

// Cap returns the member cap for role (0 means no cap).
func (p Params) Cap(role Role) uint32 {
	switch role {
	case Role_ROLE_VALIDATOR:
		return p.MaxValidators
	case Role_ROLE_PROVIDER:
		return p.MaxProviders
	default:
		return 0
	}
}
