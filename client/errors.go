package client

import (
	"fmt"
	"regexp"
	"strings"
)

// Patterns of what the node wraps around a module's error: gRPC status
// prefixes (nested when a query is forwarded), ABCI's message index,
// source locations, gas, and the codespace's generic tail.
var (
	grpcPrefix   = regexp.MustCompile(`rpc error: code = (\w+) desc = `)
	sourcePath   = regexp.MustCompile(`\s*\[[^\]]*\.go:\d+\]`)
	gasUsed      = regexp.MustCompile(`\s*with gas used: '\d+'`)
	msgIndex     = regexp.MustCompile(`failed to execute message; message index: \d+: `)
	genericTails = []string{": unknown request", ": key not found", ": not found"}
	unfunded     = regexp.MustCompile(`account (\S+) not found`)
	noNode       = regexp.MustCompile(`(?:dial tcp|post failed: Post "?)(\S*?)"?:? .*connection refused`)
)

// Explain turns an error from the chain, the node or a provider into one
// sentence a person can act on: the registered module error without the
// gRPC and ABCI wrapping and with no source paths, and for the common
// cases what to do. Other errors are returned as they are.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	code := ""
	for {
		m := grpcPrefix.FindStringSubmatchIndex(msg)
		if m == nil {
			break
		}
		code = msg[m[2]:m[3]]
		msg = msg[:m[0]] + msg[m[1]:]
	}
	msg = msgIndex.ReplaceAllString(msg, "")
	msg = sourcePath.ReplaceAllString(msg, "")
	msg = gasUsed.ReplaceAllString(msg, "")
	for trimmed := true; trimmed; {
		trimmed = false
		for _, tail := range genericTails {
			if strings.HasSuffix(msg, tail) && len(msg) > len(tail) {
				msg, trimmed = strings.TrimSuffix(msg, tail), true
			}
		}
	}
	msg = strings.TrimRight(strings.TrimSpace(msg), ":")

	switch {
	case unfunded.MatchString(msg):
		addr := unfunded.FindStringSubmatch(msg)[1]
		return fmt.Sprintf("account %s does not exist on chain yet: an account exists once it has received tokens. "+
			"Fund it from a funded key, e.g. 'stratusd tx bank send <funded-key> %s 10000000ustrat', then retry", addr, addr)
	case noNode.MatchString(msg):
		return fmt.Sprintf("cannot reach the node (%s): check that it runs and that --node (or node in client.toml) points at its RPC", msg)
	case code == "NotFound" && !strings.Contains(msg, "not found"):
		return msg + ": not found"
	}
	return msg
}

// ExplainError is Explain as an error, keeping the original for errors.Is
// and errors.As.
func ExplainError(err error) error {
	if err == nil {
		return nil
	}
	return &explained{msg: Explain(err), err: err}
}

type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }
