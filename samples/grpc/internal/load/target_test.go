package load

import "testing"

func TestDialTarget(t *testing.T) {
	resolvesOnly := func(name string) func(string) bool {
		return func(host string) bool { return host == name }
	}
	env := func(vars map[string]string) func(string) string {
		return func(name string) string { return vars[name] }
	}
	cases := []struct {
		address, want string
		resolves      func(string) bool
		vars          map[string]string
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", resolvesOnly(""), nil},
		{"[::1]:8080", "[::1]:8080", resolvesOnly(""), nil},
		{"echo:8080", "echo:8080", resolvesOnly("echo"), map[string]string{"ECHO_SERVICE_HOST": "10.0.0.9"}},
		{"grpc-echo:9090", "10.96.0.12:9090", resolvesOnly(""), map[string]string{"GRPC_ECHO_SERVICE_HOST": "10.96.0.12"}},
		{"grpc-echo:9090", "[fd00::12]:9090", resolvesOnly(""), map[string]string{"GRPC_ECHO_SERVICE_HOST": "fd00::12"}},
	}
	for _, c := range cases {
		got, err := DialTarget(c.address, c.resolves, env(c.vars))
		if err != nil || got != c.want {
			t.Errorf("DialTarget(%q) = %q, %v; want %q", c.address, got, err, c.want)
		}
	}
	for _, address := range []string{"echo", "grpc-echo:9090", ""} {
		if got, err := DialTarget(address, resolvesOnly(""), env(nil)); err == nil {
			t.Errorf("DialTarget(%q) = %q, want an error", address, got)
		}
	}
}
