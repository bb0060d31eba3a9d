// Command kube-apiserver runs a real Kubernetes API server for tests: an embedded
// etcd and the upstream kube-apiserver, in one process, on 127.0.0.1 only.
//
//	kube-apiserver DIR [--port N] [--state-dir PATH] [--audit] [--controllers[=LIST]] [-- KUBE-APISERVER-FLAGS...]
//
// It writes DIR/kubeconfig (admin, system:masters, credentials inline, mode 0600),
// logs to DIR/kube-apiserver.log, and prints exactly one line to stdout,
// "ready https://127.0.0.1:PORT", once /readyz answers ok. SIGTERM or SIGINT stops
// it cleanly and it exits 0. See README.md.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	basecompatibility "k8s.io/component-base/compatibility"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

const (
	issuer       = "https://kubernetes.default.svc.cluster.local"
	serviceRange = "10.0.0.0/24"
	logName      = "kube-apiserver.log"
	// How long a clean stop may take before we give up waiting for a component.
	stopTimeout = 60 * time.Second
)

// auditPolicy logs at Metadata level (never request or response bodies): every write,
// and every read except the admin's. Tests count a client's writes and its refused calls
// (a 403 on a list or watch is how missing RBAC shows) by filtering on .user.username;
// the admin's reads are the tests' own polling and would only bloat the file. The API
// server's own loopback identity (lease renewals every ten seconds, bootstrap objects) is
// left out so that a test sees only client calls.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:apiserver"]
- level: None
  users: ["admin"]
  verbs: ["get", "list", "watch"]
- level: Metadata
`

type config struct {
	dir         string
	port        int
	stateDir    string
	audit       bool
	controllers controllersFlag
	extra       []string // passed through to kube-apiserver after "--"
}

// controllersFlag is "--controllers" (the default set) or "--controllers=a,b".
type controllersFlag struct{ list string }

const defaultControllers = "garbagecollector,namespace,serviceaccount"

func (c *controllersFlag) String() string   { return c.list }
func (c *controllersFlag) IsBoolFlag() bool { return true }
func (c *controllersFlag) Set(v string) error {
	switch v {
	case "true":
		c.list = defaultControllers
	case "false", "":
		c.list = ""
	default:
		c.list = v
	}
	return nil
}

var errUsage = errors.New("usage")

func parseArgs(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("kube-apiserver", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.IntVar(&c.port, "port", 0, "secure port on 127.0.0.1 (default: a free port)")
	fs.StringVar(&c.stateDir, "state-dir", "", "keep etcd data and certificates here and reuse them (default: a temporary directory removed on exit)")
	fs.BoolVar(&c.audit, "audit", false, "write an audit log of API writes (Metadata level) to DIR/audit.log")
	fs.Var(&c.controllers, "controllers", "also run kube-controller-manager controllers in-process: --controllers ("+defaultControllers+") or --controllers=LIST")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: kube-apiserver DIR [--port N] [--state-dir PATH] [--audit] [--controllers[=LIST]] [-- KUBE-APISERVER-FLAGS...]")
		fs.PrintDefaults()
	}
	for i, a := range args {
		if a == "--" {
			c.extra = args[i+1:]
			args = args[:i]
			break
		}
	}
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return c, err
			}
			return c, errUsage // the flag package has said what is wrong
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		fs.Usage()
		return c, errors.New("exactly one DIR argument is required")
	}
	c.dir = positional[0]
	if c.port < 0 || c.port > 65535 {
		return c, fmt.Errorf("--port %d is out of range", c.port)
	}
	return c, nil
}

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := parseArgs(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(os.Stderr, "kube-apiserver: %v\n", err)
		return 2
	}
	// fail reports a fatal error on the caller's stderr; the details are in the log.
	userStderr := os.Stderr
	fail := func(format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintf(os.Stderr, "kube-apiserver: %s\n", msg) // into the log
		fmt.Fprintf(userStderr, "kube-apiserver: %s (log: %s)\n", msg, filepath.Join(cfg.dir, logName))
		return 1
	}

	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "kube-apiserver: %v\n", err)
		return 1
	}
	cfg.dir, _ = filepath.Abs(cfg.dir)
	if userStderr, err = redirectStderr(filepath.Join(cfg.dir, logName)); err != nil {
		fmt.Fprintf(os.Stderr, "kube-apiserver: redirect logs: %v\n", err)
		return 1
	}

	ctx, cancel := signalContext()
	defer cancel()

	stateDir := cfg.stateDir
	if stateDir == "" {
		if stateDir, err = os.MkdirTemp("", "kube-apiserver-state-"); err != nil {
			return fail("%v", err)
		}
		removeOnExit(stateDir)
		defer os.RemoveAll(stateDir)
	} else {
		if stateDir, err = filepath.Abs(stateDir); err != nil {
			return fail("%v", err)
		}
		if err := os.MkdirAll(stateDir, 0o700); err != nil {
			return fail("%v", err)
		}
	}

	pki, err := ensurePKI(filepath.Join(stateDir, "pki"))
	if err != nil {
		return fail("certificates: %v", err)
	}

	etcd, etcdURL, err := startEtcd(ctx, filepath.Join(stateDir, "etcd"))
	if err != nil {
		return fail("etcd: %v", err)
	}
	defer stopEtcd(etcd)

	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.port)))
	if err != nil {
		return fail("listen on 127.0.0.1:%d: %v", cfg.port, err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	serverURL := "https://127.0.0.1:" + strconv.Itoa(port)

	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + pki.dir,
		"--tls-cert-file=" + pki.path("serving.crt"),
		"--tls-private-key-file=" + pki.path("serving.key"),
		"--client-ca-file=" + pki.path("client-ca.crt"),
		"--service-account-issuer=" + issuer,
		"--api-audiences=" + issuer,
		"--service-account-key-file=" + pki.path("sa.pub"),
		"--service-account-signing-key-file=" + pki.path("sa.key"),
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=" + serviceRange,
		"--allow-privileged=true",
		"--profiling=false",
		"--v=0",
	}
	if cfg.audit {
		policy := filepath.Join(stateDir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
			return fail("%v", err)
		}
		args = append(args,
			"--audit-policy-file="+policy,
			"--audit-log-path="+filepath.Join(cfg.dir, "audit.log"),
			"--audit-log-format=json",
			"--audit-log-mode=blocking",
			"--audit-log-maxbackup=0",
		)
	}
	args = append(args, cfg.extra...)

	apiserverDone, err := startAPIServer(ctx, args, listener)
	if err != nil {
		listener.Close()
		return fail("kube-apiserver: %v", err)
	}
	// From here on, every return must wait for the API server to stop before etcd does.
	waitAPIServer := func() error {
		select {
		case err := <-apiserverDone:
			return err
		case <-time.After(stopTimeout):
			return errors.New("kube-apiserver did not stop in time")
		}
	}

	kubeconfig, restConfig, err := kubeconfigFor(serverURL, pki, "admin")
	if err != nil {
		cancel()
		waitAPIServer()
		return fail("kubeconfig: %v", err)
	}
	if err := waitReady(ctx, restConfig, apiserverDone); err != nil {
		if ctx.Err() != nil { // asked to stop while starting
			waitAPIServer()
			return 0
		}
		cancel()
		waitAPIServer()
		return fail("waiting for /readyz: %v", err)
	}

	var controllersDone <-chan error
	if cfg.controllers.list != "" {
		path := filepath.Join(stateDir, "controller-manager.kubeconfig")
		kcmConfig, _, err := kubeconfigFor(serverURL, pki, "controller-manager")
		if err == nil {
			err = writeFileAtomic(path, kcmConfig, 0o600)
		}
		if err != nil {
			cancel()
			waitAPIServer()
			return fail("%v", err)
		}
		controllersDone, err = startControllers(ctx, cfg.controllers.list, path)
		if err != nil {
			cancel()
			waitAPIServer()
			return fail("controllers: %v", err)
		}
	}

	kubeconfigPath := filepath.Join(cfg.dir, "kubeconfig")
	if err := writeFileAtomic(kubeconfigPath, kubeconfig, 0o600); err != nil {
		cancel()
		waitAPIServer()
		return fail("write kubeconfig: %v", err)
	}
	fmt.Fprintf(os.Stdout, "ready %s\n", serverURL)
	fmt.Fprintf(os.Stderr, "kube-apiserver: ready %s, kubeconfig %s\n", serverURL, kubeconfigPath)

	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "kube-apiserver: signal received, stopping")
		if controllersDone != nil {
			select {
			case <-controllersDone:
			case <-time.After(stopTimeout):
				fmt.Fprintln(os.Stderr, "kube-apiserver: controllers did not stop in time")
			}
		}
		if err := waitAPIServer(); err != nil {
			fmt.Fprintf(os.Stderr, "kube-apiserver: stop: %v\n", err)
		}
		return 0
	case err := <-apiserverDone:
		cancel()
		return fail("kube-apiserver stopped: %v", err)
	case err := <-controllersDone:
		cancel()
		waitAPIServer()
		return fail("controllers stopped: %v", err)
	case err := <-etcd.Err():
		cancel()
		waitAPIServer()
		return fail("etcd stopped: %v", err)
	}
}

// redirectStderr points file descriptor 2 at the log file (klog, etcd's zap logger
// and Go runtime crashes all write there) and returns the caller's stderr.
func redirectStderr(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(saved)
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(saved), "stderr"), nil
}

var (
	cleanupOnKill []string
)

func removeOnExit(dir string) { cleanupOnKill = append(cleanupOnKill, dir) }

// signalContext is cancelled by the first SIGTERM or SIGINT; a second one exits at
// once (removing the temporary state directory) with status 1.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-ch
		cancel()
		<-ch
		fmt.Fprintln(os.Stderr, "kube-apiserver: second signal, exiting now")
		for _, d := range cleanupOnKill {
			os.RemoveAll(d)
		}
		os.Exit(1)
	}()
	return ctx, cancel
}

// ---- certificates ----

type pkiFiles struct {
	dir string
}

func (p pkiFiles) path(name string) string { return filepath.Join(p.dir, name) }

func (p pkiFiles) read(name string) ([]byte, error) { return os.ReadFile(p.path(name)) }

// ensurePKI reuses dir if it exists, otherwise creates every file in a sibling
// temporary directory and renames it into place, so dir is always complete.
func ensurePKI(dir string) (pkiFiles, error) {
	p := pkiFiles{dir: dir}
	if _, err := os.Stat(dir); err == nil {
		for _, f := range []string{"serving-ca.crt", "serving.crt", "serving.key", "client-ca.crt", "admin.crt", "admin.key", "controller-manager.crt", "controller-manager.key", "sa.key", "sa.pub"} {
			if _, err := os.Stat(p.path(f)); err != nil {
				return p, fmt.Errorf("%s is incomplete: %w", dir, err)
			}
		}
		return p, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".pki-")
	if err != nil {
		return p, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o700); err != nil {
		return p, err
	}
	w := func(name string, block *pem.Block) error {
		return os.WriteFile(filepath.Join(tmp, name), pem.EncodeToMemory(block), 0o600)
	}
	now := time.Now().Add(-time.Hour)
	const validity = 10 * 365 * 24 * time.Hour

	servingCA, servingCAKey, err := newCA("kube-apiserver-serving-ca", now, validity)
	if err != nil {
		return p, err
	}
	clientCA, clientCAKey, err := newCA("kube-apiserver-client-ca", now, validity)
	if err != nil {
		return p, err
	}
	servingDER, servingKey, err := newLeaf(servingCA, servingCAKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, now, validity)
	if err != nil {
		return p, err
	}
	adminDER, adminKey, err := newLeaf(clientCA, clientCAKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, now, validity)
	if err != nil {
		return p, err
	}
	// The identity a kubeadm cluster gives kube-controller-manager (used by --controllers).
	kcmDER, kcmKey, err := newLeaf(clientCA, clientCAKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "system:kube-controller-manager"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, now, validity)
	if err != nil {
		return p, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return p, err
	}
	for _, f := range []struct {
		name  string
		block *pem.Block
		err   error
	}{
		{"serving-ca.crt", certBlock(servingCA.Raw), nil},
		{"client-ca.crt", certBlock(clientCA.Raw), nil},
		{"serving.crt", certBlock(servingDER), nil},
		{"admin.crt", certBlock(adminDER), nil},
		{"controller-manager.crt", certBlock(kcmDER), nil},
		{"sa.pub", &pem.Block{Type: "PUBLIC KEY", Bytes: saPub}, nil},
	} {
		if err := w(f.name, f.block); err != nil {
			return p, err
		}
	}
	for name, key := range map[string]crypto.Signer{"serving.key": servingKey, "admin.key": adminKey, "controller-manager.key": kcmKey, "sa.key": saKey} {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return p, err
		}
		if err := w(name, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
			return p, err
		}
	}
	// The CA keys are not kept: nothing signs with them after this point.
	return p, os.Rename(tmp, dir)
}

func certBlock(der []byte) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: der} }

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
}

func newCA(cn string, notBefore time.Time, validity time.Duration) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newLeaf(ca *x509.Certificate, caKey crypto.Signer, tmpl *x509.Certificate, notBefore time.Time, validity time.Duration) ([]byte, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return nil, nil, err
	}
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notBefore.Add(validity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	return der, key, err
}

// ---- etcd ----

func startEtcd(ctx context.Context, dataDir string) (*embed.Etcd, string, error) {
	c := embed.NewConfig()
	c.Name = "kube-apiserver-test"
	c.Dir = dataDir
	loopback := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	c.ListenClientUrls = []url.URL{loopback}
	c.AdvertiseClientUrls = []url.URL{loopback}
	c.ListenPeerUrls = []url.URL{loopback}
	c.AdvertisePeerUrls = []url.URL{loopback}
	c.InitialCluster = c.InitialClusterFromName(c.Name)
	c.Logger = "zap"
	c.LogOutputs = []string{"stderr"}
	c.LogLevel = "warn"
	// A test server: its data only has to survive a process stop, not a power cut.
	c.UnsafeNoFsync = true
	c.EnableGRPCGateway = false
	e, err := embed.StartEtcd(c)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, "", err
	case <-ctx.Done():
		e.Close()
		return nil, "", ctx.Err()
	case <-time.After(stopTimeout):
		e.Close()
		return nil, "", errors.New("etcd did not become ready in time")
	}
	return e, "http://" + e.Clients[0].Addr().String(), nil
}

func stopEtcd(e *embed.Etcd) {
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopTimeout):
		fmt.Fprintln(os.Stderr, "kube-apiserver: etcd did not stop in time")
	}
}

// ---- kube-apiserver ----

// startAPIServer does what the kube-apiserver command does (parse flags, apply the
// logging configuration, complete and validate the options, app.Run), but serves
// on a listener we already hold, so a free port is picked without a race.
func startAPIServer(ctx context.Context, args []string, listener net.Listener) (<-chan error, error) {
	s := options.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	s.SecureServing.Listener = listener
	registry := s.GenericServerRunOptions.ComponentGlobalsRegistry
	if err := registry.Set(); err != nil {
		return nil, err
	}
	if err := logsapi.ValidateAndApply(s.Logs, registry.FeatureGateFor(basecompatibility.DefaultKubeComponent)); err != nil {
		return nil, err
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	completed, err := s.Complete(ctx)
	if err != nil {
		return nil, err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return nil, errors.Join(errs...)
	}
	done := make(chan error, 1)
	go func() {
		err := app.Run(ctx, completed)
		if err == nil && ctx.Err() == nil {
			err = errors.New("exited without being asked to")
		}
		done <- err
		close(done)
	}()
	return done, nil
}

// kubeconfigFor returns a kubeconfig with the credentials inline, for the client
// certificate pki/<identity>.crt.
func kubeconfigFor(serverURL string, p pkiFiles, identity string) ([]byte, *rest.Config, error) {
	ca, err := p.read("serving-ca.crt")
	if err != nil {
		return nil, nil, err
	}
	crt, err := p.read(identity + ".crt")
	if err != nil {
		return nil, nil, err
	}
	key, err := p.read(identity + ".key")
	if err != nil {
		return nil, nil, err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kube-apiserver"] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: ca}
	kc.AuthInfos[identity] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
	kc.Contexts[identity] = &clientcmdapi.Context{Cluster: "kube-apiserver", AuthInfo: identity, Namespace: "default"}
	kc.CurrentContext = identity
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return nil, nil, err
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		return nil, nil, err
	}
	return data, rc, nil
}

func waitReady(ctx context.Context, rc *rest.Config, apiserverDone <-chan error) error {
	rc = rest.CopyConfig(rc)
	rc.Timeout = 5 * time.Second
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	deadline := time.After(2 * stopTimeout)
	var last error
	for {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && strings.TrimSpace(string(body)) == "ok" {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-apiserverDone:
			return fmt.Errorf("kube-apiserver stopped: %w", err)
		case <-deadline:
			return fmt.Errorf("not ready after %s: %v", 2*stopTimeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
