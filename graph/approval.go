package graph

import (
	"context"
	"fmt"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/graph/model"
	"github.com/estateflow/estateflow/modules/approval"
	"github.com/estateflow/estateflow/tenant"
)

// decider is the viewer as an approval names them: the user's email and
// role.
func (r *mutationResolver) decider(ctx context.Context) (approval.Decider, error) {
	v, ok := tenant.FromContext(ctx)
	if !ok {
		return approval.Decider{}, tenant.ErrNoViewer
	}
	d := approval.Decider{UserID: v.UserID, Role: string(v.Role)}
	if v.UserID > 0 {
		u, err := r.client.User.Get(ctx, v.UserID)
		switch {
		case err == nil:
			d.Email = u.Email
		case !ent.IsNotFound(err):
			return d, fmt.Errorf("reading user %d: %w", v.UserID, err)
		}
	}
	return d, nil
}

// approvalRequest is StepRun.approval: what an APPROVAL step asks for,
// once it has begun waiting.
func approvalRequest(s *ent.StepRun) (*model.ApprovalRequest, error) {
	req, err := approval.RequestOf(s)
	if err != nil || req == nil {
		return nil, err
	}
	out := &model.ApprovalRequest{Review: req.Review, Options: make([]*approval.Option, len(req.Options)),
		ApproverRoles: make([]user.Role, len(req.ApproverRoles)), ApproverUserIds: req.ApproverUserIDs,
		DeadlineAt: s.DeadlineAt}
	if out.Review == nil {
		out.Review = []string{}
	}
	if out.ApproverUserIds == nil {
		out.ApproverUserIds = []int{}
	}
	for i := range req.Options {
		out.Options[i] = &req.Options[i]
	}
	for i, role := range req.ApproverRoles {
		out.ApproverRoles[i] = user.Role(role)
	}
	if req.DeadlineAction != "" {
		out.DeadlineAction = &req.DeadlineAction
	}
	if req.DefaultChoice != "" {
		out.DefaultChoice = &req.DefaultChoice
	}
	return out, nil
}
