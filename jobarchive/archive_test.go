package jobarchive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The archive's bytes are the protocol: a change in archive/tar (or here)
// that moves them would split honest executors built from different trees.
func TestArchiveBytesArePinned(t *testing.T) {
	src := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(src, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	stdout := write("stdout", "hello\n")
	long := "output/" + strings.Repeat("d", 120) + "/é.txt" // needs a PAX record
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, Content{
		Verdict: VerdictExit, ExitCode: 7, Stdout: stdout,
		Output: []Entry{
			{Name: "output/a.txt", Host: write("a.txt", "a")},
			{Name: "output/" + strings.Repeat("d", 120) + "/", Dir: true},
			{Name: long, Host: write("long", "long name")},
		},
	}))
	sum := sha256.Sum256(buf.Bytes())
	require.Equal(t, "f8a046ebcb47e256084fa4c6d10b5391a3a5330d68cb8ae690e075fc9ec07f64", hex.EncodeToString(sum[:]))
	// 8 headers, 5 data blocks, 2 PAX headers with a record block each, the end.
	require.Equal(t, (8+5+2*2+2)*512, buf.Len())

	m, err := Extract(bytes.NewReader(buf.Bytes()), t.TempDir())
	require.NoError(t, err)
	require.Equal(t, Manifest{Verdict: VerdictExit, ExitCode: 7, Files: []string{"output/a.txt", long}}, m)
}

type tarEntry struct {
	name     string
	typeflag byte
	body     string
	link     string
}

func tarOf(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typeflag != tar.TypeReg {
			h.Size = 0
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestExtractRefusesUnsafeArchives(t *testing.T) {
	ok := []tarEntry{
		{name: "verdict", typeflag: tar.TypeReg, body: "ok\n"},
		{name: "exit_code", typeflag: tar.TypeReg, body: "0\n"},
		{name: "output/", typeflag: tar.TypeDir},
	}
	with := func(extra ...tarEntry) []tarEntry { return append(append([]tarEntry{}, ok...), extra...) }
	for name, entries := range map[string][]tarEntry{
		"absolute path":         with(tarEntry{name: "/tmp/evil", typeflag: tar.TypeReg, body: "x"}),
		"absolute under output": with(tarEntry{name: "output//etc/evil", typeflag: tar.TypeReg, body: "x"}),
		"dot dot":               with(tarEntry{name: "output/../../evil", typeflag: tar.TypeReg, body: "x"}),
		"dot dot alone":         with(tarEntry{name: "../evil", typeflag: tar.TypeReg, body: "x"}),
		"dot segment":           with(tarEntry{name: "output/./x", typeflag: tar.TypeReg, body: "x"}),
		"symlink":               with(tarEntry{name: "output/link", typeflag: tar.TypeSymlink, link: "/etc/passwd"}),
		"hard link":             with(tarEntry{name: "output/link", typeflag: tar.TypeLink, link: "verdict"}),
		"device":                with(tarEntry{name: "output/dev", typeflag: tar.TypeChar}),
		"fifo":                  with(tarEntry{name: "output/fifo", typeflag: tar.TypeFifo}),
		"duplicate":             with(tarEntry{name: "output/x", typeflag: tar.TypeReg, body: "1"}, tarEntry{name: "output/x", typeflag: tar.TypeReg, body: "2"}),
		"duplicate verdict":     with(tarEntry{name: "verdict", typeflag: tar.TypeReg, body: "trap\n"}),
		"unknown entry":         with(tarEntry{name: "evil.sh", typeflag: tar.TypeReg, body: "x"}),
		"unknown directory":     with(tarEntry{name: "etc/", typeflag: tar.TypeDir}),
		"backslash":             with(tarEntry{name: `output\..\..\evil`, typeflag: tar.TypeReg, body: "x"}),
		"unknown verdict":       {{name: "verdict", typeflag: tar.TypeReg, body: "fine\n"}, ok[1]},
		"bad exit code":         {ok[0], {name: "exit_code", typeflag: tar.TypeReg, body: "-1\n"}},
		"no verdict":            {ok[1], ok[2]},
		"output is a file":      {ok[0], ok[1], {name: "output", typeflag: tar.TypeReg, body: "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			_, err := Extract(bytes.NewReader(tarOf(t, entries...)), dir)
			require.ErrorIs(t, err, ErrUnsafe)
			// Nothing beside dir.
			siblings, err := os.ReadDir(parent)
			require.NoError(t, err)
			require.Len(t, siblings, 1)
		})
	}

	t.Run("file through a planted symlink", func(t *testing.T) {
		dir := t.TempDir()
		target := t.TempDir()
		require.NoError(t, os.Symlink(target, filepath.Join(dir, "output")))
		_, err := Extract(bytes.NewReader(tarOf(t, with(tarEntry{name: "output/x", typeflag: tar.TypeReg, body: "x"})...)), dir)
		require.ErrorIs(t, err, os.ErrExist)
		require.NoFileExists(t, filepath.Join(target, "x"))
	})

	t.Run("file under a file", func(t *testing.T) {
		_, err := Extract(bytes.NewReader(tarOf(t, with(
			tarEntry{name: "output/x", typeflag: tar.TypeReg, body: "x"},
			tarEntry{name: "output/x/y", typeflag: tar.TypeReg, body: "y"})...)), t.TempDir())
		require.Error(t, err)
	})

	t.Run("never overwrites", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "verdict"), []byte("mine"), 0o644))
		_, err := Extract(bytes.NewReader(tarOf(t, ok...)), dir)
		require.ErrorIs(t, err, os.ErrExist)
		require.Equal(t, "mine", readFile(t, filepath.Join(dir, "verdict")))
	})

	t.Run("a canonical archive extracts", func(t *testing.T) {
		dir := t.TempDir()
		m, err := Extract(bytes.NewReader(tarOf(t, with(
			tarEntry{name: "output/sub/", typeflag: tar.TypeDir},
			tarEntry{name: "output/sub/r.txt", typeflag: tar.TypeReg, body: "r"})...)), dir)
		require.NoError(t, err)
		require.Equal(t, Manifest{Verdict: VerdictOK, Files: []string{"output/sub/r.txt"}}, m)
		require.Equal(t, "r", readFile(t, filepath.Join(dir, "output", "sub", "r.txt")))
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
