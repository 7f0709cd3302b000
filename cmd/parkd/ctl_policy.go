package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

const scopeHelp = `SCOPE is "defaults", "lots/NAME" or "slots/NUMBER".`

func (c *ctl) policyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show and change the live recall policy of the defaults, a lot or a slot",
		Long: `policy shows a scope's effective recall policy, where each value comes
from, and the live override that sits above the config file. "set" and
"clear" change that override; it is kept across restarts.

` + scopeHelp,
		Args: unknownVerb,
		RunE: missingVerb,
	}
	cmd.AddCommand(c.policyGetCmd(), c.policySetCmd(), c.policyClearCmd())
	return cmd
}

func (c *ctl) policyGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "get SCOPE",
		Short:             "Show a scope's effective policy with the source of every value",
		Long:              scopeHelp,
		Example:           `  parkd ctl policy get slots/701`,
		Args:              scopeArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeScopes,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.policyOp(cmd.Context(), func(ctx context.Context, cl parkd.Client) (parkd.PolicyView, error) {
				return cl.Policy(ctx, args[0])
			})
		},
	}
}

func (c *ctl) policySetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set SCOPE KEY=VALUE…",
		Short: "Set fields of a scope's live override",
		Long: scopeHelp + `
Durations are Go durations (45s, 2m), max_recalls a number, ring_group a
comma-separated list of SIP URIs ("ring_group=" is the empty list).
Keys: ` + strings.Join(policyKeys, ", ") + ".",
		Example: `  parkd ctl policy set lots/main recall_after=2m max_recalls=1
  parkd ctl policy set defaults ring_group=sip:a@pbx,sip:b@pbx recall_to=parker_then_group`,
		Args:              scopeArgs(cobra.MinimumNArgs(2)),
		ValidArgsFunction: completeScopeThenKeys("="),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := parseAssignments(args[1:])
			if err != nil {
				return err
			}
			return c.policyOp(cmd.Context(), func(ctx context.Context, cl parkd.Client) (parkd.PolicyView, error) {
				return cl.PatchPolicy(ctx, args[0], parkd.PolicyPatch{Set: set})
			})
		},
	}
}

func (c *ctl) policyClearCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "clear SCOPE [KEY…]",
		Short: "Remove keys of a scope's live override, or all of it",
		Long:  scopeHelp + ` With no KEY the whole override goes and the config file rules again.`,
		Example: `  parkd ctl policy clear slots/701
  parkd ctl policy clear lots/main recall_after`,
		Args:              scopeArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: completeScopeThenKeys(""),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys := args[1:]
			for _, k := range keys {
				if _, ok := policyField(&parkd.Policy{}, k); !ok {
					return unknownKey(k)
				}
			}
			return c.policyOp(cmd.Context(), func(ctx context.Context, cl parkd.Client) (parkd.PolicyView, error) {
				if len(keys) == 0 {
					return cl.ClearPolicy(ctx, args[0])
				}
				return cl.PatchPolicy(ctx, args[0], parkd.PolicyPatch{Clear: keys})
			})
		},
	}
}

// scopeArgs checks the argument count, then the scope's form, so a typo
// is a usage error rather than a round trip.
func scopeArgs(count cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := count(cmd, args); err != nil {
			return err
		}
		return checkScope(args[0])
	}
}

func checkScope(scope string) error {
	if scope == "defaults" {
		return nil
	}
	kind, name, ok := strings.Cut(scope, "/")
	if ok && name != "" && !strings.Contains(name, "/") && (kind == "lots" || kind == "slots") {
		return nil
	}
	return usage("scope %q is not defaults, lots/NAME or slots/NUMBER", scope)
}

func (c *ctl) policyOp(ctx context.Context, op func(context.Context, parkd.Client) (parkd.PolicyView, error)) error {
	var v parkd.PolicyView
	err := c.do(ctx, func(ctx context.Context, cl parkd.Client) (err error) {
		v, err = op(ctx, cl)
		return err
	})
	if err != nil {
		return err
	}
	return c.show(v, func() error { return c.renderPolicy(v) })
}

func (c *ctl) renderPolicy(v parkd.PolicyView) error {
	fmt.Fprintf(c.stdout, "scope %s\n\n", v.Scope)
	t := c.table("KEY", "VALUE", "FROM", "OVERRIDE")
	for _, key := range policyKeys {
		eff, _ := policyField(&v.Effective, key)
		over, _ := policyField(&v.Override, key)
		from := ""
		if src, ok := v.Sources[key]; ok {
			from = src.Key
			if from == "" {
				from = src.Layer
			}
		}
		t.row(key, orDash(formatField(eff)), from, formatField(over))
	}
	return t.write(c.stdout)
}

func completeScopes(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []string{"defaults", "lots/", "slots/"}, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeScopeThenKeys completes the scope, then policy keys (with "="
// after them for set).
func completeScopeThenKeys(suffix string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return completeScopes(cmd, args, toComplete)
		}
		out := make([]string, 0, len(policyKeys))
		for _, k := range policyKeys {
			out = append(out, k+suffix)
		}
		d := cobra.ShellCompDirectiveNoFileComp
		if suffix != "" {
			d |= cobra.ShellCompDirectiveNoSpace
		}
		return out, d
	}
}
