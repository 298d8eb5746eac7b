package envflag

import (
	"io"
	"strings"
	"testing"
	"time"
)

func newSet() (*Set, *string, *time.Duration) {
	s := New("test")
	s.SetOutput(io.Discard)
	name := s.String("name", "default", "the name")
	timeout := s.Duration("timeout", time.Second, "the timeout")
	s.Env("name", "TEST_NAME")
	s.Env("timeout", "TEST_TIMEOUT")
	return s, name, timeout
}

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestAVariableSetsAFlagLeftUnset(t *testing.T) {
	s, name, timeout := newSet()
	if err := s.Parse(nil, env(map[string]string{"TEST_NAME": "api", "TEST_TIMEOUT": "3s"})); err != nil {
		t.Fatal(err)
	}
	if *name != "api" || *timeout != 3*time.Second {
		t.Errorf("got %q %v, want api 3s", *name, *timeout)
	}
}

func TestAFlagWinsOverItsVariable(t *testing.T) {
	s, name, _ := newSet()
	if err := s.Parse([]string{"--name", "web"}, env(map[string]string{"TEST_NAME": "api"})); err != nil {
		t.Fatal(err)
	}
	if *name != "web" {
		t.Errorf("got %q, want web", *name)
	}
}

func TestAnEmptyVariableCountsAsUnset(t *testing.T) {
	s, name, _ := newSet()
	if err := s.Parse(nil, env(map[string]string{"TEST_NAME": ""})); err != nil {
		t.Fatal(err)
	}
	if *name != "default" {
		t.Errorf("got %q, want the default", *name)
	}
}

func TestABadVariableIsNamedInTheError(t *testing.T) {
	s, _, _ := newSet()
	err := s.Parse(nil, env(map[string]string{"TEST_TIMEOUT": "soon"}))
	if err == nil || !strings.Contains(err.Error(), "TEST_TIMEOUT") || !strings.Contains(err.Error(), "--timeout") {
		t.Errorf("got %v, want an error naming TEST_TIMEOUT and --timeout", err)
	}
}

func TestTheUsageNamesTheVariable(t *testing.T) {
	s, _, _ := newSet()
	if usage := s.Lookup("name").Usage; !strings.HasSuffix(usage, "(env TEST_NAME)") {
		t.Errorf("usage %q does not name TEST_NAME", usage)
	}
}
