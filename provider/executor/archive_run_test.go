package executor

import (
	"archive/tar"
	"os"
	"path/filepath"
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
