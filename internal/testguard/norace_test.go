package testguard

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoRaceNaming checks the rule that keeps timing and allocation tests
// from being forgotten: such a test skips under the race detector (it reads
// a raceEnabled constant), and make test's second pass, without -race, runs
// exactly the tests whose names end in NoRace. So a test that reads
// raceEnabled must be named ...NoRace, a test named so must skip under
// -race (or it would run twice), and the Makefile must select that name.
func TestNoRaceNaming(t *testing.T) {
	root := moduleRoot(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "-run 'NoRace$$'") {
		t.Errorf("the Makefile's test target does not run -run 'NoRace$$' without -race")
	}
	fset := token.NewFileSet()
	found := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "out") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestMain" {
				continue
			}
			reads := readsRaceEnabled(fn.Body)
			named := strings.HasSuffix(fn.Name.Name, "NoRace")
			rel, _ := filepath.Rel(root, path)
			switch {
			case reads && !named:
				t.Errorf("%s: %s skips under -race but is not named ...NoRace, so make test never runs it", rel, fn.Name.Name)
			case named && !reads:
				t.Errorf("%s: %s is named ...NoRace but does not skip under -race (if raceEnabled { t.Skip(...) })", rel, fn.Name.Name)
			case named:
				found++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no ...NoRace test found: the walk is broken")
	}
}

func readsRaceEnabled(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == "raceEnabled" {
			found = true
		}
		return !found
	})
	return found
}

// moduleRoot is the folder of the go.mod above the test's folder.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = up
	}
}
