package e2e

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/tagway/tagway/internal/tagwaytest"
)

// TestKubernetesManifests decodes every manifest of deploy/kubernetes
// strictly with the Kubernetes API types (an unknown or misspelt field
// fails), and checks each tagway container against the binary: its flags
// parse, its ports, probes and Service match the addresses those flags
// give, its files come from the volumes mounted, its grace period covers
// the shutdown the flags ask for, and it runs as non-root.
func TestKubernetesManifests(t *testing.T) {
	root, err := tagwaytest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "deploy", "kubernetes")
	var kust struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Resources  []string
		Images     []struct{ Name, NewName, NewTag string }
	}
	if err := decodeFile(filepath.Join(dir, "kustomization.yaml"), &kust); err != nil {
		t.Fatal(err)
	}
	var deployments []*appsv1.Deployment
	var services []*corev1.Service
	for _, f := range kust.Resources {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(raw), "\n---\n") {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			var obj any
			switch tm.Kind {
			case "Deployment":
				d := &appsv1.Deployment{}
				deployments, obj = append(deployments, d), d
			case "Service":
				s := &corev1.Service{}
				services, obj = append(services, s), s
			case "PodDisruptionBudget":
				obj = &policyv1.PodDisruptionBudget{}
			default:
				t.Fatalf("%s #%d: kind %q has no check", f, i, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s #%d (%s): %v", f, i, tm.Kind, err)
			}
		}
	}
	if len(deployments) != 2 || len(services) != 1 {
		t.Fatalf("%d Deployments and %d Services, want the shared service's and the sidecar's, and one Service", len(deployments), len(services))
	}
	for _, d := range deployments {
		t.Run(d.Name, func(t *testing.T) { checkPod(t, &d.Spec.Template.Spec) })
	}
	for _, s := range services {
		checkService(t, s, deployments)
	}
	checkDockerfile(t, filepath.Join(root, "Dockerfile"))
}

// decodeFile decodes a YAML file strictly.
func decodeFile(name string, v any) error {
	raw, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(raw, v)
}

// tagwayContainer returns the pod's tagway container.
func tagwayContainer(spec *corev1.PodSpec) *corev1.Container {
	for _, list := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for i := range list {
			if list[i].Image == "tagway" {
				return &list[i]
			}
		}
	}
	return nil
}

// flagValues returns the --name=value arguments of a container.
func flagValues(t *testing.T, args []string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			t.Fatalf("argument %q: write flags as --name=value", a)
		}
		out[name] = value
	}
	return out
}

func checkPod(t *testing.T, spec *corev1.PodSpec) {
	c := tagwayContainer(spec)
	if c == nil {
		t.Fatal("no tagway container")
	}
	// The binary accepts the flags: --version exits 0 after parsing them.
	if out, err := exec.Command(binary, append(slices.Clone(c.Args), "--version")...).CombinedOutput(); err != nil {
		t.Fatalf("tagway %v: %v: %s", c.Args, err, out)
	}
	flags := flagValues(t, c.Args)
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	portOf := func(p intstr.IntOrString) int32 {
		if p.Type == intstr.String {
			return ports[p.StrVal]
		}
		return p.IntVal
	}
	tcpPort := func(addr string) int32 {
		_, port, ok := strings.Cut(addr, ":")
		if !ok || strings.HasPrefix(addr, "unix:") {
			return 0
		}
		n := int32(0)
		for _, r := range port {
			n = n*10 + int32(r-'0')
		}
		return n
	}
	httpPort := tcpPort(flags["http-addr"])
	if httpPort == 0 || ports["http"] != httpPort {
		t.Errorf("--http-addr %q, port http %d", flags["http-addr"], ports["http"])
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || portOf(p.HTTPGet.Port) != httpPort {
		t.Errorf("readiness probe %+v: want GET /readyz on the HTTP port", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || portOf(p.HTTPGet.Port) != httpPort {
		t.Errorf("liveness probe %+v: want GET /healthz on the HTTP port", p)
	}
	if grpcPort := tcpPort(flags["grpc-addr"]); grpcPort != 0 {
		if ports["grpc"] != grpcPort {
			t.Errorf("--grpc-addr %q, port grpc %d", flags["grpc-addr"], ports["grpc"])
		}
		if p := c.StartupProbe; p == nil || p.GRPC == nil || p.GRPC.Port != grpcPort {
			t.Errorf("startup probe %+v: want the native gRPC probe on the gRPC port", p)
		}
	} else {
		checkSocket(t, spec, c, strings.TrimPrefix(flags["grpc-addr"], "unix://"))
	}
	// Files named by flags come from mounted Secrets.
	for _, f := range []string{"store-file", "auth-file"} {
		if name, ok := flags[f]; ok {
			if v := mountedVolume(spec, c, path.Dir(name)); v == nil || v.Secret == nil || !slices.ContainsFunc(v.Secret.Items, func(k corev1.KeyToPath) bool { return k.Path == path.Base(name) }) {
				t.Errorf("--%s %s is not a key of a Secret mounted at %s", f, name, path.Dir(name))
			}
		}
	}
	if _, ok := flags["store-file"]; !ok {
		t.Error("no --store-file: the Redis URL must come from a Secret")
	}
	// The grace period covers the drain, the settle (0.5 s), in-flight
	// calls and the last changes' deadline (store timeout + 1 s).
	need := 1500 * time.Millisecond
	for _, f := range []string{"drain-delay", "shutdown-timeout", "store-timeout"} {
		d, err := time.ParseDuration(flags[f])
		if err != nil {
			t.Errorf("--%s=%q: %v", f, flags[f], err)
		}
		need += d
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < need {
		t.Errorf("terminationGracePeriodSeconds %v < %v", g, need)
	}
	for _, ct := range append(slices.Clone(spec.Containers), spec.InitContainers...) {
		sc := ct.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("container %s: want a read-only root, no privilege escalation, no capabilities", ct.Name)
		}
		if ct.Resources.Requests.Memory().IsZero() || ct.Resources.Limits.Memory().IsZero() {
			t.Errorf("container %s: no memory request or limit", ct.Name)
		}
		for _, m := range ct.VolumeMounts {
			if !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
				t.Errorf("container %s mounts an undefined volume %s", ct.Name, m.Name)
			}
		}
	}
	if psc := spec.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("the pod is not runAsNonRoot")
	}
}

// mountedVolume returns the volume c mounts at dir.
func mountedVolume(spec *corev1.PodSpec, c *corev1.Container, dir string) *corev1.Volume {
	for _, m := range c.VolumeMounts {
		if m.MountPath == dir {
			for i := range spec.Volumes {
				if spec.Volumes[i].Name == m.Name {
					return &spec.Volumes[i]
				}
			}
		}
	}
	return nil
}

// checkSocket checks that tagway's socket is in an emptyDir another
// container mounts at the same place and dials.
func checkSocket(t *testing.T, spec *corev1.PodSpec, c *corev1.Container, sock string) {
	v := mountedVolume(spec, c, path.Dir(sock))
	if v == nil || v.EmptyDir == nil {
		t.Fatalf("socket %s is not in a mounted emptyDir", sock)
	}
	for _, app := range spec.Containers {
		if app.Name == c.Name {
			continue
		}
		if mountedVolume(spec, &app, path.Dir(sock)) == v && strings.Contains(strings.Join(append(slices.Clone(app.Command), app.Args...), " "), sock) {
			return
		}
	}
	t.Errorf("no other container mounts %s and uses %s", v.Name, sock)
}

// checkService checks that a Service selects a Deployment and targets
// ports its tagway container has.
func checkService(t *testing.T, s *corev1.Service, deployments []*appsv1.Deployment) {
	for _, d := range deployments {
		labels := d.Spec.Template.Labels
		selected := len(s.Spec.Selector) > 0
		for k, v := range s.Spec.Selector {
			selected = selected && labels[k] == v
		}
		if !selected {
			continue
		}
		c := tagwayContainer(&d.Spec.Template.Spec)
		for _, p := range s.Spec.Ports {
			if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.StrVal && cp.Name == p.Name }) {
				t.Errorf("Service %s port %s targets %v, not a port of %s", s.Name, p.Name, p.TargetPort, d.Name)
			}
		}
		return
	}
	t.Errorf("Service %s selects no Deployment", s.Name)
}

// checkDockerfile checks that the image is a static binary on a
// distroless or scratch base, run as non-root.
func checkDockerfile(t *testing.T, name string) {
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "FROM ") {
			last = l
		}
	}
	if !strings.Contains(last, "distroless/static") && last != "FROM scratch" {
		t.Errorf("final stage %q: want distroless static or scratch", last)
	}
	for _, want := range []string{"CGO_ENABLED=0", "\nUSER 65532:65532\n", `ENTRYPOINT ["/tagway"]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
