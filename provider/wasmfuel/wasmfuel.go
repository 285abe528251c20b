// Package wasmfuel rewrites a WebAssembly module so that it meters itself,
// and so that its floating-point results do not depend on the machine.
//
// Two honest executors of a job must reach the same verdict, so the budget a
// program runs under cannot be wall-clock time (docs/adr/007). Instrument
// adds one mutable i64 global, exported as FuelExport, and charges it:
//
//   - at the start of every segment, the number of instructions in it. A
//     segment runs from a point execution can jump to (a function's entry,
//     a loop's head, the code after an end or an else) to the next such
//     point. Execution enters a segment only at its start and runs each of
//     its instructions at most once per entry, so the fuel spent is at least
//     the number of instructions executed (the excess is code skipped by a
//     branch out of the middle of a segment: about 10% for Go programs);
//   - before memory.fill, memory.copy and memory.init, one unit per 64 bytes
//     they move, so a single instruction cannot do unbounded work.
//
// The budget is checked at every function entry and loop head, which every
// unbounded execution passes through: when it is negative there, the
// program traps (unreachable), and the caller reads the global to tell that
// trap from the program's own. Between checks it may overdraw by at most
// one function body's straight-line code, at the same point on every
// machine. The
// budget is set through the exported global before the program starts, so
// one instrumented module (and its compiled code) serves every budget. A
// start section would run before the budget is set, so it is removed and its
// function exported as StartExport for the caller to call first.
//
// WebAssembly leaves the sign and payload of a NaN produced by arithmetic to
// the machine: 0.0/0.0 is 0xFFF8… on amd64 and 0x7FF8… on arm64. Instrument
// therefore follows every float instruction that can produce a NaN (add,
// sub, mul, div, sqrt, min, max, ceil, floor, trunc, nearest, promote,
// demote) with code that replaces a NaN by the canonical one (0x7FC00000,
// 0x7FF8000000000000). Bit operations (abs, neg, copysign, reinterpret),
// loads, stores and constants are exact by the specification and untouched.
// 128-bit SIMD is refused: its lanes would need the same treatment.
//
// The rewrite is deterministic, so every executor runs the same code.
package wasmfuel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Names Instrument adds to the module's exports.
const (
	FuelExport  = "stratus_fuel"
	StartExport = "stratus_start"
)

// BulkBytesPerFuel is how many bytes memory.fill, memory.copy and
// memory.init move per unit of fuel.
const BulkBytesPerFuel = 64

// ErrUnsupported means the module uses something Instrument cannot meter or
// make deterministic (SIMD, threads, an unknown instruction), or is not a
// well-formed module. The executor treats it as an invalid program.
var ErrUnsupported = errors.New("wasmfuel: module not supported")

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// Section ids.
const (
	secCustom   = 0
	secType     = 1
	secImport   = 2
	secFunction = 3
	secTable    = 4
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secElement  = 9
	secCode     = 10
	secData     = 11
	secDataCnt  = 12
)

type section struct {
	id      byte
	payload []byte
}

// splitSections splits a module after its 8-byte header into sections.
func splitSections(module []byte) ([]section, error) {
	r := &reader{b: module, off: 8}
	var sections []section
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		payload, err := r.take(int(size))
		if err != nil {
			return nil, err
		}
		sections = append(sections, section{id: id, payload: payload})
	}
	return sections, nil
}

// appendSection appends a section: its id, length and payload.
func appendSection(b []byte, id byte, payload []byte) []byte {
	return append(appendU32(append(b, id), uint32(len(payload))), payload...)
}

// Instrument returns the metered, NaN-canonicalising form of module.
func Instrument(module []byte) ([]byte, error) {
	if len(module) < 8 || !bytes.Equal(module[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, unsupported("not a WebAssembly 1.0 binary")
	}
	sections, err := splitSections(module)
	if err != nil {
		return nil, err
	}

	var (
		types           []uint32 // params per type
		funcTypes       []uint32 // type index per defined function
		importedGlobals uint32
		definedGlobals  uint32
		startFunc       = int64(-1)
		exportNames     = map[string]bool{}
	)
	for _, s := range sections {
		if err := checkSize(s); err != nil {
			return nil, err
		}
		var err error
		r := &reader{b: s.payload}
		switch s.id {
		case secType:
			types, err = readTypes(r)
		case secImport:
			importedGlobals, err = countImportedGlobals(r)
		case secTable:
			err = checkTables(r)
		case secElement:
			err = checkElements(r)
		case secData:
			err = checkData(r)
		case secFunction:
			funcTypes, err = readVecU32(r)
		case secGlobal:
			definedGlobals, err = checkGlobals(r)
		case secExport:
			err = readExportNames(r, exportNames, importedGlobals+definedGlobals)
		case secStart:
			var f uint32
			f, err = r.u32()
			startFunc = int64(f)
		default:
			r.off = len(r.b) // copied as they are: the runtime checks them
		}
		if err == nil && !r.done() && s.id != secCustom {
			// The rewrite re-encodes some sections; trailing bytes that make
			// the original invalid must not vanish in the copy.
			err = unsupported("section %d has %d bytes after its entries", s.id, len(r.b)-r.off)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, name := range []string{FuelExport, StartExport} {
		if exportNames[name] {
			return nil, unsupported("the module already exports %q", name)
		}
	}
	fuelGlobal := importedGlobals + definedGlobals

	out := &bytes.Buffer{}
	out.Write(module[:8])
	wroteGlobal, wroteExport := false, false
	emit := func(id byte, payload []byte) { out.Write(appendSection(nil, id, payload)) }
	newGlobal := func(prefix []byte) []byte { // prefix: the existing entries
		var p []byte
		p = appendU32(p, definedGlobals+1)
		p = append(p, prefix...)
		return append(p, 0x7E, 0x01, 0x42, 0x00, 0x0B) // mut i64 = i64.const 0
	}
	newExports := func(count uint32, prefix []byte) []byte {
		extra := []byte{}
		extra = appendName(extra, FuelExport)
		extra = append(extra, 0x03)
		extra = appendU32(extra, fuelGlobal)
		count++
		if startFunc >= 0 {
			extra = appendName(extra, StartExport)
			extra = append(extra, 0x00)
			extra = appendU32(extra, uint32(startFunc))
			count++
		}
		p := appendU32(nil, count)
		p = append(p, prefix...)
		return append(p, extra...)
	}
	flush := func(before byte) {
		// Section order: ... 6 global, 7 export, 8 start, 9 element, 12 data count, 10 code, 11 data.
		afterGlobal := before == secExport || before == secStart || before == secElement || before == secDataCnt || before == secCode || before == secData
		if !wroteGlobal && afterGlobal {
			emit(secGlobal, newGlobal(nil))
			wroteGlobal = true
		}
		if !wroteExport && (afterGlobal && before != secExport) {
			emit(secExport, newExports(0, nil))
			wroteExport = true
		}
	}
	for _, s := range sections {
		if s.id != secCustom {
			flush(s.id)
		}
		switch s.id {
		case secGlobal:
			r := &reader{b: s.payload}
			if _, err := r.u32(); err != nil {
				return nil, err
			}
			emit(secGlobal, newGlobal(s.payload[r.off:]))
			wroteGlobal = true
		case secExport:
			r := &reader{b: s.payload}
			n, err := r.u32()
			if err != nil {
				return nil, err
			}
			emit(secExport, newExports(n, s.payload[r.off:]))
			wroteExport = true
		case secStart:
			// exported as StartExport instead
		case secCustom:
			// Dropped: nothing runs from them, and wazero decodes the
			// "name" section's vectors by their claimed counts.
		case secCode:
			code, err := rewriteCode(s.payload, types, funcTypes, fuelGlobal)
			if err != nil {
				return nil, err
			}
			emit(secCode, code)
		default:
			emit(s.id, s.payload)
		}
	}
	flush(secData) // a module without code, data or exports
	return out.Bytes(), nil
}

// MaxLocals bounds a function's locals, as other runtimes do (wasmtime's
// limit): wazero sizes its frames by the declared count.
const MaxLocals = 50_000

// checkSize refuses a section whose vector claims more entries than it has
// bytes (every entry takes at least one). wazero v1.12 allocates a
// section's entries before reading them, so a 29-byte module claiming 2^32
// data segments made it allocate tens of gigabytes and crash the executor
// (found by FuzzInstrument).
func checkSize(s section) error {
	switch s.id {
	case secCustom: // dropped, but a malformed one keeps the module invalid
		_, err := (&reader{b: s.payload}).name()
		return err
	case secStart:
		return nil
	case secDataCnt:
		return nil // a count checked against the data section by the runtime
	}
	r := &reader{b: s.payload}
	n, err := r.u32()
	if err != nil {
		return err
	}
	if uint64(n) > uint64(len(s.payload)-r.off) {
		return unsupported("section %d claims %d entries in %d bytes", s.id, n, len(s.payload))
	}
	return nil
}

func readTypes(r *reader) ([]uint32, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	types := make([]uint32, 0, min(n, 1<<16))
	for range n {
		form, err := r.byte()
		if err != nil {
			return nil, err
		}
		if form != 0x60 {
			return nil, unsupported("type form 0x%x", form)
		}
		params, err := r.valTypes()
		if err != nil {
			return nil, err
		}
		if _, err := r.valTypes(); err != nil {
			return nil, err
		}
		types = append(types, params)
	}
	return types, nil
}

func countImportedGlobals(r *reader) (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	var globals uint32
	for range n {
		for range 2 { // module and field names
			if _, err := r.name(); err != nil {
				return 0, err
			}
		}
		kind, err := r.byte()
		if err != nil {
			return 0, err
		}
		switch kind {
		case 0x00: // func: type index
			_, err = r.u32()
		case 0x01: // table: reftype, limits
			err = r.table()
		case 0x02: // memory: limits
			_, err = r.limits()
		case 0x03: // global: valtype, mutability
			if err = r.valType(); err == nil {
				_, err = r.byte()
			}
			globals++
		default:
			err = unsupported("import kind 0x%x", kind)
		}
		if err != nil {
			return 0, err
		}
	}
	return globals, nil
}

func readVecU32(r *reader) ([]uint32, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	v := make([]uint32, 0, min(n, 1<<16))
	for range n {
		x, err := r.u32()
		if err != nil {
			return nil, err
		}
		v = append(v, x)
	}
	return v, nil
}

// readExportNames collects the export names, and refuses a global export
// past the module's globals (it would export the fuel global).
func readExportNames(r *reader, names map[string]bool, globals uint32) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for range n {
		name, err := r.name()
		if err != nil {
			return err
		}
		names[string(name)] = true
		kind, err := r.byte()
		if err != nil {
			return err
		}
		idx, err := r.u32()
		if err != nil {
			return err
		}
		if kind == 0x03 && idx >= globals {
			return unsupported("export of global %d of %d", idx, globals)
		}
	}
	return nil
}

// rewriteCode instruments every function body of the code section.
func rewriteCode(payload []byte, types, funcTypes []uint32, fuel uint32) ([]byte, error) {
	r := &reader{b: payload}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(n) != len(funcTypes) {
		return nil, unsupported("%d function bodies for %d functions", n, len(funcTypes))
	}
	out := appendU32(nil, n)
	for i := range n {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		body, err := r.take(int(size))
		if err != nil {
			return nil, err
		}
		t := funcTypes[i]
		if int(t) >= len(types) {
			return nil, unsupported("function %d has type %d of %d", i, t, len(types))
		}
		nb, err := rewriteBody(body, types[t], fuel, types)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(nb)))
		out = append(out, nb...)
	}
	if !r.done() {
		return nil, unsupported("trailing bytes in the code section")
	}
	return out, nil
}

// The value types of the scratch locals added to every function.
const (
	valI32 = 0x7F
	valF32 = 0x7D
	valF64 = 0x7C
)

// rewriteBody adds three scratch locals (f32, f64, i32) and the metering
// and canonicalising code to one function body.
func rewriteBody(body []byte, params uint32, fuel uint32, types []uint32) ([]byte, error) {
	r := &reader{b: body}
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	groupsEnd := r.off
	locals := uint64(params)
	for range groups {
		c, err := r.u32()
		if err != nil {
			return nil, err
		}
		if err := r.valType(); err != nil {
			return nil, err
		}
		locals += uint64(c)
		if locals > MaxLocals {
			return nil, unsupported("more than %d locals", MaxLocals)
		}
	}
	if locals > MaxLocals {
		return nil, unsupported("%d locals, above %d", locals, MaxLocals)
	}
	localsEnd := r.off
	s := scratch{f32: uint32(locals), f64: uint32(locals + 1), i32: uint32(locals + 2), fuel: fuel}

	// Pass 1: split the code into segments (the function, each loop) and
	// count the instructions directly in each.
	ins, counts, err := scan(body[localsEnd:], bounds{locals: uint32(locals), globals: fuel, types: types})
	if err != nil {
		return nil, err
	}

	out := appendU32(nil, groups+3)
	out = append(out, body[groupsEnd:localsEnd]...)
	out = append(out, 1, valF32, 1, valF64, 1, valI32)
	out = s.charge(out, counts[0], true)
	code := body[localsEnd:]
	for _, in := range ins {
		switch in.kind {
		case kindBulk:
			out = s.chargeBulk(out, true)
			out = append(out, code[in.start:in.end]...)
		case kindTableBulk:
			out = s.chargeBulk(out, false)
			out = append(out, code[in.start:in.end]...)
		case kindControl, kindLoop:
			out = append(out, code[in.start:in.end]...)
			if in.segment > 0 && (counts[in.segment] > 0 || in.kind == kindLoop) {
				out = s.charge(out, counts[in.segment], in.kind == kindLoop)
			}
		case kindF32:
			out = append(out, code[in.start:in.end]...)
			out = s.canonF32(out)
		case kindF64:
			out = append(out, code[in.start:in.end]...)
			out = s.canonF64(out)
		default:
			out = append(out, code[in.start:in.end]...)
		}
	}
	return out, nil
}

type scratch struct {
	f32, f64, i32 uint32
	fuel          uint32
}

// charge subtracts n from the fuel and, with check, traps if it is
// negative.
func (s scratch) charge(out []byte, n uint64, check bool) []byte {
	out = append(out, 0x23) // global.get fuel
	out = appendU32(out, s.fuel)
	out = append(out, 0x42) // i64.const n
	out = appendS64(out, int64(min(n, math.MaxInt64)))
	out = append(out, 0x7D, 0x24) // i64.sub; global.set fuel
	out = appendU32(out, s.fuel)
	if !check {
		return out
	}
	return s.check(out)
}

func (s scratch) check(out []byte) []byte {
	out = append(out, 0x23) // global.get fuel
	out = appendU32(out, s.fuel)
	// i64.const 0; i64.lt_s; if; unreachable; end
	return append(out, 0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0B)
}

// chargeBulk charges the byte count on top of the stack (the last operand
// of memory.fill, memory.copy and memory.init), leaving it in place.
func (s scratch) chargeBulk(out []byte, perByte bool) []byte {
	out = append(out, 0x22) // local.tee i32
	out = appendU32(out, s.i32)
	out = append(out, 0x23) // global.get fuel
	out = appendU32(out, s.fuel)
	out = append(out, 0x20) // local.get i32
	out = appendU32(out, s.i32)
	out = append(out, 0xAD) // i64.extend_i32_u
	if perByte {
		out = append(out, 0x42, 0x06, 0x88) // i64.const 6; i64.shr_u: one unit per 64 bytes
	}
	out = append(out, 0x42, 0x01, 0x7C, 0x7D) // i64.const 1; i64.add; i64.sub
	out = append(out, 0x24)                   // global.set fuel
	out = appendU32(out, s.fuel)
	return s.check(out)
}

// canonF32 replaces an f32 NaN on top of the stack by the canonical NaN:
// local.tee t; f32.const nan; local.get t; local.get t; f32.eq; select.
func (s scratch) canonF32(out []byte) []byte {
	out = append(out, 0x22)
	out = appendU32(out, s.f32)
	out = append(out, 0x43)
	out = binary.LittleEndian.AppendUint32(out, 0x7FC00000)
	out = append(out, 0x20)
	out = appendU32(out, s.f32)
	out = append(out, 0x20)
	out = appendU32(out, s.f32)
	return append(out, 0x5B, 0x1B)
}

func (s scratch) canonF64(out []byte) []byte {
	out = append(out, 0x22)
	out = appendU32(out, s.f64)
	out = append(out, 0x44)
	out = binary.LittleEndian.AppendUint64(out, 0x7FF8000000000000)
	out = append(out, 0x20)
	out = appendU32(out, s.f64)
	out = append(out, 0x20)
	out = appendU32(out, s.f64)
	return append(out, 0x61, 0x1B)
}

// Instruction kinds that need code around them.
const (
	kindPlain     = iota
	kindLoop      // charge the segment after it, and check
	kindControl   // charge the segment after it
	kindBulk      // charge the byte count before it
	kindTableBulk // charge the element count before it
	kindF32       // canonicalise an f32 result after it
	kindF64       // canonicalise an f64 result after it
)

type instr struct {
	start, end int
	kind       int
	segment    int // for a loop: the segment its body starts
}

// scan decodes an expression into instructions and splits it into
// segments that execution enters only at their start: segment 0 starts the
// function, and loop, else and end (the instructions whose next
// instruction a branch or a skipped if-arm can reach) each start the next.
// Other branches (br, br_if, br_table, return, a not-taken if) only leave a
// segment early, which over-charges and never under-charges. counts[i] is
// the number of instructions in segment i.
// bounds are what the original function may refer to: its locals, the
// module's globals, its types. The rewrite adds a global and three locals
// past them; an index at or past the bound is refused, or the program
// could reach those (wazero would have refused the original).
type bounds struct {
	locals, globals uint32
	types           []uint32
}

func scan(code []byte, b bounds) ([]instr, []uint64, error) {
	r := &reader{b: code}
	counts := []uint64{0}
	seg := 0
	depth := 1
	var ins []instr
	for depth > 0 {
		if r.done() {
			return nil, nil, unsupported("function body ends inside a block")
		}
		start := r.off
		op, _ := r.byte()
		counts[seg]++
		in := instr{start: start, kind: kindPlain}
		var err error
		switch {
		case op == 0x02 || op == 0x04: // block, if
			err = r.blockType(len(b.types))
			depth++
		case op == 0x03: // loop
			err = r.blockType(len(b.types))
			in.kind = kindLoop
			depth++
		case op == 0x05: // else
		case op == 0x0B: // end
			depth--
		case op == 0x0C || op == 0x0D: // br, br_if
			_, err = r.u32()
		case op == 0x0E: // br_table
			var n uint32
			if n, err = r.u32(); err == nil {
				for i := uint64(0); i <= uint64(n) && err == nil; i++ {
					_, err = r.u32()
				}
			}
		case op == 0x00 || op == 0x01 || op == 0x0F || op == 0x1A || op == 0x1B || op == 0xD1:
		case op == 0x10 || op == 0x12 || op == 0xD2: // call, return_call, ref.func
			_, err = r.u32()
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			if _, err = r.u32(); err == nil {
				_, err = r.u32()
			}
		case op == 0x1C: // select t*: exactly one value type
			var n uint32
			if n, err = r.u32(); err == nil && n != 1 {
				err = unsupported("select with %d types", n)
			} else if err == nil {
				err = r.valType()
			}
		case op >= 0x20 && op <= 0x22: // local.get, local.set, local.tee
			var i uint32
			if i, err = r.u32(); err == nil && i >= b.locals {
				err = unsupported("local %d of %d", i, b.locals)
			}
		case op == 0x23 || op == 0x24: // global.get, global.set
			var i uint32
			if i, err = r.u32(); err == nil && i >= b.globals {
				err = unsupported("global %d of %d", i, b.globals)
			}
		case op == 0x25 || op == 0x26: // table.get, table.set
			_, err = r.u32()
		case op >= 0x28 && op <= 0x3E: // loads and stores: memarg
			if _, err = r.u32(); err == nil {
				_, err = r.u32()
			}
		case op == 0x3F || op == 0x40: // memory.size, memory.grow
			_, err = r.byte()
		case op == 0x41:
			_, err = r.s64()
		case op == 0x42:
			_, err = r.s64()
		case op == 0x43:
			_, err = r.take(4)
		case op == 0x44:
			_, err = r.take(8)
		case op >= 0x45 && op <= 0xC4: // numeric
			in.kind = numericKind(op)
		case op == 0xD0: // ref.null
			var t byte
			if t, err = r.byte(); err == nil && !isRefType(t) {
				err = unsupported("ref.null 0x%x", t)
			}
		case op == 0xFC:
			in.kind, err = r.prefixed()
		case op == 0xFD:
			err = unsupported("128-bit SIMD is not supported")
		case op == 0xFE:
			err = unsupported("threads are not supported")
		default:
			err = unsupported("unknown opcode 0x%02x", op)
		}
		if err != nil {
			return nil, nil, err
		}
		if in.kind == kindPlain && isControl(op) {
			in.kind = kindControl
		}
		if (in.kind == kindControl || in.kind == kindLoop) && depth > 0 {
			counts = append(counts, 0)
			seg = len(counts) - 1
			in.segment = seg
		}
		in.end = r.off
		ins = append(ins, in)
	}
	if !r.done() {
		return nil, nil, unsupported("bytes after the function's end")
	}
	return ins, counts, nil
}

// isControl tells the instructions after which a segment starts.
func isControl(op byte) bool {
	switch op {
	case 0x03, 0x05, 0x0B:
		return true
	}
	return false
}

// numericKind tells which numeric instructions can produce a NaN whose bits
// the machine chooses.
func numericKind(op byte) int {
	switch {
	case op >= 0x8D && op <= 0x97: // f32 ceil..sqrt, add..max
		return kindF32
	case op >= 0x9B && op <= 0xA5: // f64 ceil..sqrt, add..max
		return kindF64
	case op == 0xB6: // f32.demote_f64
		return kindF32
	case op == 0xBB: // f64.promote_f32
		return kindF64
	}
	return kindPlain
}

// prefixed reads the rest of a 0xFC instruction.
func (r *reader) prefixed() (int, error) {
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	switch {
	case sub <= 7: // saturating truncations
		return kindPlain, nil
	case sub == 8: // memory.init data, mem
		if _, err := r.u32(); err != nil {
			return 0, err
		}
		_, err = r.byte()
		return kindBulk, err
	case sub == 9 || sub == 13 || sub == 16: // data.drop, elem.drop, table.size
		_, err = r.u32()
		return kindPlain, err
	case sub == 15: // table.grow
		return 0, unsupported("table.grow (tables stay at their bounded initial size)")
	case sub == 17: // table.fill table
		_, err = r.u32()
		return kindTableBulk, err
	case sub == 10: // memory.copy mem, mem
		_, err = r.take(2)
		return kindBulk, err
	case sub == 11: // memory.fill mem
		_, err = r.byte()
		return kindBulk, err
	case sub == 12 || sub == 14: // table.init elem, table; table.copy table, table
		if _, err := r.u32(); err != nil {
			return 0, err
		}
		_, err = r.u32()
		return kindTableBulk, err
	}
	return 0, unsupported("unknown opcode 0xfc %d", sub)
}

// reader decodes the binary format.
type reader struct {
	b   []byte
	off int
}

var errTruncated = unsupported("truncated module")

func (r *reader) done() bool { return r.off >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, errTruncated
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

func (r *reader) u32() (uint32, error) {
	var x uint64
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(c&0x7F) << shift
		if c < 0x80 {
			if x > math.MaxUint32 {
				return 0, unsupported("integer out of range")
			}
			return uint32(x), nil
		}
	}
	return 0, unsupported("integer too long")
}

// s64 skips a signed LEB128 of at most 10 bytes (i32.const, i64.const, s33).
func (r *reader) s64() (int64, error) {
	var x int64
	for shift := 0; shift < 70; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		x |= int64(c&0x7F) << shift
		if c < 0x80 {
			if shift+7 < 64 && c&0x40 != 0 {
				x |= -1 << (shift + 7)
			}
			return x, nil
		}
	}
	return 0, unsupported("integer too long")
}

func (r *reader) name() ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	return r.take(int(n))
}

// limits reads limits and returns the minimum.
func (r *reader) limits() (uint32, error) {
	flag, err := r.byte()
	if err != nil {
		return 0, err
	}
	if flag > 1 {
		return 0, unsupported("limits flag 0x%x (shared or 64-bit memories)", flag)
	}
	least, err := r.u32()
	if err != nil {
		return 0, err
	}
	if flag == 1 {
		_, err = r.u32()
	}
	return least, err
}

// MaxTableSize bounds a table's initial size. Tables live outside the
// memory limit (wazero v1.12 allocates them at instantiation), and
// table.grow is refused, so this bounds them for the whole run.
const MaxTableSize = 1 << 20

// table reads a table type: a reference type and limits within
// MaxTableSize.
func (r *reader) table() error {
	t, err := r.byte()
	if err != nil {
		return err
	}
	if !isRefType(t) {
		return unsupported("table element type 0x%x", t)
	}
	least, err := r.limits()
	if err == nil && least > MaxTableSize {
		err = unsupported("a table of %d entries, above %d", least, MaxTableSize)
	}
	return err
}

// isValType tells the value types the rewrite accepts: i32, i64, f32, f64,
// funcref, externref. v128 and typed references are refused: wazero reads
// typed references (0x63, 0x64 followed by a heap type) where a one-byte
// type is expected elsewhere, and a reader that disagrees with the runtime
// about where an instruction ends can hide code from the meter.
func isValType(b byte) bool {
	switch b {
	case 0x7F, 0x7E, 0x7D, 0x7C, 0x70, 0x6F:
		return true
	}
	return false
}

// isRefType tells funcref and externref.
func isRefType(b byte) bool { return b == 0x70 || b == 0x6F }

// vec reads a vector whose entries take at least perEntry bytes each
// (checked against the bytes left before any is read) and calls entry for
// each. It returns the count.
func (r *reader) vec(perEntry int, entry func() error) (uint32, error) {
	n, err := r.vecLen(perEntry)
	if err != nil {
		return 0, err
	}
	for range n {
		if err := entry(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (r *reader) valType() error {
	b, err := r.byte()
	if err == nil && !isValType(b) {
		err = unsupported("value type 0x%x", b)
	}
	return err
}

// valTypes reads a vector of value types and returns its length.
func (r *reader) valTypes() (uint32, error) { return r.vec(1, r.valType) }

// vecLen reads a vector's count and checks it against the bytes left,
// assuming at least min bytes per entry.
func (r *reader) vecLen(perEntry int) (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(perEntry) > uint64(len(r.b)-r.off) {
		return 0, unsupported("a vector of %d entries in %d bytes", n, len(r.b)-r.off)
	}
	return n, nil
}

// constExpr skips a constant expression: i32/i64/f32/f64.const,
// global.get, ref.null, ref.func, then end.
func (r *reader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0B:
			return nil
		case 0x41, 0x42:
			_, err = r.s64()
		case 0x43:
			_, err = r.take(4)
		case 0x44:
			_, err = r.take(8)
		case 0x23, 0xD2:
			_, err = r.u32()
		case 0xD0:
			var t byte
			if t, err = r.byte(); err == nil && !isRefType(t) {
				err = unsupported("ref.null 0x%x", t)
			}
		default:
			err = unsupported("opcode 0x%x in a constant expression", op)
		}
		if err != nil {
			return err
		}
	}
}

// checkGlobals reads the global section: type, mutability, initializer.
func checkGlobals(r *reader) (uint32, error) {
	return r.vec(3, func() error {
		if err := r.valType(); err != nil {
			return err
		}
		if _, err := r.byte(); err != nil {
			return err
		}
		return r.constExpr()
	})
}

func checkTables(r *reader) error {
	_, err := r.vec(3, r.table)
	return err
}

// checkElements reads every element segment, so that no vector inside
// claims more entries than there are bytes (wazero allocates the claim).
func checkElements(r *reader) error {
	funcIndex := func() error { _, err := r.u32(); return err }
	_, err := r.vec(2, func() error {
		flags, err := r.u32()
		if err != nil {
			return err
		}
		if flags > 7 {
			return unsupported("element segment flags %d", flags)
		}
		if flags == 2 || flags == 6 { // explicit table index
			if err := funcIndex(); err != nil {
				return err
			}
		}
		if flags&1 == 0 { // active: an offset expression
			if err := r.constExpr(); err != nil {
				return err
			}
		}
		if flags&3 != 0 { // an element kind (0x00) or a one-byte reference type
			kind, err := r.byte()
			if err != nil {
				return err
			}
			if kind != 0x00 && !isRefType(kind) {
				return unsupported("element kind 0x%x", kind)
			}
		}
		if flags&4 == 0 { // function indices
			_, err = r.vec(1, funcIndex)
		} else { // expressions
			_, err = r.vec(2, r.constExpr)
		}
		return err
	})
	return err
}

// checkData reads every data segment, checking each length against the
// bytes left.
func checkData(r *reader) error {
	_, err := r.vec(2, func() error {
		flags, err := r.u32()
		if err != nil {
			return err
		}
		switch flags {
		case 0:
			err = r.constExpr()
		case 1:
		case 2:
			if _, err = r.u32(); err == nil {
				err = r.constExpr()
			}
		default:
			err = unsupported("data segment flags %d", flags)
		}
		if err != nil {
			return err
		}
		size, err := r.vecLen(1)
		if err == nil {
			_, err = r.take(int(size))
		}
		return err
	})
	return err
}

// blockType reads a block type exactly as the runtime does: empty (0x40),
// one value type, or a non-negative type index (s33) below types.
func (r *reader) blockType(types int) error {
	if r.off < len(r.b) {
		b := r.b[r.off]
		if b == 0x40 || isValType(b) {
			r.off++
			return nil
		}
		if b >= 0x40 && b < 0x80 { // a one-byte negative s33 other than the above: a typed reference, v128, ...
			return unsupported("block type 0x%x", b)
		}
	}
	i, err := r.s64()
	if err == nil && (i < 0 || i >= int64(types)) {
		err = unsupported("block type index %d of %d", i, types)
	}
	return err
}

func appendU32(b []byte, x uint32) []byte {
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

func appendS64(b []byte, x int64) []byte {
	for {
		c := byte(x & 0x7F)
		x >>= 7
		if (x == 0 && c&0x40 == 0) || (x == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, name string) []byte {
	b = appendU32(b, uint32(len(name)))
	return append(b, name...)
}
