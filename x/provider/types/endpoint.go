package types

import (
	"net"
	"net/url"
	"strings"

	errorsmod "cosmossdk.io/errors"
)

// ValidateEndpoint checks a provider's endpoint: an absolute https URL with a
// host, no credentials, query or fragment. Plain http is accepted only for
// loopback hosts (localhost, 127.0.0.0/8, ::1) so a localnet can run without
// certificates (docs/adr/005-provider-endpoints.md).
func ValidateEndpoint(endpoint string, maxLen uint32) error {
	if endpoint == "" {
		return errorsmod.Wrap(ErrInvalidEndpoint, "empty endpoint")
	}
	if maxLen > 0 && len(endpoint) > int(maxLen) {
		return errorsmod.Wrapf(ErrInvalidEndpoint, "%d bytes, at most %d", len(endpoint), maxLen)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return errorsmod.Wrapf(ErrInvalidEndpoint, "%q: %v", endpoint, err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return errorsmod.Wrapf(ErrInvalidEndpoint, "%q has no host", endpoint)
	}
	if u.User != nil {
		return errorsmod.Wrapf(ErrInvalidEndpoint, "%q carries credentials", endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(endpoint, "?#") {
		return errorsmod.Wrapf(ErrInvalidEndpoint, "%q has a query or fragment", endpoint)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errorsmod.Wrapf(ErrInvalidEndpoint, "%q: plain http is allowed only on loopback hosts; use https", endpoint)
	default:
		return errorsmod.Wrapf(ErrInvalidEndpoint, "%q: scheme must be https", endpoint)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
