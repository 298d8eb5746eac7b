// Package envflag gives the flags of a flag.FlagSet environment variables, as
// every Weft program does (lib/weft/flags.h): a flag not given on the command
// line takes its variable's value; a flag wins over its variable, and an empty
// variable counts as unset. Kubernetes manifests then set the variables.
package envflag

import (
	"flag"
	"fmt"
)

// Set is a flag.FlagSet whose flags may each have a variable.
type Set struct {
	*flag.FlagSet
	variables map[string]string // flag name -> variable name
}

// New makes an empty set that reports errors (ContinueOnError) rather than exiting.
func New(name string) *Set {
	return &Set{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), variables: map[string]string{}}
}

// Env binds the defined flag name to variable, and names the variable in the usage.
func (s *Set) Env(name, variable string) {
	f := s.Lookup(name)
	if f == nil {
		panic("envflag: no flag " + name) // a programming error, caught by any run
	}
	f.Usage += " (env " + variable + ")"
	s.variables[name] = variable
}

// Parse parses args, then sets every flag left unset from its variable, read
// through getenv (os.Getenv in programs, a map in tests).
func (s *Set) Parse(args []string, getenv func(string) string) error {
	if err := s.FlagSet.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	s.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, variable := range s.variables {
		value := getenv(variable)
		if given[name] || value == "" {
			continue
		}
		if err := s.Set(name, value); err != nil {
			return fmt.Errorf("%s=%q (for --%s): %w", variable, value, name, err)
		}
	}
	return nil
}
