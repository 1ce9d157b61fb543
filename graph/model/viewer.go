package model

import "github.com/estateflow/estateflow/ent"

// Viewer is who a request acts for.
type Viewer struct {
	User         *ent.User         `json:"user"`
	Organization *ent.Organization `json:"organization"`
	Role         string            `json:"role"`
}
