package approval

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/estateflow/estateflow/tenant"
)

// Config is an APPROVAL step's config (PackageStep.config):
//
//	{"approverRoles": ["ADMIN"], "approverUserIds": [12],
//	 "deadline": "72h", "deadlineAction": "AUTO_APPROVE", "defaultChoice": "AT_MARKET"}
//
// Every key is optional. Without approverRoles and approverUserIds the
// organization's agents and admins may approve. deadline is a Go duration
// ("90m", "72h") or a number of days ("3d"), from 1 minute to 90 days;
// deadlineAction (default FAIL) needs a deadline; defaultChoice, which
// AUTO_APPROVE picks, defaults to AT_MARKET when the options have it.
type Config struct {
	ApproverRoles   []string
	ApproverUserIDs []int
	Deadline        time.Duration
	DeadlineAction  string
	DefaultChoice   string
}

// Bounds of a deadline.
const (
	minDeadline = time.Minute
	maxDeadline = 90 * 24 * time.Hour
)

var knownKeys = []string{"approverRoles", "approverUserIds", "deadline", "deadlineAction", "defaultChoice"}

// ConfigError is a config that cannot be used; Key names the key at fault.
type ConfigError struct {
	Key, Message string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("config.%s: %s", e.Key, e.Message) }

func configError(key, format string, args ...any) *ConfigError {
	return &ConfigError{Key: key, Message: fmt.Sprintf(format, args...)}
}

// ParseConfig reads and checks an APPROVAL step's config.
func ParseConfig(raw map[string]any) (Config, error) {
	var c Config
	for k := range raw {
		if !slices.Contains(knownKeys, k) {
			return c, configError(k, "unknown key; an APPROVAL step reads %s", strings.Join(knownKeys, ", "))
		}
	}
	if v, ok := raw["approverRoles"]; ok {
		list, ok := v.([]any)
		if !ok {
			return c, configError("approverRoles", "must be a list of roles (ADMIN, AGENT)")
		}
		for _, r := range list {
			s, _ := r.(string)
			if s != string(tenant.RoleAdmin) && s != string(tenant.RoleAgent) {
				return c, configError("approverRoles", "%v is not a role (ADMIN or AGENT)", r)
			}
			if !slices.Contains(c.ApproverRoles, s) {
				c.ApproverRoles = append(c.ApproverRoles, s)
			}
		}
	}
	if v, ok := raw["approverUserIds"]; ok {
		list, ok := v.([]any)
		if !ok {
			return c, configError("approverUserIds", "must be a list of user IDs")
		}
		for _, u := range list {
			id, ok := userID(u)
			if !ok {
				return c, configError("approverUserIds", "%v is not a user ID", u)
			}
			c.ApproverUserIDs = append(c.ApproverUserIDs, id)
		}
	}
	if len(c.ApproverRoles) == 0 && len(c.ApproverUserIDs) == 0 {
		c.ApproverRoles = []string{string(tenant.RoleAdmin), string(tenant.RoleAgent)}
	}
	if v, ok := raw["deadline"]; ok {
		s, _ := v.(string)
		d, err := parseDeadline(s)
		if err != nil {
			return c, configError("deadline", "%v", err)
		}
		c.Deadline = d
	}
	if v, ok := raw["deadlineAction"]; ok {
		s, _ := v.(string)
		if s != ActionFail && s != ActionAutoApprove {
			return c, configError("deadlineAction", "must be FAIL or AUTO_APPROVE, got %v", v)
		}
		if c.Deadline == 0 {
			return c, configError("deadlineAction", "needs a deadline")
		}
		c.DeadlineAction = s
	}
	if c.Deadline > 0 && c.DeadlineAction == "" {
		c.DeadlineAction = ActionFail
	}
	if v, ok := raw["defaultChoice"]; ok {
		s, _ := v.(string)
		if strings.TrimSpace(s) == "" {
			return c, configError("defaultChoice", "must name an option (AT_MARKET)")
		}
		c.DefaultChoice = s
	}
	return c, nil
}

// parseDeadline reads "72h", "90m" or "3d".
func parseDeadline(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (72h, 90m or 3d)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (72h, 90m or 3d)", s)
		}
	}
	if d < minDeadline || d > maxDeadline {
		return 0, fmt.Errorf("%q is out of range (1 minute to 90 days)", s)
	}
	return d, nil
}

// userID reads a user ID from JSON: a number, or a string of digits (as
// GraphQL IDs travel).
func userID(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		if x > 0 && x == float64(int(x)) {
			return int(x), true
		}
	case string:
		if n, err := strconv.Atoi(x); err == nil && n > 0 {
			return n, true
		}
	}
	return 0, false
}
