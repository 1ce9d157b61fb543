package graph

import (
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/graph/model"
	"github.com/estateflow/estateflow/modules/spec"
)

// stepKindInfos describes every step kind of the modules, in the registry's
// order, for the stepKinds query: the console's launcher shows a package's
// parameters from it, and its builder checks required upstream kinds.
func stepKindInfos(mods []spec.Module) []*model.StepKindInfo {
	var out []*model.StepKindInfo
	for _, m := range mods {
		for _, k := range m.Kinds {
			info := &model.StepKindInfo{
				Kind:                  k.Kind,
				Module:                m.Name,
				Subjects:              k.Subjects(),
				RequiredUpstreamKinds: append([]stepkind.Kind{}, k.Requires...),
				Params:                make([]*model.StepParam, 0, len(k.Params)),
			}
			if !k.AnySubject {
				subject := k.Subject
				info.Subject = &subject
			}
			for _, p := range k.Params {
				info.Params = append(info.Params, &model.StepParam{
					Name:        p.Name,
					Type:        string(p.Type),
					Default:     p.Default,
					Min:         p.Min,
					Max:         p.Max,
					Description: p.Describe(),
				})
			}
			out = append(out, info)
		}
	}
	return out
}
