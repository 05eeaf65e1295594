// Command pause is the pod sandbox process of the kube platform: PID 1 of every pod, it holds the pod's
// namespaces, reaps zombies and exits on SIGINT/SIGTERM. It replaces registry.k8s.io/pause, which
// cannot be pulled here; built static (CGO_ENABLED=0) so its image needs no libc.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
