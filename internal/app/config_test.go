package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
)

// servedByDefault is serve's configuration with no flag and no environment.
func servedByDefault() Config {
	return Config{
		Addr: ":8080", DatabaseURL: database.DefaultURL, DBMaxConns: 40, Demo: true, MaxBodyBytes: 1 << 20,
		Introspection: true, RateLimit: 600, MaxConnections: 20, MaxSubscriptions: 10, MaxDepth: 15,
		MaxComplexity: 20000, MaxExpensive: 10, WSWriteTimeout: 10 * time.Second, RiverListen: true, LogLevel: slog.LevelInfo,
		PublicURL: "http://localhost:8080", AdmissionMaxWait: 30 * time.Second, RetentionInterval: time.Minute,
	}
}

func environment(vars map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) { v, ok := vars[key]; return v, ok }
}

func TestServeFlagsAndEnvironment(t *testing.T) {
	t.Parallel()
	with := func(change func(*Config)) Config { c := servedByDefault(); change(&c); return c }
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		want    Config
		wantErr []string // substrings of the error; nil: no error
	}{
		{name: "defaults", want: servedByDefault()},
		{name: "an empty variable is unset", env: map[string]string{"ESTATEFLOW_ADDR": "", "ESTATEFLOW_DEMO": ""}, want: servedByDefault()},
		{
			name: "every variable",
			env: map[string]string{
				"ESTATEFLOW_ADDR": "127.0.0.1:9000", "DATABASE_URL": "postgres://db/estateflow", "ESTATEFLOW_DB_MAX_CONNS": "12",
				"ESTATEFLOW_DEMO": "false", "ESTATEFLOW_MAX_BODY_BYTES": "2048", "ESTATEFLOW_CORS_ORIGINS": "https://a.example",
				"ESTATEFLOW_ADMIN_TOKEN": "ef_secret", "ESTATEFLOW_INTROSPECTION": "false", "ESTATEFLOW_RATE_LIMIT": "60",
				"ESTATEFLOW_MAX_CONNECTIONS": "3", "ESTATEFLOW_MAX_SUBSCRIPTIONS": "4", "ESTATEFLOW_MAX_DEPTH": "5",
				"ESTATEFLOW_MAX_COMPLEXITY": "600", "ESTATEFLOW_MAX_EXPENSIVE_FIELDS": "3", "ESTATEFLOW_WORKERS": "7", "ESTATEFLOW_REPLICA_ID": "r1",
				"ESTATEFLOW_RIVER_LISTEN": "false", "ESTATEFLOW_LOG_LEVEL": "debug", "ESTATEFLOW_LOG_JSON": "true",
				"ESTATEFLOW_WS_WRITE_TIMEOUT": "3s", "ESTATEFLOW_METRICS_ADDR": "127.0.0.1:9090", "ESTATEFLOW_METRICS_TOKEN": "m3trics", "ESTATEFLOW_PUBLIC_URL": "https://ef.example",
				"ESTATEFLOW_ADMISSION_MAX_WAIT": "45s", "ESTATEFLOW_RETENTION_INTERVAL": "5m",
			},
			want: Config{
				Addr: "127.0.0.1:9000", DatabaseURL: "postgres://db/estateflow", DBMaxConns: 12, MaxBodyBytes: 2048,
				CORSOrigins: "https://a.example", AdminToken: "ef_secret", RateLimit: 60, MaxConnections: 3,
				MaxSubscriptions: 4, MaxDepth: 5, MaxComplexity: 600, MaxExpensive: 3, WSWriteTimeout: 3 * time.Second, Workers: 7, ReplicaID: "r1",
				LogLevel: slog.LevelDebug, LogJSON: true, MetricsAddr: "127.0.0.1:9090", MetricsToken: "m3trics", PublicURL: "https://ef.example",
				AdmissionMaxWait: 45 * time.Second, RetentionInterval: 5 * time.Minute,
			},
		},
		{
			name: "every flag",
			args: []string{"--addr", ":1", "--database-url", "x.db", "--db-max-conns", "2", "--demo=false", "--max-body-bytes", "3",
				"--cors-origins", "https://b.example", "--introspection=false", "--rate-limit", "4", "--max-connections", "5",
				"--max-subscriptions", "6", "--max-depth", "7", "--max-complexity", "8", "--max-expensive-fields", "11", "--workers", "9", "--replica-id", "r2",
				"--river-listen=false", "--log-level", "warn", "--log-json", "--ws-write-timeout", "250ms", "--public-url", "https://ef2.example/app",
				"--admission-max-wait", "0", "--retention-interval", "10s"},
			want: Config{
				Addr: ":1", DatabaseURL: "x.db", DBMaxConns: 2, MaxBodyBytes: 3, CORSOrigins: "https://b.example", RateLimit: 4,
				MaxConnections: 5, MaxSubscriptions: 6, MaxDepth: 7, MaxComplexity: 8, MaxExpensive: 11, WSWriteTimeout: 250 * time.Millisecond, Workers: 9, ReplicaID: "r2",
				LogLevel: slog.LevelWarn, LogJSON: true, PublicURL: "https://ef2.example/app", RetentionInterval: 10 * time.Second,
			},
		},
		{
			name: "a flag wins over its variable",
			env:  map[string]string{"ESTATEFLOW_ADDR": ":9000", "ESTATEFLOW_DEMO": "false", "ESTATEFLOW_LOG_LEVEL": "error"},
			args: []string{"-addr=:9001", "-demo", "-log-level=debug"},
			want: with(func(c *Config) { c.Addr, c.LogLevel = ":9001", slog.LevelDebug }),
		},
		{
			name:    "malformed variables all fail start-up, even with a flag that would win",
			env:     map[string]string{"ESTATEFLOW_DEMO": "yes please", "ESTATEFLOW_RATE_LIMIT": "lots", "ESTATEFLOW_LOG_LEVEL": "loud"},
			args:    []string{"--rate-limit", "5"},
			wantErr: []string{`ESTATEFLOW_DEMO="yes please": want true or false`, `ESTATEFLOW_RATE_LIMIT="lots": want a whole number`, `ESTATEFLOW_LOG_LEVEL="loud"`},
		},
		{name: "a malformed flag", args: []string{"--workers", "many"}, wantErr: []string{`invalid value "many" for flag -workers`}},
		{name: "another command's flag", args: []string{"--org", "demo"}, wantErr: []string{"flag provided but not defined: -org"}},
		{name: "a positional argument", args: []string{"now"}, wantErr: []string{`unexpected argument "now"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseServe(tc.args, io.Discard, environment(tc.env))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, want one with %q", tc.wantErr)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestMigrateReadsOnlyDatabaseAndLogSettings(t *testing.T) {
	t.Parallel()
	env := environment(map[string]string{"DATABASE_URL": "m.db", "ESTATEFLOW_DB_MAX_CONNS": "3", "ESTATEFLOW_LOG_JSON": "true", "ESTATEFLOW_ADDR": ":1"})
	got, err := parseMigrate(nil, io.Discard, env)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Config{DatabaseURL: "m.db", DBMaxConns: 3, LogJSON: true, LogLevel: slog.LevelInfo}); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if _, err := parseMigrate([]string{"--addr", ":2"}, io.Discard, env); err == nil {
		t.Fatal("migrate accepted serve's --addr")
	}
}

// TestCommandHelp checks that each subcommand's --help lists its own flags,
// with their environment variables, and no other command's.
func TestCommandHelp(t *testing.T) {
	t.Parallel()
	database := []string{"-database-url", "DATABASE_URL", "-db-max-conns"}
	for _, tc := range []struct {
		command   string
		want, not []string
	}{
		{"serve", append([]string{"Usage: estateflow [serve] [flags]", "-addr", "ESTATEFLOW_ADDR", "-demo", "-max-complexity", "-log-level", "-river-listen", "-pprof", "ESTATEFLOW_PPROF", "migrate"}, database...),
			[]string{"-org", "-csv", "-role"}},
		{"migrate", append([]string{"Usage: estateflow migrate", "-log-json"}, database...), []string{"-addr", "-demo", "-org"}},
		{"import", append([]string{"Usage: estateflow import properties", "-org", "-demo"}, database...), []string{"-addr", "-role", "-csv"}},
		{"token", append([]string{"Usage: estateflow token create", "-org", "-user", "-role", "-name"}, database...), []string{"-addr", "-demo", "-csv"}},
		{"cma", append([]string{"Usage: estateflow cma backtest", "cma calibrate", "-csv", "-json", "-org", "-sales"}, database...), []string{"-addr", "-role"}},
		{"run", []string{"Usage: estateflow run PACKAGE-KEY", "-property", "-client", "-param", "-watch", "-idempotency-key", "-server", "ESTATEFLOW_SERVER", "-token", "ESTATEFLOW_TOKEN", "4  run --watch: the run FAILED"},
			[]string{"-addr", "-database-url", "-status"}},
		{"runs", []string{"Usage: estateflow runs", "-status", "-package", "-first", "-after", "-server", "Exit codes:"}, []string{"-addr", "-database-url", "-watch"}},
		{"report", []string{"Usage: estateflow report RUN-ID", "-format", "-server", "-token"}, []string{"-addr", "-database-url", "-watch"}},
		{"loadtest-broadcaster", []string{"Usage: estateflow loadtest-broadcaster", "-addr", "/broadcast", "loadtest --baseline"}, []string{"-database-url", "-token", "-server"}},
	} {
		t.Run(tc.command, func(t *testing.T) {
			t.Parallel()
			var cmd Command
			for _, c := range Commands() {
				if c.Name == tc.command {
					cmd = c
				}
			}
			var stdout, stderr bytes.Buffer
			if err := cmd.Run(context.Background(), []string{"--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("--help returned %v, want flag.ErrHelp", err)
			}
			help := stderr.String()
			for _, want := range tc.want {
				if !strings.Contains(help, want) {
					t.Errorf("help lacks %q:\n%s", want, help)
				}
			}
			for _, not := range tc.not {
				if regexp.MustCompile(`(?m)^  ` + not + `\b`).MatchString(help) {
					t.Errorf("help lists another command's %s:\n%s", not, help)
				}
			}
			if stdout.Len() > 0 {
				t.Errorf("help wrote to stdout: %s", stdout.String())
			}
		})
	}
}
