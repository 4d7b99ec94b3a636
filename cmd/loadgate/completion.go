package main

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"text/template"
)

func init() {
	// Registered here: completionCmd reads the command table, which must
	// not refer to it in its own initializer.
	commands["completion"] = command{"print a shell completion script: loadgate completion bash|zsh", completionCmd}
}

// completionCmd prints a completion script for bash or zsh. The commands
// and their flags are read from the command table and from each command's
// own --help, so the script cannot drift from the flags.
func completionCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("completion", "completion bash|zsh", stdout, stderr)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want a shell: loadgate completion bash|zsh")
	}
	var tmpl *template.Template
	switch fs.Arg(0) {
	case "bash":
		tmpl = bashCompletion
	case "zsh":
		tmpl = zshCompletion
	default:
		return usagef(fmt.Sprintf("completion for %q: want bash or zsh", fs.Arg(0)))
	}
	if err := tmpl.Execute(stdout, completionData()); err != nil {
		return &exitError{code: exitIO, err: err}
	}
	return nil
}

// completionCommand is one command of a completion script.
type completionCommand struct {
	Name, Summary string
	Flags         []string // -e, --env, ...
}

var flagUsageLine = regexp.MustCompile(`(?m)^\s+(?:(-[A-Za-z0-9]), )?(--[a-z0-9-]+)`)

func completionData() []completionCommand {
	var out []completionCommand
	for name, c := range commands {
		cc := completionCommand{Name: name, Summary: c.summary}
		if name == "completion" {
			cc.Flags = []string{"bash", "zsh"}
		} else if name != "version" {
			var help bytes.Buffer
			_ = c.run([]string{"--help"}, &help, io.Discard) // --help goes to stdout
			for _, m := range flagUsageLine.FindAllStringSubmatch(help.String(), -1) {
				if m[1] != "" {
					cc.Flags = append(cc.Flags, m[1])
				}
				cc.Flags = append(cc.Flags, m[2])
			}
		}
		cc.Summary, _, _ = strings.Cut(cc.Summary, ":")      // zsh's _describe splits at ':'
		cc.Summary = strings.ReplaceAll(cc.Summary, "'", "") // it sits in single quotes
		out = append(out, cc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var bashCompletion = template.Must(template.New("bash").Parse(`# bash completion for loadgate: source <(loadgate completion bash)
_loadgate() {
    local cur prev cmd flags
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [[ ${COMP_CWORD} -eq 1 ]]; then
        COMPREPLY=( $(compgen -W "{{range .}}{{.Name}} {{end}}help" -- "${cur}") )
        return 0
    fi
    cmd="${COMP_WORDS[1]}"
    case "${prev}" in
        -o|--out)
            COMPREPLY=( $(compgen -W "json= junit= html= text=" -- "${cur}") )
            compopt -o nospace 2>/dev/null
            return 0
            ;;
    esac
    case "${cmd}" in
{{- range .}}
        {{.Name}}) flags="{{range $i, $f := .Flags}}{{if $i}} {{end}}{{$f}}{{end}}" ;;
{{- end}}
        *) flags="" ;;
    esac
    if [[ "${cur}" == -* || "${cmd}" == completion ]]; then
        COMPREPLY=( $(compgen -W "${flags}" -- "${cur}") )
        return 0
    fi
    COMPREPLY=( $(compgen -f -- "${cur}") )
    return 0
}
complete -o default -o bashdefault -F _loadgate loadgate
`))

var zshCompletion = template.Must(template.New("zsh").Parse(`#compdef loadgate
# zsh completion for loadgate: loadgate completion zsh > "${fpath[1]}/_loadgate"
# (or: source <(loadgate completion zsh) after compinit)
_loadgate() {
    local -a cmds flags
    cmds=(
{{- range .}}
        '{{.Name}}:{{.Summary}}'
{{- end}}
    )
    if (( CURRENT == 2 )); then
        _describe -t commands 'loadgate command' cmds
        return
    fi
    case "${words[2]}" in
{{- range .}}
        {{.Name}}) flags=({{range $i, $f := .Flags}}{{if $i}} {{end}}{{$f}}{{end}}) ;;
{{- end}}
    esac
    if [[ "${PREFIX}" == -* || "${words[2]}" == completion ]]; then
        compadd -a flags
    else
        _files
    fi
}
if [[ "${funcstack[1]}" == _loadgate ]]; then
    _loadgate "$@"
else
    compdef _loadgate loadgate
fi
`))
