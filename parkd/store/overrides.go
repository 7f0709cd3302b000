package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Override is a recall policy set while parkd runs (API or console), kept
// so that it outlives a restart. Scope and Policy mean something only to
// the daemon, e.g. scope "lot/main" with a JSON policy.
type Override struct {
	Scope     string
	Policy    []byte // JSON
	UpdatedAt time.Time
}

// Overrides returns every override, ordered by scope (byte order) so the
// daemon layers them the same way on every start.
func (s *Store) Overrides(ctx context.Context) ([]Override, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT scope, policy, updated_ms FROM overrides ORDER BY scope")
	if err != nil {
		return nil, s.explain(err)
	}
	defer rows.Close()
	var out []Override
	for rows.Next() {
		var o Override
		var policy string
		var ms int64
		if err := rows.Scan(&o.Scope, &policy, &ms); err != nil {
			return nil, s.explain(err)
		}
		o.Policy = []byte(policy)
		o.UpdatedAt = time.UnixMilli(ms).UTC()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, s.explain(err)
	}
	return out, nil
}

// PutOverride inserts or replaces the override for o.Scope. A zero
// UpdatedAt means now. The policy must be valid JSON: a broken one stored
// now would only surface at the next start, far from whoever set it.
func (s *Store) PutOverride(ctx context.Context, o Override) error {
	if o.Scope == "" {
		return errors.New("store: override has an empty scope")
	}
	if !json.Valid(o.Policy) {
		return fmt.Errorf("store: override %q: policy is not valid JSON", o.Scope)
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = time.Now()
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO overrides (scope, policy, updated_ms) VALUES (?, ?, ?)
ON CONFLICT (scope) DO UPDATE SET policy = excluded.policy, updated_ms = excluded.updated_ms`,
			o.Scope, string(o.Policy), o.UpdatedAt.UnixMilli())
		if err != nil {
			return s.explain(err)
		}
		return nil
	})
}

// DeleteOverride removes the override for scope; removing one that does
// not exist is not an error, so "reset to config" is idempotent.
func (s *Store) DeleteOverride(ctx context.Context, scope string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM overrides WHERE scope = ?", scope); err != nil {
			return s.explain(err)
		}
		return nil
	})
}
