package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOverrides(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir)

	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	t0 := time.Date(2025, 3, 30, 1, 59, 59, 123_456_789, paris)

	// Each step is applied in order; want is the full list afterwards.
	steps := []struct {
		name string
		do   func() error
		want []Override
	}{
		{
			name: "empty",
			do:   func() error { return nil },
			want: nil,
		},
		{
			name: "put",
			do: func() error {
				return s.PutOverride(ctx, Override{Scope: "slot/701", Policy: []byte(`{"recall_after":"30s"}`), UpdatedAt: t0})
			},
			want: []Override{
				{Scope: "slot/701", Policy: []byte(`{"recall_after":"30s"}`), UpdatedAt: t0.Truncate(time.Millisecond).UTC()},
			},
		},
		{
			name: "put more, listed by scope",
			do: func() error {
				if err := s.PutOverride(ctx, Override{Scope: "lot/main", Policy: []byte(`{"recall_to":"parker"}`), UpdatedAt: t0.Add(time.Second)}); err != nil {
					return err
				}
				return s.PutOverride(ctx, Override{Scope: "defaults", Policy: []byte(`{}`), UpdatedAt: t0.Add(2 * time.Second)})
			},
			want: []Override{
				{Scope: "defaults", Policy: []byte(`{}`), UpdatedAt: t0.Add(2 * time.Second).Truncate(time.Millisecond).UTC()},
				{Scope: "lot/main", Policy: []byte(`{"recall_to":"parker"}`), UpdatedAt: t0.Add(time.Second).Truncate(time.Millisecond).UTC()},
				{Scope: "slot/701", Policy: []byte(`{"recall_after":"30s"}`), UpdatedAt: t0.Truncate(time.Millisecond).UTC()},
			},
		},
		{
			name: "upsert replaces policy and time",
			do: func() error {
				return s.PutOverride(ctx, Override{Scope: "slot/701", Policy: []byte(`{"recall_after":"90s"}`), UpdatedAt: t0.Add(time.Hour)})
			},
			want: []Override{
				{Scope: "defaults", Policy: []byte(`{}`), UpdatedAt: t0.Add(2 * time.Second).Truncate(time.Millisecond).UTC()},
				{Scope: "lot/main", Policy: []byte(`{"recall_to":"parker"}`), UpdatedAt: t0.Add(time.Second).Truncate(time.Millisecond).UTC()},
				{Scope: "slot/701", Policy: []byte(`{"recall_after":"90s"}`), UpdatedAt: t0.Add(time.Hour).Truncate(time.Millisecond).UTC()},
			},
		},
		{
			name: "delete",
			do:   func() error { return s.DeleteOverride(ctx, "lot/main") },
			want: []Override{
				{Scope: "defaults", Policy: []byte(`{}`), UpdatedAt: t0.Add(2 * time.Second).Truncate(time.Millisecond).UTC()},
				{Scope: "slot/701", Policy: []byte(`{"recall_after":"90s"}`), UpdatedAt: t0.Add(time.Hour).Truncate(time.Millisecond).UTC()},
			},
		},
		{
			name: "delete absent is fine",
			do:   func() error { return s.DeleteOverride(ctx, "lot/nowhere") },
			want: []Override{
				{Scope: "defaults", Policy: []byte(`{}`), UpdatedAt: t0.Add(2 * time.Second).Truncate(time.Millisecond).UTC()},
				{Scope: "slot/701", Policy: []byte(`{"recall_after":"90s"}`), UpdatedAt: t0.Add(time.Hour).Truncate(time.Millisecond).UTC()},
			},
		},
		{
			name: "survives close and reopen",
			do: func() error {
				if err := s.Close(); err != nil {
					return err
				}
				s = openDir(t, dir)
				return nil
			},
			want: []Override{
				{Scope: "defaults", Policy: []byte(`{}`), UpdatedAt: t0.Add(2 * time.Second).Truncate(time.Millisecond).UTC()},
				{Scope: "slot/701", Policy: []byte(`{"recall_after":"90s"}`), UpdatedAt: t0.Add(time.Hour).Truncate(time.Millisecond).UTC()},
			},
		},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got, err := s.Overrides(ctx)
		if err != nil {
			t.Fatalf("%s: Overrides: %v", step.name, err)
		}
		if !reflect.DeepEqual(got, step.want) {
			t.Fatalf("%s:\n got %s\nwant %s", step.name, fmtOverrides(got), fmtOverrides(step.want))
		}
		for _, o := range got {
			if o.UpdatedAt.Location() != time.UTC {
				t.Errorf("%s: %s UpdatedAt in %v, want UTC", step.name, o.Scope, o.UpdatedAt.Location())
			}
		}
	}
}

func TestPutOverrideZeroTimeIsNow(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	before := time.Now().Truncate(time.Millisecond)
	if err := s.PutOverride(ctx, Override{Scope: "defaults", Policy: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	got, err := s.Overrides(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("Overrides = %v, %v", got, err)
	}
	if at := got[0].UpdatedAt; at.Before(before) || at.After(after) {
		t.Errorf("UpdatedAt = %v, want between %v and %v", at, before, after)
	}
}

func TestPutOverrideRejects(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, tc := range []struct {
		name  string
		o     Override
		words string
	}{
		{"empty scope", Override{Policy: []byte(`{}`)}, "empty scope"},
		{"empty policy", Override{Scope: "defaults"}, "not valid JSON"},
		{"broken JSON", Override{Scope: "lot/main", Policy: []byte(`{"recall_after":`)}, "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutOverride(ctx, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.words) {
				t.Errorf("PutOverride = %v, want an error with %q", err, tc.words)
			}
		})
	}
	if got, _ := s.Overrides(ctx); len(got) != 0 {
		t.Errorf("rejected overrides were stored: %v", fmtOverrides(got))
	}
}

func fmtOverrides(list []Override) string {
	var b strings.Builder
	for _, o := range list {
		b.WriteString("\n  " + o.Scope + " " + string(o.Policy) + " " + o.UpdatedAt.Format(time.RFC3339Nano) + " " + o.UpdatedAt.Location().String())
	}
	return b.String()
}
