package main

import (
	"math"
	"testing"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Abs(want) {
		t.Fatalf("%s: got %g, want %g", what, got, want)
	}
}

// The chain agrees with the closed forms it must reduce to.
func TestMTTDLClosedForms(t *testing.T) {
	md := Model{Rate: 0.1, Window: 1, Transfer: 6}
	lambda, mu := md.Rate, hoursPerYear/md.RepairHours()
	near(t, "one copy", MTTDL(Scheme{K: 1}, md), 1/lambda)
	near(t, "two replicas", MTTDL(Scheme{K: 1, M: 1}, md), (3*lambda+mu)/(2*lambda*lambda))
	// Without repair the file lasts until the (m+1)-th of n exponential
	// failures: the sum of 1/((n-i)λ).
	slow := Model{Rate: 0.1, Window: 1, Transfer: 1e30}
	want := 0.0
	for i := 0; i <= 2; i++ {
		want += 1 / (float64(6-i) * lambda)
	}
	if got := MTTDL(Scheme{K: 4, M: 2}, slow); math.Abs(got-want) > 1e-6*want {
		t.Fatalf("4+2 without repair: got %g, want %g", got, want)
	}
}

// What docs/durability.md concludes, at its inputs (1 h windows, 6 h to
// rebuild a shard): 6+3 is more durable than 3 replicas at every failure
// rate of the table with half the bytes, and 4+2 is not, since it spreads
// the same tolerance over twice the providers.
func TestTheDocumentsConclusions(t *testing.T) {
	for _, r := range []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5} {
		md := Model{Rate: r, Window: 1, Transfer: 6}
		rep := AnnualLoss(Scheme{K: 1, M: 2}, md)
		if p := AnnualLoss(Scheme{K: 6, M: 3}, md); p >= rep {
			t.Errorf("rate %g: 6+3 loses %g, 3 replicas %g", r, p, rep)
		}
		if p := AnnualLoss(Scheme{K: 4, M: 2}, md); p <= rep {
			t.Errorf("rate %g: 4+2 loses %g, no more than 3 replicas' %g", r, p, rep)
		}
	}
	md := Model{Window: 1, Transfer: 6}
	if r := MaxRate(Scheme{K: 6, M: 3}, md, 1e-11); r < 0.05 {
		t.Errorf("6+3 keeps 11 nines only up to %g failures a year", r)
	}
	if s := (Scheme{K: 6, M: 3}); s.Overhead() != 1.5 {
		t.Errorf("6+3 stores %g×", s.Overhead())
	}
}
