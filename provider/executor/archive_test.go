package executor

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

func entryNames(t *testing.T, archive string) []string {
	t.Helper()
	f, err := os.Open(archive)
	require.NoError(t, err)
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		require.Zero(t, h.ModTime.Unix(), h.Name)
		require.Zero(t, h.Uid)
		require.Zero(t, h.Gid)
		require.Empty(t, h.Uname)
		require.Empty(t, h.Gname)
		if h.Typeflag == tar.TypeDir {
			require.EqualValues(t, 0o755, h.Mode, h.Name)
		} else {
			require.EqualValues(t, 0o644, h.Mode, h.Name)
		}
		names = append(names, h.Name)
	}
	return names
}

func TestArchiveOrderAndSandboxedOutput(t *testing.T) {
	res, m, dir := run(t, sharedExecutor(t), job(9, program(t, "testprog"), "tree"))

	stdout := readFile(t, filepath.Join(dir, "stdout"))
	require.Equal(t, VerdictOK, res.Verdict, stdout)
	require.Contains(t, stdout, "symlink failed")
	require.Contains(t, stdout, `entries ["a" "a.txt" "b" "c"]`, "directory entries come sorted")
	require.Equal(t, []string{
		"verdict", "exit_code", "stdout", "stderr",
		"output/", "output/a.txt", "output/a/", "output/a/y", "output/b/", "output/b/z.txt", "output/c",
	}, entryNames(t, res.Archive))
	require.Equal(t, []string{"output/a.txt", "output/a/y", "output/b/z.txt", "output/c"}, m.Files)
	require.Equal(t, "b/z.txt\n", readFile(t, filepath.Join(dir, "output", "b", "z.txt")))
}

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
	require.NoError(t, writeArchive(&buf, archiveContent{
		verdict: VerdictExit, exitCode: 7, stdout: stdout,
		output: []outputEntry{
			{name: "output/a.txt", host: write("a.txt", "a")},
			{name: "output/" + strings.Repeat("d", 120) + "/", dir: true},
			{name: long, host: write("long", "long name")},
		},
	}))
	sum := sha256.Sum256(buf.Bytes())
	require.Equal(t, "f8a046ebcb47e256084fa4c6d10b5391a3a5330d68cb8ae690e075fc9ec07f64", hex.EncodeToString(sum[:]))
	// 8 headers, 5 data blocks, 2 PAX headers with a record block each, the end.
	require.Equal(t, (8+5+2*2+2)*512, buf.Len())

	m, err := ExtractArchive(bytes.NewReader(buf.Bytes()), t.TempDir())
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

func TestExtractArchiveRefusesUnsafeArchives(t *testing.T) {
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
			_, err := ExtractArchive(bytes.NewReader(tarOf(t, entries...)), dir)
			require.ErrorIs(t, err, ErrUnsafeArchive)
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
		_, err := ExtractArchive(bytes.NewReader(tarOf(t, with(tarEntry{name: "output/x", typeflag: tar.TypeReg, body: "x"})...)), dir)
		require.ErrorIs(t, err, os.ErrExist)
		require.NoFileExists(t, filepath.Join(target, "x"))
	})

	t.Run("file under a file", func(t *testing.T) {
		_, err := ExtractArchive(bytes.NewReader(tarOf(t, with(
			tarEntry{name: "output/x", typeflag: tar.TypeReg, body: "x"},
			tarEntry{name: "output/x/y", typeflag: tar.TypeReg, body: "y"})...)), t.TempDir())
		require.Error(t, err)
	})

	t.Run("never overwrites", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "verdict"), []byte("mine"), 0o644))
		_, err := ExtractArchive(bytes.NewReader(tarOf(t, ok...)), dir)
		require.ErrorIs(t, err, os.ErrExist)
		require.Equal(t, "mine", readFile(t, filepath.Join(dir, "verdict")))
	})

	t.Run("a canonical archive extracts", func(t *testing.T) {
		dir := t.TempDir()
		m, err := ExtractArchive(bytes.NewReader(tarOf(t, with(
			tarEntry{name: "output/sub/", typeflag: tar.TypeDir},
			tarEntry{name: "output/sub/r.txt", typeflag: tar.TypeReg, body: "r"})...)), dir)
		require.NoError(t, err)
		require.Equal(t, Manifest{Verdict: VerdictOK, Files: []string{"output/sub/r.txt"}}, m)
		require.Equal(t, "r", readFile(t, filepath.Join(dir, "output", "sub", "r.txt")))
	})
}
