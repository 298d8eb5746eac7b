package load

import (
	"fmt"
	"net"
	"strings"
)

// DialTarget is the address to dial for "host:port": itself when host is an IP
// or resolves, else the Service IP in HOST_SERVICE_HOST (upper case, - as _),
// which the kubelet sets for every Service of the pod's namespace: the local
// one-node cluster has no DNS, as for weft-sample-app (samples/README.md).
func DialTarget(address string, resolves func(host string) bool, getenv func(string) string) (string, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return "", fmt.Errorf("target %q: want host:port", address)
	}
	if net.ParseIP(host) != nil || resolves(host) {
		return address, nil
	}
	variable := strings.ToUpper(strings.ReplaceAll(host, "-", "_")) + "_SERVICE_HOST"
	if ip := getenv(variable); ip != "" {
		return net.JoinHostPort(ip, port), nil
	}
	return "", fmt.Errorf("target %q: %s does not resolve and %s is not set", address, host, variable)
}
