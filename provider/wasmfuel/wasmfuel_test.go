package wasmfuel

import (
	"bytes"
	"context"
	"encoding/hex"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// A small assembler for hand-written modules.

func sec(id byte, parts ...[]byte) []byte {
	payload := bytes.Join(parts, nil)
	return append(append([]byte{id}, appendU32(nil, uint32(len(payload)))...), payload...)
}

func vec(items ...[]byte) []byte {
	return append(appendU32(nil, uint32(len(items))), bytes.Join(items, nil)...)
}

func body(code ...byte) []byte { // no locals
	b := append([]byte{0x00}, code...)
	return append(appendU32(nil, uint32(len(b))), b...)
}

func exportFunc(name string, idx uint32) []byte {
	return append(append(appendName(nil, name), 0x00), appendU32(nil, idx)...)
}

func mod(sections ...[]byte) []byte {
	return append([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, bytes.Join(sections, nil)...)
}

// countdown(n i32) i32: loop { n = n-1; br_if n != 0 }; return n.
var countdown = mod(
	sec(secType, vec([]byte{0x60, 1, 0x7F, 1, 0x7F})),
	sec(secFunction, vec([]byte{0})),
	sec(secExport, vec(exportFunc("f", 0))),
	sec(secCode, vec(body(
		0x03, 0x40, // loop
		0x20, 0x00, 0x41, 0x01, 0x6B, 0x22, 0x00, 0x0D, 0x00, // local.get 0; i32.const 1; i32.sub; local.tee 0; br_if 0
		0x0B,       // end
		0x20, 0x00, // local.get 0
		0x0B,
	))),
)

type instance struct {
	t    *testing.T
	mod  api.Module
	fuel api.MutableGlobal
}

func instantiate(t *testing.T, module []byte) *instance {
	t.Helper()
	ctx := context.Background()
	metered, err := Instrument(module)
	require.NoError(t, err)
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	m, err := r.Instantiate(ctx, metered)
	require.NoError(t, err)
	g, ok := m.ExportedGlobal(FuelExport).(api.MutableGlobal)
	require.True(t, ok, "the fuel global is exported and mutable")
	return &instance{t: t, mod: m, fuel: g}
}

// call runs f with fuel and returns its results and the fuel it spent.
func (in *instance) call(fuel uint64, f string, args ...uint64) ([]uint64, uint64, error) {
	in.fuel.Set(fuel)
	res, err := in.mod.ExportedFunction(f).Call(context.Background(), args...)
	return res, uint64(int64(fuel) - int64(in.fuel.Get())), err
}

// Fuel bounds the instructions executed from above, closely: here loop
// (1), then per iteration local.get, i32.const, i32.sub, local.tee, br_if
// and the loop's end (6, though the end runs only once), then local.get,
// end (2). 3+6n charged for 4+5n executed.
func TestFuelBoundsTheInstructionsExecuted(t *testing.T) {
	in := instantiate(t, countdown)
	for _, n := range []uint64{1, 10, 1000} {
		res, used, err := in.call(1<<40, "f", n)
		require.NoError(t, err)
		require.Equal(t, []uint64{0}, res)
		require.Equal(t, 3+6*n, used, "n=%d", n)
	}
}

// The attack the meter exists for: a program that runs for ever (or just
// long enough to time out on a slow executor). It stops at the same
// instruction on every machine, with the budget spent.
func TestAnEndlessLoopRunsOutOfFuel(t *testing.T) {
	in := instantiate(t, countdown)
	_, _, err := in.call(6_000_001, "f", 0) // 0-1 wraps: 2^32 iterations
	require.ErrorContains(t, err, "unreachable")
	require.Less(t, int64(in.fuel.Get()), int64(0), "the trap is told apart by a negative budget")
	// 1 on entry, then 6 per iteration: the millionth iteration's charge
	// leaves 0, the next one goes negative and the check at the loop head
	// stops it.
	require.Equal(t, int64(-6), int64(in.fuel.Get()))

	// One unit more traps at the same place.
	_, _, err = in.call(6_000_002, "f", 0)
	require.Error(t, err)
	require.Equal(t, int64(-5), int64(in.fuel.Get()))
}

// memory.fill of 1 MiB is one instruction that moves a mebibyte: it is
// charged by the byte.
func TestBulkMemoryIsChargedByTheByte(t *testing.T) {
	fill := mod(
		sec(secType, vec([]byte{0x60, 1, 0x7F, 0})),
		sec(secFunction, vec([]byte{0})),
		sec(5, vec([]byte{0x00, 32})), // memory 32 pages (2 MiB)
		sec(secExport, vec(exportFunc("fill", 0))),
		sec(secCode, vec(body(
			0x41, 0x00, 0x41, 0x07, 0x20, 0x00, // i32.const 0; i32.const 7; local.get 0
			0xFC, 0x0B, 0x00, // memory.fill 0
			0x0B,
		))),
	)
	in := instantiate(t, fill)
	_, used, err := in.call(1<<40, "fill", 1<<20)
	require.NoError(t, err)
	require.Equal(t, uint64(5+(1<<20)/BulkBytesPerFuel+1), used)

	// Without the fuel for it, the fill never happens.
	in = instantiate(t, fill)
	_, _, err = in.call(1000, "fill", 1<<20)
	require.ErrorContains(t, err, "unreachable")
	mem, ok := in.mod.Memory().Read(0, 1<<20)
	require.True(t, ok)
	require.True(t, bytes.Equal(make([]byte, 1<<20), mem), "the budget is checked before the fill")
}

// divide(a, b) returns the bits of a/b, for f64 and f32.
var divide = mod(
	sec(secType, vec(
		[]byte{0x60, 2, 0x7C, 0x7C, 1, 0x7E},
		[]byte{0x60, 2, 0x7D, 0x7D, 1, 0x7F},
	)),
	sec(secFunction, vec([]byte{0}, []byte{1})),
	sec(secExport, vec(exportFunc("div64", 0), exportFunc("div32", 1))),
	sec(secCode, vec(
		body(0x20, 0x00, 0x20, 0x01, 0xA3, 0xBD, 0x0B), // f64.div; i64.reinterpret_f64
		body(0x20, 0x00, 0x20, 0x01, 0x95, 0xBC, 0x0B), // f32.div; i32.reinterpret_f32
	)),
)

// 0/0 is a NaN whose sign the machine picks (negative on amd64, positive on
// arm64). Metered code always gives the canonical positive quiet NaN, and
// leaves every other result alone.
func TestNaNsAreCanonical(t *testing.T) {
	in := instantiate(t, divide)
	f64 := func(x float64) uint64 { return math.Float64bits(x) }
	f32 := func(x float32) uint64 { return uint64(math.Float32bits(x)) }
	for _, tc := range []struct {
		f          string
		a, b, want uint64
	}{
		{"div64", 0, 0, 0x7FF8000000000000},
		{"div64", f64(math.Inf(1)), f64(math.Inf(-1)), 0x7FF8000000000000},
		{"div64", 0xFFF8000000000123, f64(1), 0x7FF8000000000000}, // a NaN with a payload
		{"div64", f64(1), 0, f64(math.Inf(1))},
		{"div64", f64(-1), 0, f64(math.Inf(-1))},
		{"div64", f64(1), f64(3), f64(1.0 / 3)},
		{"div32", 0, 0, 0x7FC00000},
		{"div32", f32(float32(math.Inf(1))), f32(float32(math.Inf(1))), 0x7FC00000},
		{"div32", f32(1), f32(3), f32(float32(1) / 3)},
	} {
		res, _, err := in.call(1000, tc.f, tc.a, tc.b)
		require.NoError(t, err)
		require.Equal(t, tc.want, res[0], "%s(%#x, %#x)", tc.f, tc.a, tc.b)
	}

	if runtime.GOARCH == "amd64" {
		// Without the rewrite, amd64 gives the negative NaN: the test above
		// would catch a rewrite that did nothing.
		ctx := context.Background()
		r := wazero.NewRuntime(ctx)
		defer r.Close(ctx)
		m, err := r.Instantiate(ctx, divide)
		require.NoError(t, err)
		res, err := m.ExportedFunction("div64").Call(ctx, 0, 0)
		require.NoError(t, err)
		require.Equal(t, uint64(0xFFF8000000000000), res[0])
	}
}

// A module's globals, exports and start section survive (custom sections,
// which nothing runs, are dropped), and the start
// function runs on the budget when the caller calls it.
func TestGlobalsExportsAndStartAreKept(t *testing.T) {
	m := mod(
		sec(secType, vec([]byte{0x60, 0, 0}, []byte{0x60, 0, 1, 0x7F})),
		sec(secFunction, vec([]byte{0}, []byte{1})),
		sec(secGlobal, vec([]byte{0x7F, 0x01, 0x41, 0x05, 0x0B})), // mut i32 = 5
		sec(secExport, vec(exportFunc("get", 1))),
		sec(secStart, []byte{0x00}),
		sec(secCode, vec(
			body(0x41, 0x2A, 0x24, 0x00, 0x0B), // start: global 0 = 42
			body(0x23, 0x00, 0x0B),             // get: global 0
		)),
		sec(secCustom, appendName(nil, "note"), []byte("kept")),
	)
	metered, err := Instrument(m)
	require.NoError(t, err)
	require.False(t, bytes.Contains(metered, []byte("note")), "custom sections are dropped")
	in := instantiate(t, m)
	res, _, err := in.call(100, "get")
	require.NoError(t, err)
	require.Equal(t, []uint64{5}, res, "instantiating no longer runs the start function")
	_, used, err := in.call(100, StartExport)
	require.NoError(t, err)
	require.Equal(t, uint64(3), used) // i32.const, global.set, end
	res, _, err = in.call(100, "get")
	require.NoError(t, err)
	require.Equal(t, []uint64{42}, res)

	// Without a start section, nothing is exported for it.
	in = instantiate(t, countdown)
	require.Nil(t, in.mod.ExportedFunction(StartExport))
}

func TestUnsupportedModulesAreRefused(t *testing.T) {
	simd := mod(
		sec(secType, vec([]byte{0x60, 0, 0})),
		sec(secFunction, vec([]byte{0})),
		sec(secCode, vec(body(0xFD, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1A, 0x0B))), // v128.const; drop
	)
	taken := mod(
		sec(secType, vec([]byte{0x60, 0, 0})),
		sec(secFunction, vec([]byte{0})),
		sec(secExport, vec(exportFunc(FuelExport, 0))),
		sec(secCode, vec(body(0x0B))),
	)
	for name, m := range map[string][]byte{
		"empty":             nil,
		"not wasm":          []byte("#!/bin/sh\necho hi\n"),
		"simd":              simd,
		"export name taken": taken,
		"truncated":         countdown[:len(countdown)-3],
		"body without end":  mod(sec(secType, vec([]byte{0x60, 0, 0})), sec(secFunction, vec([]byte{0})), sec(secCode, vec(body(0x01)))),
		"bodies != funcs":   mod(sec(secType, vec([]byte{0x60, 0, 0})), sec(secFunction, vec([]byte{0}, []byte{0})), sec(secCode, vec(body(0x0B)))),
		"unknown opcode":    mod(sec(secType, vec([]byte{0x60, 0, 0})), sec(secFunction, vec([]byte{0})), sec(secCode, vec(body(0xC5, 0x0B)))),
		"type out of range": mod(sec(secType, vec([]byte{0x60, 0, 0})), sec(secFunction, vec([]byte{3})), sec(secCode, vec(body(0x0B)))),
		"oversized leb":     mod(sec(secType, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})),
		"section past end":  append(mod(), 0x01, 0x10, 0x00),
		// wazero v1.12 allocates the claimed entries up front: 2^32 data
		// segments in 29 bytes crashed the executor out of memory.
		"claims more entries than bytes": []byte("\x00asm\x01\x00\x00\x00\v\x13\xa3\xa3\xa3\xe8\x03\xa3\xa3\xa3\xa3\xa3\xa3\xa3\xa3\xa3\xa3\xa3\xa3\xa3\xa3"),
		"2^31 locals": mod(sec(secType, vec([]byte{0x60, 0, 0})), sec(secFunction, vec([]byte{0})),
			sec(secCode, vec([]byte{0x08, 0x01, 0x80, 0x80, 0x80, 0x80, 0x08, 0x7F, 0x0B}))),
		"threads (atomics)": mod(sec(secType, vec([]byte{0x60, 0, 0})), sec(secFunction, vec([]byte{0})), sec(secCode, vec(body(0xFE, 0x03, 0x00, 0x0B)))),
	} {
		_, err := Instrument(m)
		require.ErrorIs(t, err, ErrUnsupported, name)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func nTypes(first []byte, n int) []byte {
	ts := [][]byte{first}
	for len(ts) < n {
		ts = append(ts, []byte{0x60, 0, 0})
	}
	return sec(secType, vec(ts...))
}

// Attacks found by a review of the rewrite, each refused as unsupported
// (invalid_program on every executor) instead of running unmetered, with
// machine-chosen NaNs, with a forged budget, or crashing the executor.
func TestReviewAttacksAreRefused(t *testing.T) {
	hidden := []byte{0x20, 0x00, 0x20, 0x00, 0xA3, 0x21, 0x00} // local.get 0; local.get 0; f64.div; local.set 0
	for len(hidden) < 33 {
		hidden = append(hidden, 0x01)
	}
	nanBody := append(append([]byte{1, 1, 0x7C, 0x02, 0x63, 0x1C}, hidden...), 0x20, 0x00, 0xBD, 0x0F, 0x0B, 0x1A, 0x42, 0x00, 0x0B)
	for name, m := range map[string][]byte{
		// wazero reads 0x63 as (ref null <heap type>) and takes the next
		// byte with it; a reader that took 0x63 alone would decode the heap
		// type as an instruction and meter a different program: here a
		// loop wazero runs but the rewrite never charged.
		"typed-reference block type hides a loop": mod(
			nTypes([]byte{0x60, 1, 0x7F, 0}, 13),
			sec(secFunction, vec([]byte{0})),
			sec(secExport, vec(exportFunc("f", 0))),
			sec(secCode, vec(body(0x02, 0x63, 0x02, 0x01, 0x02, 0x63, 0x0C, 0x03, 0x01,
				0x20, 0x00, 0x41, 0x01, 0x6B, 0x22, 0x00, 0x0D, 0x00, 0x0B, 0x0F, 0x0B, 0x00, 0x0B, 0x1A, 0x0B))),
		),
		// ... or an f64.div whose NaN the rewrite never saw.
		"typed-reference block type hides a NaN": mod(
			nTypes([]byte{0x60, 0, 1, 0x7E}, 29),
			sec(secFunction, vec([]byte{0})),
			sec(secExport, vec(exportFunc("f", 0))),
			sec(secCode, vec(append(appendU32(nil, uint32(len(nanBody))), nanBody...))),
		),
		// global.set of the index the fuel global gets: invalid before the
		// rewrite, a forged budget after it.
		"program writes the fuel global": mustHex("0061736d0100000001040160000003020100070a01065f737461727400000a1601140042ffffffffffffffffff00240003400c000b0b"),
		// The same with the scratch locals the rewrite adds.
		"program reads a scratch local": mod(
			sec(secType, vec([]byte{0x60, 0, 0})), sec(secFunction, vec([]byte{0})),
			sec(secCode, vec(body(0x20, 0x00, 0x1A, 0x0B)))),
		// 20 bytes: an element segment claiming 2^32 function indices made
		// wazero allocate 100 GB at compile time.
		"element segment claims 2^32 entries": mustHex("0061736d01000000090a010041000bffffffff0f"),
		// A data segment claiming 4 GiB.
		"data segment claims 4 GiB": mod(sec(secData, []byte{0x01, 0x00, 0x41, 0x00, 0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F})),
		// select with a typed reference: wazero's compiler and validator
		// disagree on where it ends, and the compiler panicked.
		"typed select": mod(
			sec(secType, vec([]byte{0x60, 0, 0})), sec(secFunction, vec([]byte{0})),
			sec(secCode, vec(body(0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0x1C, 0x01, 0x63, 0x1A, 0x1A, 0x0B)))),
		// Tables live outside the memory limit.
		"table of 2^26 entries": mod(sec(secTable, vec([]byte{0x70, 0x00, 0x80, 0x80, 0x80, 0x20}))),
		"table.grow": mod(
			sec(secType, vec([]byte{0x60, 0, 0})), sec(secFunction, vec([]byte{0})),
			sec(secTable, vec([]byte{0x70, 0x00, 0x01})),
			sec(secCode, vec(body(0xD0, 0x70, 0x41, 0x10, 0xFC, 0x0F, 0x00, 0x1A, 0x0B)))),
	} {
		_, err := Instrument(m)
		require.ErrorIs(t, err, ErrUnsupported, name)
	}

	// A 22-byte "name" section that made wazero allocate 100 GB is dropped.
	name := mustHex("0061736d01000000000c046e616d650105ffffffff0f")
	out, err := Instrument(name)
	require.NoError(t, err)
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	c, err := r.CompileModule(ctx, out)
	require.NoError(t, err)
	c.Close(ctx)
}

// table.fill moves one element per instruction of fuel.
func TestTableBulkIsChargedByTheElement(t *testing.T) {
	fill := mod(
		sec(secType, vec([]byte{0x60, 1, 0x7F, 0})),
		sec(secFunction, vec([]byte{0})),
		sec(secTable, vec([]byte{0x70, 0x00, 0x80, 0x80, 0x04})), // 65,536 entries
		sec(secExport, vec(exportFunc("fill", 0))),
		sec(secCode, vec(body(
			0x41, 0x00, 0xD0, 0x70, 0x20, 0x00, // i32.const 0; ref.null func; local.get 0
			0xFC, 0x11, 0x00, // table.fill 0
			0x0B,
		))),
	)
	in := instantiate(t, fill)
	_, used, err := in.call(1<<40, "fill", 65536)
	require.NoError(t, err)
	require.Equal(t, uint64(5+65536+1), used)
}

// withoutCustomSections is m as the rewrite sees it: custom sections are
// dropped (nothing runs from them).
func withoutCustomSections(m []byte) []byte {
	if len(m) < 8 {
		return m
	}
	sections, err := splitSections(m)
	if err != nil {
		return m
	}
	out := append([]byte{}, m[:8]...)
	for _, s := range sections {
		if s.id != secCustom {
			out = appendSection(out, s.id, s.payload)
		}
	}
	return out
}

// Whatever the bytes, Instrument does not panic; what it lets through
// does not crash the runtime when compiled (the executor compiles only
// metered modules); a module wazero accepts stays one it accepts, and one
// it refuses (custom sections aside) stays refused, so a program cannot
// reach what the rewrite adds.
func FuzzInstrument(f *testing.F) {
	f.Add(countdown)
	f.Add(divide)
	f.Add([]byte{0, 'a', 's', 'm', 1, 0, 0, 0})
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	f.Fuzz(func(t *testing.T, m []byte) {
		metered, err := Instrument(m)
		if err != nil {
			return
		}
		c, meteredErr := r.CompileModule(ctx, metered)
		if meteredErr == nil {
			c.Close(ctx)
		}
		c, err = r.CompileModule(ctx, withoutCustomSections(m))
		if err == nil {
			c.Close(ctx)
			require.NoError(t, meteredErr, "a valid module stays valid")
		} else {
			require.Error(t, meteredErr, "an invalid module stays invalid: %v", err)
		}
	})
}
