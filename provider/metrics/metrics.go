// Package metrics holds the provider daemon's Prometheus metrics. They live
// on the daemon's own registry rather than the global one, so two daemons
// in one process (tests, a localnet) never collide and a scrape shows only
// what the provider exports.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "stratus_provider"

// Label values of Uploads.
const (
	UploadStored   = "stored"
	UploadRejected = "rejected"
)

// Label values of Replications.
const (
	ReplicationOK     = "ok"
	ReplicationFailed = "failed"
)

// Label values of ProofRepairs.
const (
	RepairOK     = "ok"
	RepairFailed = "failed"
)

// Metrics is the daemon's set of metrics. Every field is registered on
// Registry by New; callers update the fields directly.
type Metrics struct {
	Registry *prometheus.Registry

	// DealsStored and BytesStored mirror the store's contents.
	DealsStored prometheus.Gauge
	BytesStored prometheus.Gauge

	// Uploads counts PUT /v1/deals/{id} by result: UploadStored or UploadRejected.
	Uploads *prometheus.CounterVec
	// BytesReceived counts upload body bytes read, stored or not.
	BytesReceived prometheus.Counter
	// BytesServed counts deal bytes written to downloaders.
	BytesServed prometheus.Counter
	// ProofsServed counts proofs answered over HTTP.
	ProofsServed prometheus.Counter

	// ProofsSubmitted and ProofsFailed count challenge answers sent to the
	// chain and those that could not be built or were refused.
	ProofsSubmitted prometheus.Counter
	ProofsFailed    prometheus.Counter
	// ProofRepairs counts refetches of a replica whose proof failed the
	// local check before sending, by result: RepairOK or RepairFailed.
	ProofRepairs *prometheus.CounterVec
	// TxErrors counts failed transactions by message type (msg label).
	TxErrors *prometheus.CounterVec
	// Replications counts fetches of a deal from a peer by result:
	// ReplicationOK or ReplicationFailed.
	Replications *prometheus.CounterVec

	// JobsRun counts compute jobs run by the executor's verdict (ok, exit,
	// timeout, ...) or "error" when the job could not be run.
	JobsRun *prometheus.CounterVec
	// JobRunSeconds is how long runs took, fetching inputs included.
	JobRunSeconds prometheus.Histogram
	// JobResults counts commits and reveals sent (step label: commit, reveal).
	JobResults *prometheus.CounterVec
}

// New creates the metrics on a fresh registry that also carries the Go
// runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	auto := promauto.With(reg)
	m := &Metrics{
		Registry: reg,
		DealsStored: auto.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "deals_stored",
			Help: "Deals whose data this provider holds, verified.",
		}),
		BytesStored: auto.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "bytes_stored",
			Help: "Total size of the stored deals' data in bytes.",
		}),
		Uploads: auto.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "uploads_total",
			Help: "Deal uploads by result (stored, rejected).",
		}, []string{"result"}),
		BytesReceived: auto.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "bytes_received_total",
			Help: "Upload body bytes received, whether or not the upload was stored.",
		}),
		BytesServed: auto.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "bytes_served_total",
			Help: "Deal data bytes sent to downloaders.",
		}),
		ProofsServed: auto.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "proofs_served_total",
			Help: "Merkle proofs answered over the HTTP API.",
		}),
		ProofsSubmitted: auto.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "proofs_submitted_total",
			Help: "Challenge proofs submitted to the chain.",
		}),
		ProofsFailed: auto.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "proofs_failed_total",
			Help: "Challenge proofs that could not be built or were refused by the chain.",
		}),
		ProofRepairs: auto.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "proof_repairs_total",
			Help: "Refetches from peers of replicas whose proof failed the local check, by result (ok, failed).",
		}, []string{"result"}),
		TxErrors: auto.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "tx_errors_total",
			Help: "Failed transactions by message type.",
		}, []string{"msg"}),
		Replications: auto.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "replications_total",
			Help: "Deal fetches from peers by result (ok, failed).",
		}, []string{"result"}),
		JobsRun: auto.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "jobs_run_total",
			Help: "Compute jobs run, by verdict (ok, exit, timeout, ...; error: could not run).",
		}, []string{"verdict"}),
		JobRunSeconds: auto.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "job_run_seconds",
			Help:    "Time to fetch a job's program and inputs and run it.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
		JobResults: auto.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "job_results_total",
			Help: "Job commitments and reveals sent to the chain.",
		}, []string{"step"}),
	}
	// Known label values start at zero so rates and alerts work before the
	// first event.
	for _, r := range []string{UploadStored, UploadRejected} {
		m.Uploads.WithLabelValues(r)
	}
	for _, r := range []string{ReplicationOK, ReplicationFailed} {
		m.Replications.WithLabelValues(r)
	}
	for _, r := range []string{RepairOK, RepairFailed} {
		m.ProofRepairs.WithLabelValues(r)
	}
	for _, step := range []string{"commit", "reveal"} {
		m.JobResults.WithLabelValues(step)
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
