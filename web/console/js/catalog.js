// The packages and step kinds, read once per session.

export const STEP_KINDS = `{ stepKinds { kind module subject requiredUpstreamKinds
  params { name type default min max description } } }`;

export const PACKAGES = `{ packages(first: 100, where: {archived: false}, orderBy: {field: NAME}) { edges { node {
  id key name description subject version
  steps { key name kind dependsOn config maxAttempts timeoutSeconds position } } } } }`;

export async function stepKinds(session) {
  return (await session.once('stepKinds', STEP_KINDS)).stepKinds;
}

export async function packages(session) {
  const data = await session.once('packages', PACKAGES);
  return data.packages.edges.map((e) => e.node);
}

/** paramsOf lists the run parameters a package's steps read, each once. */
export function paramsOf(pkg, kinds) {
  const byKind = new Map(kinds.map((k) => [k.kind, k]));
  const seen = new Map();
  for (const st of pkg.steps || []) {
    for (const p of byKind.get(st.kind)?.params || []) {
      if (!seen.has(p.name)) seen.set(p.name, { ...p, steps: [st.name] });
      else seen.get(p.name).steps.push(st.name);
    }
  }
  return [...seen.values()];
}
