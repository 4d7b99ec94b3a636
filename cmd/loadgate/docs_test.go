package main

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/engine"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// readDoc reads a Markdown file of the repository (path relative to its
// root).
func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docSection returns the text of doc from the first line that starts with
// start to the line before the first blank line after it.
func docSection(t *testing.T, path, doc, start string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+start)
	if i < 0 {
		t.Fatalf("%s: no line starting with %q", path, start)
	}
	s := doc[i+1:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j]
	}
	return s
}

// backticked are the `code` spans of Markdown text.
var backticked = regexp.MustCompile("`([^`]+)`")

// parenthetical is a remark in parentheses, left out of the lists read
// from prose.
var parenthetical = regexp.MustCompile(`\([^()]*\)`)

// testFile is one _test.go file of the repository.
type testFile struct {
	pkg  string // its directory, slash-separated, relative to the root
	text string
}

// repoTestFiles reads every _test.go file of the repository (build tags
// and GOOS suffixes ignored: a file for Linux or the soak counts too).
func repoTestFiles(t *testing.T) []testFile {
	t.Helper()
	var files []testFile
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "out", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, filepath.Dir(path))
		if err != nil {
			return err
		}
		files = append(files, testFile{pkg: filepath.ToSlash(rel), text: string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no _test.go files under the repository root")
	}
	return files
}

// testFunc matches the declaration of a test, fuzz target or benchmark.
var testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w*)\(`)

// citedTest matches a test, fuzz target or benchmark named in prose; a
// subtest (TestFoo/case) is cited by its parent's name.
var citedTest = regexp.MustCompile(`\b(?:Test|Fuzz|Benchmark)[A-Z0-9_]\w*`)

// kindTableRow is a row of the error-kind table: | `reset` | ...
var kindTableRow = regexp.MustCompile("(?m)^\\|\\s*`([^`]+)`\\s*\\|")

// TestErrorKindsDocumented: docs/metrics.md's table of error kinds lists
// every kind the engine can count in a report's errors (engine.Kind, ok
// aside), and nothing else.
func TestErrorKindsDocumented(t *testing.T) {
	const path = "docs/metrics.md"
	table := docSection(t, path, readDoc(t, path), "| kind |")
	var doc []string
	for _, m := range kindTableRow.FindAllStringSubmatch(table, -1) {
		if slices.Contains(doc, m[1]) {
			t.Errorf("%s: kind %q listed twice", path, m[1])
		}
		doc = append(doc, m[1])
	}
	var code []string
	for k := engine.KindNone + 1; k < engine.NumKinds; k++ {
		code = append(code, k.String())
	}
	for _, k := range code {
		if !slices.Contains(doc, k) {
			t.Errorf("%s does not list the error kind %q", path, k)
		}
	}
	for _, k := range doc {
		if !slices.Contains(code, k) {
			t.Errorf("%s lists the error kind %q, which the engine does not have (it has %v)", path, k, code)
		}
	}
}

// guardedMain is a TestMain that calls testguard.Main, and
// ownTestguardMain internal/testguard's, which calls its own Main.
var (
	guardedMain      = regexp.MustCompile(`func TestMain\(\w+ \*testing\.M\)\s*\{[^}]*\btestguard\.Main\(`)
	ownTestguardMain = regexp.MustCompile(`func TestMain\(\w+ \*testing\.M\)\s*\{[^}]*\bMain\(`)
)

// TestReliabilityListsTestguard: docs/reliability.md names every package
// whose TestMain is internal/testguard's Main (and no other).
func TestReliabilityListsTestguard(t *testing.T) {
	const path = "docs/reliability.md"
	bullet := docSection(t, path, readDoc(t, path), "- `internal/testguard` is the `TestMain` of")
	list, _, ok := strings.Cut(bullet, ":")
	if !ok {
		t.Fatalf("%s: the testguard bullet has no colon after its list: %q", path, bullet)
	}
	spans := backticked.FindAllStringSubmatch(parenthetical.ReplaceAllString(list, ""), -1)
	if len(spans) < 3 {
		t.Fatalf("%s: the testguard bullet names no package: %q", path, list)
	}
	doc := map[string]bool{}
	for _, m := range spans[2:] { // after `internal/testguard` is the `TestMain` of
		doc[m[1]] = true
	}
	code := map[string]bool{}
	for _, f := range repoTestFiles(t) {
		if guardedMain.MatchString(f.text) || f.pkg == "internal/testguard" && ownTestguardMain.MatchString(f.text) {
			code[f.pkg] = true
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(code)) {
		if !doc[pkg] {
			t.Errorf("%s: the testguard list does not name %s, whose TestMain is testguard's", path, pkg)
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(doc)) {
		if !code[pkg] {
			t.Errorf("%s: the testguard list names %s, whose tests do not use testguard.Main", path, pkg)
		}
	}
}

// TestReliabilityListsFuzzTargets: docs/reliability.md's list of fuzz
// targets names every func Fuzz of the repository under its package (and
// no other).
func TestReliabilityListsFuzzTargets(t *testing.T) {
	const path = "docs/reliability.md"
	bullet := docSection(t, path, readDoc(t, path), "- Fuzz targets")
	_, list, ok := strings.Cut(bullet, ":")
	if ok {
		list, _, ok = strings.Cut(list, ".\n")
	}
	if !ok {
		t.Fatalf("%s: want the fuzz targets as \"- Fuzz targets ...: `pkg` `FuzzX`, ...; `pkg` ....\\n\", got %q", path, bullet)
	}
	doc := map[string]bool{}
	pkg := ""
	for _, m := range backticked.FindAllStringSubmatch(parenthetical.ReplaceAllString(list, ""), -1) {
		if name, isFuzz := strings.CutPrefix(m[1], "Fuzz"); isFuzz && name != "" {
			if pkg == "" {
				t.Errorf("%s: %s listed before any package", path, m[1])
			}
			doc[pkg+" "+m[1]] = true
			continue
		}
		pkg = m[1]
	}
	code := map[string]bool{}
	for _, f := range repoTestFiles(t) {
		for _, m := range testFunc.FindAllStringSubmatch(f.text, -1) {
			if strings.HasPrefix(m[1], "Fuzz") {
				code[f.pkg+" "+m[1]] = true
			}
		}
	}
	if len(code) == 0 {
		t.Fatal("no fuzz targets found in the repository")
	}
	for _, k := range slices.Sorted(maps.Keys(code)) {
		if !doc[k] {
			t.Errorf("%s: the fuzz list does not name %s", path, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if !code[k] {
			t.Errorf("%s: the fuzz list names %s, which does not exist", path, k)
		}
	}
}

// TestCitedTestsExist: every test, fuzz target and benchmark that the
// README and docs/ cite as proof is a func of some _test.go file, so that
// a renamed or deleted test cannot leave a claim resting on nothing.
func TestCitedTestsExist(t *testing.T) {
	defined := map[string]bool{}
	for _, f := range repoTestFiles(t) {
		for _, m := range testFunc.FindAllStringSubmatch(f.text, -1) {
			defined[m[1]] = true
		}
	}
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append([]string{filepath.Join(repoRoot, "README.md")}, docs...)
	cited := 0
	for _, path := range docs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, name := range citedTest.FindAllString(line, -1) {
				cited++
				if !defined[name] {
					t.Errorf("%s:%d cites %s, which no _test.go file defines", strings.TrimPrefix(filepath.ToSlash(path), repoRoot+"/"), i+1, name)
				}
			}
		}
	}
	if cited == 0 {
		t.Fatal("no test cited in the README or docs/: is the pattern wrong?")
	}
}

// outsideContract matches a citation of the design notes that the first
// version was built from, which live outside the repository: their
// sections by number, their rows, their file names, the folder beside the
// checkout. The contract of record is docs/, and a comment, fixture or page
// names a docs/ page (and section) or says the reason itself. (The
// pattern's own text does not match it.)
var outsideContract = regexp.MustCompile(`\bDESIGN( *§|\.md)|\bRELIABILITY( +rows?\b|\.md| +")|\bSTYLE\.md|\.\./shared/`)

// TestContractInRepository: no file of the repository (code, tests,
// fixtures, docs, scripts) cites a contract that is not in the repository.
func TestContractInRepository(t *testing.T) {
	checked := 0
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "out", "bin", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if slices.Contains(b, 0) {
			return nil // not text
		}
		checked++
		rel := strings.TrimPrefix(filepath.ToSlash(path), repoRoot+"/")
		for i, line := range strings.Split(string(b), "\n") {
			if m := outsideContract.FindString(line); m != "" {
				t.Errorf("%s:%d cites %q, which is not in the repository: name the docs/ page (docs/exit-codes.md, docs/reliability.md, ...) or say the reason", rel, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d files checked under %s: is the walk wrong?", checked, repoRoot)
	}
}
