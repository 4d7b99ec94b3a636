package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/internal/pki"
)

// The files of deploy/kubernetes and the kinds of their objects, in order.
var deployFiles = map[string][]string{
	"README.md":            nil,
	"agents.yaml":          {"Service", "StatefulSet", "NetworkPolicy"},
	"coordinator-job.yaml": {"Job"},
	"indexed-job.yaml":     {"Job"},
	"merge-job.yaml":       {"Job"},
	"reports-pvc.yaml":     {"PersistentVolumeClaim"},
}

// How many loadgate command lines (container args) each manifest holds.
var deployCommandLines = map[string]int{
	"agents.yaml":          1,
	"coordinator-job.yaml": 1,
	"indexed-job.yaml":     1,
	"merge-job.yaml":       1,
	"reports-pvc.yaml":     0,
}

const (
	deployDir       = "../../deploy/kubernetes"
	deployNamespace = "loadtest"
	deployImage     = "ghcr.io/loadgate/loadgate:latest"
)

// k8sObject is the part of a Kubernetes object the checks read; the spec
// holds the fields of every kind used (yaml ignores the others).
type k8sObject struct {
	Kind     string
	Metadata struct {
		Name, Namespace string
		Labels          map[string]string
	}
	Spec struct {
		ClusterIP           string `yaml:"clusterIP"`
		Ports               []struct{ Port int }
		Selector            map[string]any
		ServiceName         string `yaml:"serviceName"`
		Replicas            int
		PodManagementPolicy string `yaml:"podManagementPolicy"`
		BackoffLimit        *int   `yaml:"backoffLimit"`
		CompletionMode      string `yaml:"completionMode"`
		Completions         int
		Parallelism         int
		AccessModes         []string `yaml:"accessModes"`
		Template            *struct {
			Metadata struct{ Labels map[string]string }
			Spec     podSpec
		}
	}
}

type podSpec struct {
	RestartPolicy                string `yaml:"restartPolicy"`
	AutomountServiceAccountToken *bool  `yaml:"automountServiceAccountToken"`
	EnableServiceLinks           *bool  `yaml:"enableServiceLinks"`
	SecurityContext              struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
	} `yaml:"securityContext"`
	Containers []k8sContainer
	Volumes    []struct {
		Name   string
		Secret *struct {
			SecretName  string `yaml:"secretName"`
			DefaultMode *int   `yaml:"defaultMode"`
			Items       []struct{ Key, Path string }
		}
		ConfigMap             *struct{ Name string } `yaml:"configMap"`
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
	}
}

type k8sContainer struct {
	Name, Image    string
	Args           []string
	ReadinessProbe *struct {
		TCPSocket *struct{ Port any } `yaml:"tcpSocket"`
	} `yaml:"readinessProbe"`
	Ports     []struct{ Name string }
	Resources struct{ Requests, Limits map[string]string }
	Security  struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct{ Drop []string }
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

// deployment is deploy/kubernetes read once: objects by file, and the
// README's command lines.
type deployment struct {
	objects map[string][]k8sObject
	raw     map[string][]byte
	readme  string
}

func readDeployment(t *testing.T) *deployment {
	t.Helper()
	entries, err := os.ReadDir(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	d := &deployment{objects: map[string][]k8sObject{}, raw: map[string][]byte{}}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(deployDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "README.md" {
			d.readme = string(b)
			continue
		}
		d.raw[e.Name()] = b
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		for {
			var o k8sObject
			if err := dec.Decode(&o); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("deploy/kubernetes/%s: %v", e.Name(), err)
			}
			d.objects[e.Name()] = append(d.objects[e.Name()], o)
		}
	}
	return d
}

// object returns the object of kind in file.
func (d *deployment) object(t *testing.T, file, kind string) *k8sObject {
	t.Helper()
	for i, o := range d.objects[file] {
		if o.Kind == kind {
			return &d.objects[file][i]
		}
	}
	t.Fatalf("deploy/kubernetes/%s has no %s", file, kind)
	return nil
}

// container returns the only container of the pod template of kind in file.
func (d *deployment) container(t *testing.T, file, kind string) (*k8sObject, *k8sContainer) {
	t.Helper()
	o := d.object(t, file, kind)
	if o.Spec.Template == nil || len(o.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s %s: want a pod template with one container", file, kind)
	}
	return o, &o.Spec.Template.Spec.Containers[0]
}

// flagValue returns the value of --name in args (--name V or --name=V).
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// TestDeployManifests: deploy/kubernetes holds the files of deployFiles with
// the kinds listed, all in the namespace the certificates name, and every
// pod runs loadgate's image hardened: non-root, read-only root file
// system, no capabilities or privilege escalation, no service-account token,
// no Service variables (LOADGATE_* would set flags), memory bounded.
func TestDeployManifests(t *testing.T) {
	d := readDeployment(t)
	for name := range d.raw {
		if _, ok := deployFiles[name]; !ok {
			t.Errorf("deploy/kubernetes/%s is not in deployFiles: add it with its kinds", name)
		}
	}
	for name, kinds := range deployFiles {
		if kinds == nil {
			continue
		}
		var got []string
		for _, o := range d.objects[name] {
			got = append(got, o.Kind)
			if o.Metadata.Namespace != deployNamespace || o.Metadata.Name == "" {
				t.Errorf("%s: %s %q in namespace %q, want a name and namespace %s", name, o.Kind, o.Metadata.Name, o.Metadata.Namespace, deployNamespace)
			}
			if o.Spec.Template != nil {
				checkPod(t, name+" "+o.Kind, o)
			}
		}
		if !slices.Equal(got, kinds) {
			t.Errorf("%s: kinds %v, want %v", name, got, kinds)
		}
	}
}

func checkPod(t *testing.T, where string, o k8sObject) {
	t.Helper()
	p := o.Spec.Template.Spec
	yes := func(b *bool) bool { return b != nil && *b }
	no := func(b *bool) bool { return b != nil && !*b }
	if !yes(p.SecurityContext.RunAsNonRoot) || !no(p.AutomountServiceAccountToken) || !no(p.EnableServiceLinks) {
		t.Errorf("%s: want runAsNonRoot, automountServiceAccountToken: false, enableServiceLinks: false", where)
	}
	if o.Kind == "Job" && p.RestartPolicy != "Never" {
		t.Errorf("%s: restartPolicy %q, want Never (a restart would send the load again)", where, p.RestartPolicy)
	}
	for _, c := range p.Containers {
		s := c.Security
		if c.Image != deployImage || !yes(s.RunAsNonRoot) || !yes(s.ReadOnlyRootFilesystem) || !no(s.AllowPrivilegeEscalation) ||
			!slices.Equal(s.Capabilities.Drop, []string{"ALL"}) {
			t.Errorf("%s: container %s: want image %s, runAsNonRoot, readOnlyRootFilesystem, allowPrivilegeEscalation: false, drop [ALL]", where, c.Name, deployImage)
		}
		if c.Resources.Requests["cpu"] == "" || c.Resources.Limits["memory"] == "" {
			t.Errorf("%s: container %s: want a cpu request and a memory limit", where, c.Name)
		}
	}
	for _, v := range p.Volumes {
		if v.Secret != nil && (v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o7 != 0) {
			t.Errorf("%s: secret volume %s: want a defaultMode with no access for others (0440)", where, v.Name)
		}
	}
}

// TestDeployAgents: a headless Service and a StatefulSet of three agents
// started in parallel, whose pods the Service selects, listening on 7070
// with mutual TLS, a token file and an allow-list, ready when the port is.
func TestDeployAgents(t *testing.T) {
	d := readDeployment(t)
	svc := d.object(t, "agents.yaml", "Service")
	sts, c := d.container(t, "agents.yaml", "StatefulSet")
	if svc.Metadata.Name != "loadgate-agent" || svc.Spec.ClusterIP != "None" || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 7070 {
		t.Errorf("Service: %q clusterIP %q ports %v: want loadgate-agent, None, 7070", svc.Metadata.Name, svc.Spec.ClusterIP, svc.Spec.Ports)
	}
	labels := sts.Spec.Template.Metadata.Labels
	for k, v := range svc.Spec.Selector {
		if labels[k] != v {
			t.Errorf("the Service selects %s=%v, the agent pods have %q", k, v, labels[k])
		}
	}
	if sts.Metadata.Name != "loadgate-agent" || sts.Spec.ServiceName != svc.Metadata.Name || sts.Spec.Replicas != 3 || sts.Spec.PodManagementPolicy != "Parallel" {
		t.Errorf("StatefulSet %q: serviceName %q, replicas %d, podManagementPolicy %q: want loadgate-agent, the Service, 3, Parallel",
			sts.Metadata.Name, sts.Spec.ServiceName, sts.Spec.Replicas, sts.Spec.PodManagementPolicy)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.TCPSocket == nil {
		t.Error("agent: want a tcpSocket readiness probe (a probe has no client certificate)")
	}
	if len(c.Args) == 0 || c.Args[0] != "agent" {
		t.Fatalf("agent args %q: want loadgate agent", c.Args)
	}
	want := map[string]string{"--listen": "0.0.0.0:7070", "--token-file": "/etc/loadgate/token/token", "--tls-cert": "/etc/loadgate/tls/agent.pem",
		"--tls-key": "/etc/loadgate/tls/agent-key.pem", "--client-ca": "/etc/loadgate/tls/ca.pem"}
	for f, v := range want {
		if got, _ := flagValue(c.Args, f); got != v {
			t.Errorf("agent %s %q, want %q", f, got, v)
		}
	}
	if _, ok := flagValue(c.Args, "--allow-target"); !ok {
		t.Error("agent: no --allow-target: off loopback the agents would refuse every target")
	}
}

// TestDeployCoordinator: the coordinator Job never retries, names each
// agent pod once by a name the agent certificate of the README's `loadgate
// certs` line covers, and uses the coordinator's files of that command.
func TestDeployCoordinator(t *testing.T) {
	d := readDeployment(t)
	job, c := d.container(t, "coordinator-job.yaml", "Job")
	sts := d.object(t, "agents.yaml", "StatefulSet")
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 {
		t.Error("coordinator Job: want backoffLimit: 0")
	}
	if job.Spec.Template.Metadata.Labels["app.kubernetes.io/component"] != "coordinator" {
		t.Error("coordinator pods: want the label the agents' NetworkPolicy admits (app.kubernetes.io/component: coordinator)")
	}
	list, _ := flagValue(c.Args, "--agents")
	hosts := strings.Split(list, ",")
	var want []string
	for i := range sts.Spec.Replicas {
		want = append(want, fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local:7070", sts.Metadata.Name, i, sts.Spec.ServiceName, deployNamespace))
	}
	if !slices.Equal(hosts, want) {
		t.Errorf("--agents %q, want every agent pod once: %q", hosts, want)
	}
	certs := readmeCerts(t, d)
	agentCert := parseCertFile(t, filepath.Join(certs, pki.AgentFile))
	for _, h := range hosts {
		host, _, _ := strings.Cut(h, ":")
		if err := agentCert.VerifyHostname(host); err != nil {
			t.Errorf("--agents %s: the agent certificate of the README does not cover it: %v", h, err)
		}
	}
	for f, v := range map[string]string{"--token-file": "/etc/loadgate/token/token", "--tls-ca": "/etc/loadgate/tls/ca.pem",
		"--tls-cert": "/etc/loadgate/tls/coordinator.pem", "--tls-key": "/etc/loadgate/tls/coordinator-key.pem"} {
		if got, _ := flagValue(c.Args, f); got != v {
			t.Errorf("coordinator %s %q, want %q", f, got, v)
		}
	}
}

// TestDeployIndexedJob: the Indexed Job runs share I of N with N its
// completions, all at once, each into its own report, and the merge Job
// reads exactly those N reports.
func TestDeployIndexedJob(t *testing.T) {
	d := readDeployment(t)
	job, c := d.container(t, "indexed-job.yaml", "Job")
	n := job.Spec.Completions
	if job.Spec.CompletionMode != "Indexed" || n != 4 || job.Spec.Parallelism != n {
		t.Errorf("Job: completionMode %q, completions %d, parallelism %d: want Indexed, 4, 4", job.Spec.CompletionMode, n, job.Spec.Parallelism)
	}
	if seg, _ := flagValue(c.Args, "--segment"); seg != fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", n) {
		t.Errorf("--segment %q, want $(JOB_COMPLETION_INDEX)/%d", seg, n)
	}
	out, _ := flagValue(c.Args, "-o")
	if !strings.Contains(out, "$(JOB_COMPLETION_INDEX)") || !strings.HasPrefix(out, "json=") {
		t.Fatalf("-o %q: want a json report per index", out)
	}
	_, m := d.container(t, "merge-job.yaml", "Job")
	var inputs, want []string
	for i, a := range m.Args[1:] {
		if strings.HasPrefix(a, "-") {
			break
		}
		inputs = append(inputs, m.Args[1+i])
	}
	for i := range n {
		want = append(want, strings.ReplaceAll(strings.TrimPrefix(out, "json="), "$(JOB_COMPLETION_INDEX)", fmt.Sprint(i)))
	}
	if m.Args[0] != "merge" || !slices.Equal(inputs, want) {
		t.Errorf("merge args %q: want merge %q", m.Args, want)
	}
}

// TestDeployMounts: every file a container names lies under one of its
// mounts; a secret's files are ones `loadgate certs` writes and the README
// puts in that Secret, and the CA key is never among them; reports go to a
// writable mount.
func TestDeployMounts(t *testing.T) {
	d := readDeployment(t)
	secrets := readmeSecrets(d.readme)
	for file, objs := range d.objects {
		for _, o := range objs {
			if o.Spec.Template == nil {
				continue
			}
			p := o.Spec.Template.Spec
			for _, c := range p.Containers {
				for i, a := range c.Args {
					path, output := a, false
					if i > 0 && (c.Args[i-1] == "-o" || c.Args[i-1] == "--out") {
						_, path, _ = strings.Cut(a, "=")
						output = true
					}
					if !strings.HasPrefix(path, "/") {
						continue
					}
					checkMount(t, file, c, p, path, output, secrets)
				}
			}
		}
	}
	for file, b := range d.raw {
		if strings.Contains(string(b), pki.CAKeyFile) {
			t.Errorf("%s names %s: the CA key must stay out of the cluster", file, pki.CAKeyFile)
		}
	}
}

func checkMount(t *testing.T, file string, c k8sContainer, p podSpec, path string, output bool, secrets map[string][]string) {
	t.Helper()
	best := -1
	for i, m := range c.VolumeMounts {
		if strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") && (best < 0 || len(m.MountPath) > len(c.VolumeMounts[best].MountPath)) {
			best = i
		}
	}
	if best < 0 {
		t.Errorf("%s %s: %s is under no mount", file, c.Name, path)
		return
	}
	m := c.VolumeMounts[best]
	rest := strings.TrimPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
	if output && m.ReadOnly {
		t.Errorf("%s %s: report %s is on the read-only mount %s", file, c.Name, path, m.MountPath)
	}
	for _, v := range p.Volumes {
		if v.Name != m.Name || v.Secret == nil {
			continue
		}
		known := secrets[v.Secret.SecretName]
		found := false
		for _, it := range v.Secret.Items {
			if it.Path == rest {
				found = true
				if !slices.Contains(known, it.Key) {
					t.Errorf("%s %s: %s is key %s of Secret %s, which the README's kubectl lines do not put there (%v)", file, c.Name, path, it.Key, v.Secret.SecretName, known)
				}
			}
		}
		if !found {
			t.Errorf("%s %s: %s: Secret volume %s has no item %s", file, c.Name, path, v.Name, rest)
		}
	}
}

// readmeBlocks returns the lines of the README's fenced code blocks, with
// backslash continuations joined.
func readmeBlocks(md string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(strings.ReplaceAll(md, "\\\n", " "), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			in = !in
			continue
		}
		if in {
			lines = append(lines, l)
		}
	}
	return lines
}

var (
	createSecret = regexp.MustCompile(`kubectl .*create secret generic (\S+)`)
	fromFile     = regexp.MustCompile(`--from-file=(\S+)`)
)

// readmeSecrets returns the keys the README's `kubectl create secret` lines
// put in each Secret.
func readmeSecrets(md string) map[string][]string {
	out := map[string][]string{}
	for _, l := range readmeBlocks(md) {
		m := createSecret.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		for _, f := range fromFile.FindAllStringSubmatch(l, -1) {
			key, _, ok := strings.Cut(f[1], "=") // --from-file=KEY=PATH
			if !ok {
				key = filepath.Base(f[1]) // --from-file=PATH: the key is its name
			}
			out[m[1]] = append(out[m[1]], key)
		}
	}
	return out
}

// readmeCerts runs the README's `loadgate certs` line into a temporary
// directory and returns it.
func readmeCerts(t *testing.T, d *deployment) string {
	t.Helper()
	for _, args := range textCommands(strings.Join(readmeBlocks(d.readme), "\n")) {
		if args[1] != "certs" {
			continue
		}
		dir := filepath.Join(t.TempDir(), "certs")
		args = slices.Clone(args[1:])
		for i := range args {
			if args[i] == "--out" {
				args[i+1] = dir
			}
		}
		run(t, args...).expect(t, exitPassed)
		return dir
	}
	t.Fatal("deploy/kubernetes/README.md has no loadgate certs line")
	return ""
}

// TestDeployCommandLines: every loadgate command line of the manifests
// (container args), of their README and of docs/distributed.md is accepted
// as the real commands parse it (checkCommandLine, ci_examples_test.go),
// with the files of `loadgate certs` in place of the mounted Secrets and
// each index of the Indexed Job in place of $(JOB_COMPLETION_INDEX).
func TestDeployCommandLines(t *testing.T) {
	d := readDeployment(t)
	certs := readmeCerts(t, d)
	check := func(where string, lines [][]string) {
		for _, args := range lines {
			variants := [][]string{args}
			if slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, "$(JOB_COMPLETION_INDEX)") }) {
				variants = nil
				for i := range 4 {
					variants = append(variants, replaceArgs(args, "$(JOB_COMPLETION_INDEX)", fmt.Sprint(i)))
				}
			}
			for _, v := range variants {
				t.Run(where+"/"+strings.Join(v[1:min(3, len(v))], "_"), func(t *testing.T) {
					checkDeployLine(t, withCertFiles(v, certs))
				})
			}
		}
	}
	for name, want := range deployCommandLines {
		lines := yamlCommands(t, d.raw[name])
		if len(lines) != want {
			t.Errorf("%s: %d loadgate command lines, want %d: %q", name, len(lines), want, lines)
		}
		check(name, lines)
	}
	check("README.md", textCommands(strings.Join(readmeBlocks(d.readme), "\n")))
	doc, err := os.ReadFile("../../docs/distributed.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := textCommands(strings.Join(readmeBlocks(string(doc)), "\n"))
	if len(lines) < 4 {
		t.Errorf("docs/distributed.md: %d loadgate command lines in its code blocks, want the agent, coordinator and shard examples", len(lines))
	}
	check("distributed.md", lines)
}

// distributedRunFlags are run's flags of distributed mode, which come
// with `loadgate agent`. Until `loadgate run --help` lists one of them, a
// command line that uses it is logged, not checked; it is checked as soon
// as the flag exists. Any other unknown flag fails.
var distributedRunFlags = []string{"agents", "token-file", "tls-ca", "tls-cert", "tls-key", "tolerate-agent-loss"}

// checkDeployLine is checkCommandLine for command lines of distributed
// mode, which may name the agent command or run flags that are not there
// yet.
func checkDeployLine(t *testing.T, args []string) {
	t.Helper()
	if _, ok := commands[args[1]]; !ok && args[1] == "agent" {
		t.Logf("%q: not checked yet: loadgate agent is not registered", args)
		return
	}
	if args[1] == "run" {
		have := helpFlags("run")
		for _, a := range args[2:] {
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if strings.HasPrefix(a, "--") && !have[name] && slices.Contains(distributedRunFlags, name) {
				t.Logf("%q: not checked yet: run has no --%s", args, name)
				return
			}
		}
	}
	checkCommandLine(t, args)
}

// helpFlags returns the long flags that `loadgate NAME --help` lists.
func helpFlags(name string) map[string]bool {
	var help strings.Builder
	_ = commands[name].run([]string{"--help"}, &help, io.Discard) // --help prints on stdout
	out := map[string]bool{}
	for _, m := range flagUsageLine.FindAllStringSubmatch(help.String(), -1) {
		out[strings.TrimPrefix(m[2], "--")] = true
	}
	return out
}

// withCertFiles points the arguments that name a file of `loadgate certs`
// (a mounted Secret, or certs/... in the docs) at those files in dir.
func withCertFiles(args []string, dir string) []string {
	names := []string{pki.CAFile, pki.CoordinatorFile, pki.CoordinatorKeyFile, pki.AgentFile, pki.AgentKeyFile, pki.TokenFile}
	out := slices.Clone(args)
	for i, a := range out {
		if i > 1 && !strings.HasPrefix(a, "-") && slices.Contains(names, filepath.Base(a)) {
			out[i] = filepath.Join(dir, filepath.Base(a))
		}
	}
	return out
}

func replaceArgs(args []string, old, new string) []string {
	out := slices.Clone(args)
	for i := range out {
		out[i] = strings.ReplaceAll(out[i], old, new)
	}
	return out
}
