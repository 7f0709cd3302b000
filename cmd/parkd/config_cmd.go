package main

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/parkd/parkd/parkd"
)

// newConfigCmd is `parkd config`: tools for the config file that start
// nothing, so an admin can check a change before a restart or reload.
func newConfigCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check, show or write an example of the config file",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newConfigCheckCmd(e), newConfigExampleCmd(e), newConfigShowCmd(e))
	return cmd
}

func newConfigCheckCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE...",
		Short: "Validate config files: every problem with its key and line (exit 2 if any)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if !configCheck(e, files) {
				return &exitError{code: exitUsage}
			}
			return nil
		},
	}
}

// configCheck prints "FILE: ok" or each problem of each file and reports
// whether all were fine. A file that cannot be read is a problem too.
func configCheck(e *env, files []string) bool {
	good := true
	for _, f := range files {
		problems, err := parkd.CheckConfigFile(f)
		if err != nil {
			fmt.Fprintf(e.stderr, "parkd config check: %v\n", err)
			good = false
			continue
		}
		if len(problems) == 0 {
			fmt.Fprintf(e.stdout, "%s: ok\n", f)
			continue
		}
		good = false
		for _, p := range problems {
			fmt.Fprintln(e.stdout, p.Error())
		}
	}
	return good
}

func newConfigExampleCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "example",
		Short: "Print a config file of every key at its default, with comments",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(e.stdout, parkd.ExampleConfig())
			return err
		},
	}
}

func newConfigShowCmd(e *env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "show [--config FILE] [serve flags]",
		Short: "Print the config serve would run with: defaults, then the file, then the flags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The same merge as serve, so what is shown is what would run.
			cfg, err := loadConfig(f)
			if err != nil {
				return &exitError{code: exitUsage, prefix: "parkd config show", err: err}
			}
			out, err := marshalConfig(cfg)
			if err != nil {
				return &exitError{code: exitRuntime, prefix: "parkd config show", err: err}
			}
			_, err = e.stdout.Write(out)
			return err
		},
	}
	addServeFlags(cmd, &f)
	return cmd
}

// marshalConfig writes cfg as a config file that reads back the same.
func marshalConfig(cfg parkd.Config) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
