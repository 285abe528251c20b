// Command durability computes the annual probability that a deal loses
// data, for replicated and erasure-coded schemes, under the model of
// docs/durability.md, and prints the tables of that document.
//
//	go run ./scripts/durability              # the document's tables
//	go run ./scripts/durability -rate 0.05 -window 1 -transfer 6
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
)

// Scheme is k data shards and m parity shards; k = 1 is m+1 replicas.
type Scheme struct {
	Name string
	K, M int
}

// N is the number of shards, each on its own provider.
func (s Scheme) N() int { return s.K + s.M }

// Overhead is the bytes stored per byte of file.
func (s Scheme) Overhead() float64 { return float64(s.N()) / float64(s.K) }

// Model holds the inputs: providers fail (lose the shard for good)
// independently at Rate per year; a lost shard is noticed at the end of
// the proof window it was due in (Window hours, so on average half a
// window, at most one) and rebuilt by its new holder in Transfer hours.
type Model struct {
	Rate     float64 // provider failures per provider-year
	Window   float64 // proof window, hours
	Transfer float64 // hours to fetch k shards and rebuild one
}

const hoursPerYear = 24 * 365.25

// RepairHours is the time a lost shard stays lost: a whole window (the
// worst case of detection) plus the transfer.
func (md Model) RepairHours() float64 { return md.Window + md.Transfer }

// MTTDL is the mean time to data loss in years, from a Markov chain whose
// state is the number of lost shards: from state i a further shard is lost
// at rate f_i = (n-i)·λ and one of the i lost shards is rebuilt at rate
// r_i = i·μ (repairs run in parallel, each on its new holder), μ = 1/repair
// time. Losing m+1 shards loses the file. The expected time τ_i to first
// reach state i+1 from state i is τ_0 = 1/f_0 and τ_i = (1 + r_i·τ_{i-1})/f_i,
// and MTTDL = τ_0 + … + τ_m: a sum of positive terms, exact in floating
// point where solving the linear system is not (μ/λ is about 10^5).
func MTTDL(s Scheme, md Model) float64 {
	n, m := s.N(), s.M
	lambda := md.Rate                     // per year
	mu := hoursPerYear / md.RepairHours() // per year
	total, prev := 0.0, 0.0
	for i := 0; i <= m; i++ {
		f := float64(n-i) * lambda
		r := float64(i) * mu
		tau := (1 + r*prev) / f
		total += tau
		prev = tau
	}
	return total
}

// AnnualLoss is the probability of losing the file within a year, taking
// the time to loss as exponential (it is, closely, when MTTDL ≫ the
// repair time).
func AnnualLoss(s Scheme, md Model) float64 {
	return -math.Expm1(-1 / MTTDL(s, md))
}

// MaxRate is the highest provider failure rate at which the annual loss
// stays at or below target.
func MaxRate(s Scheme, md Model, target float64) float64 {
	lo, hi := 0.0, 50.0
	for range 200 {
		mid := (lo + hi) / 2
		md.Rate = mid
		if AnnualLoss(s, md) <= target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// Schemes are the ones docs/durability.md compares.
var Schemes = []Scheme{
	{"3 replicas", 1, 2},
	{"4+2", 4, 2},
	{"6+3", 6, 3},
	{"8+4", 8, 4},
	{"10+5", 10, 5},
}

func nines(p float64) float64 {
	if p <= 0 {
		return math.Inf(1)
	}
	return -math.Log10(p)
}

func main() {
	rate := flag.Float64("rate", 0, "one provider failure rate per year (0: the document's table of rates)")
	window := flag.Float64("window", 1, "proof window, hours")
	transfer := flag.Float64("transfer", 6, "hours to rebuild one shard")
	flag.Parse()
	if *window <= 0 || *transfer < 0 || *rate < 0 {
		fmt.Fprintln(os.Stderr, "durability: want -window > 0, -transfer ≥ 0, -rate ≥ 0")
		os.Exit(2)
	}
	rates := []float64{0.01, 0.02, 0.05, 0.10, 0.20, 0.50}
	if *rate > 0 {
		rates = []float64{*rate}
	}
	md := Model{Window: *window, Transfer: *transfer}
	fmt.Printf("Annual probability of losing a file (nines in brackets); window %g h, transfer %g h, repair time %g h.\n\n",
		md.Window, md.Transfer, md.RepairHours())
	fmt.Printf("| provider failures per year |")
	for _, s := range Schemes {
		fmt.Printf(" %s (%.2f×) |", s.Name, s.Overhead())
	}
	fmt.Printf("\n| --- |")
	for range Schemes {
		fmt.Printf(" --- |")
	}
	fmt.Println()
	for _, r := range rates {
		md.Rate = r
		fmt.Printf("| %g%% |", r*100)
		for _, s := range Schemes {
			p := AnnualLoss(s, md)
			fmt.Printf(" %.1e (%.1f) |", p, nines(p))
		}
		fmt.Println()
	}
	fmt.Printf("\nHighest provider failure rate per year that keeps 11 nines (annual loss ≤ 1e-11):\n\n")
	fmt.Printf("| scheme | bytes | tolerates | max failure rate |\n| --- | --- | --- | --- |\n")
	for _, s := range Schemes {
		fmt.Printf("| %s | %.2f× | %d providers lost | %.2f%% |\n", s.Name, s.Overhead(), s.M, MaxRate(s, md, 1e-11)*100)
	}
}
