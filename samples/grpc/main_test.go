package main

import (
	"bytes"
	"strings"
	"testing"
)

func runWith(args []string, env map[string]string) (status int, stdout, stderr string) {
	var out, err bytes.Buffer
	status = run(args, func(name string) string { return env[name] }, &out, &err)
	return status, out.String(), err.String()
}

func TestHelpGoesToStdoutWithStatus0(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"load", "-h"}} {
		status, stdout, _ := runWith(args, nil)
		if status != 0 || !strings.Contains(stdout, "Usage") {
			t.Errorf("%v: status %d, stdout %q", args, status, stdout)
		}
	}
	_, stdout, _ := runWith([]string{"serve", "--help"}, nil)
	if !strings.Contains(stdout, "WEFT_GRPC_SAMPLE_FAILURE_RATE") || !strings.Contains(stdout, "POD_NAME") {
		t.Errorf("serve --help names no variables: %q", stdout)
	}
}

func TestUsageErrorsExitWith2AndSayWhy(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		says string
	}{
		{nil, nil, "Usage"},
		{[]string{"bench"}, nil, `unknown command "bench"`},
		{[]string{"serve", "--failure-rate", "2"}, nil, "failure rate"},
		{[]string{"serve", "--port", "70000"}, nil, "--port"},
		{[]string{"serve"}, map[string]string{"WEFT_GRPC_SAMPLE_LATENCY": "soon"}, "WEFT_GRPC_SAMPLE_LATENCY"},
		{[]string{"serve", "--log-level", "loud"}, nil, "--log-level"},
		{[]string{"serve", "extra"}, nil, `unexpected argument "extra"`},
		{[]string{"load"}, nil, "want one HOST:PORT"},
		{[]string{"load", "--concurrency", "0", "127.0.0.1:1"}, nil, "--concurrency"},
		{[]string{"load", "--method", "bidi", "127.0.0.1:1"}, nil, "unary or stream"},
		{[]string{"load", "no-port"}, nil, "host:port"},
	}
	for _, c := range cases {
		status, _, stderr := runWith(c.args, c.env)
		if status != 2 || !strings.Contains(stderr, c.says) {
			t.Errorf("%v: status %d, stderr %q; want 2 and %q", c.args, status, stderr, c.says)
		}
	}
}
