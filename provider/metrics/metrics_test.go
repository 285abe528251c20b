package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/provider/metrics"
)

// Two daemons in one process must not collide on a shared registry, and a
// scrape must show every metric the daemon documents.
func TestNewIsIndependentAndExposesEveryMetric(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.Uploads.WithLabelValues(metrics.UploadStored).Inc()
	a.TxErrors.WithLabelValues("MsgCommitReplica").Inc()
	a.BytesReceived.Add(42)

	scrape := func(m *metrics.Metrics) string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		require.Equal(t, 200, rec.Code)
		body, err := io.ReadAll(rec.Body)
		require.NoError(t, err)
		return string(body)
	}
	text := scrape(a)
	for _, line := range []string{
		"stratus_provider_deals_stored 0",
		"stratus_provider_bytes_stored 0",
		`stratus_provider_uploads_total{result="stored"} 1`,
		`stratus_provider_uploads_total{result="rejected"} 0`,
		"stratus_provider_bytes_received_total 42",
		"stratus_provider_bytes_served_total 0",
		"stratus_provider_proofs_served_total 0",
		"stratus_provider_proofs_submitted_total 0",
		"stratus_provider_proofs_failed_total 0",
		`stratus_provider_proof_repairs_total{result="ok"} 0`,
		`stratus_provider_proof_repairs_total{result="failed"} 0`,
		`stratus_provider_tx_errors_total{msg="MsgCommitReplica"} 1`,
		`stratus_provider_replications_total{result="ok"} 0`,
		`stratus_provider_replications_total{result="failed"} 0`,
		"go_goroutines ",
	} {
		require.Contains(t, text, "\n"+line, "scrape lacks %q", line)
	}
	require.Contains(t, scrape(b), `stratus_provider_uploads_total{result="stored"} 0`)
	require.False(t, strings.Contains(scrape(b), "stratus_provider_bytes_received_total 42"))
}
