package main

import (
	"context"
	"errors"

	"github.com/spf13/pflag"

	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

// startControllers runs kube-controller-manager controllers in this process, the way
// its command does with these flags: no leader election, no serving port, and each
// controller acting as its own ServiceAccount in kube-system (as in a kubeadm
// cluster), with tokens from the TokenRequest API. The root client (informers and
// token requests) is system:kube-controller-manager, from kubeconfigPath.
func startControllers(ctx context.Context, list, kubeconfigPath string) (<-chan error, error) {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, err
	}
	all, disabled, aliases := kcm.KnownControllers(), kcm.ControllersDisabledByDefault(), kcm.ControllerAliases()
	named := s.Flags(all, disabled, aliases)
	s.ParsedFlags = &named
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse([]string{
		"--kubeconfig=" + kubeconfigPath,
		"--controllers=" + list,
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=true",
		"--concurrent-gc-syncs=5",
		"--concurrent-namespace-syncs=5",
	}); err != nil {
		return nil, err
	}
	// The registry is shared with the API server, which already set it from its flags.
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, err
	}
	c, err := s.Config(ctx, all, disabled, aliases)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		err := kcm.Run(ctx, c.Complete())
		if err == nil && ctx.Err() == nil {
			err = errors.New("exited without being asked to")
		}
		done <- err
		close(done)
	}()
	return done, nil
}
