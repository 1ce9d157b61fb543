// Runs graphql-sse's reference client against a running EstateFlow server,
// in distinct connections mode and in single connection mode (PUT, GET with
// the reservation token, POST and DELETE with it), and prints one JSON line
// per mode: {"mode", "role", "seqs"} or {"mode", "error"}.
//
// Usage: ESTATEFLOW_URL=… ESTATEFLOW_TOKEN=… ESTATEFLOW_RUN_ID=… node sse.mjs
// The run should have finished: its subscription then replays every event
// and completes.
import { createClient } from 'graphql-sse';

const url = process.env.ESTATEFLOW_URL;
const token = process.env.ESTATEFLOW_TOKEN;
const runId = process.env.ESTATEFLOW_RUN_ID;
if (!url || !token || !runId) {
  console.error('set ESTATEFLOW_URL, ESTATEFLOW_TOKEN and ESTATEFLOW_RUN_ID');
  process.exit(2);
}

async function collect(client, request) {
  const results = [];
  for await (const result of client.iterate(request)) {
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    results.push(result.data);
  }
  return results;
}

for (const mode of ['distinct', 'single']) {
  const client = createClient({
    url,
    singleConnection: mode === 'single',
    headers: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  try {
    const [viewer] = await collect(client, { query: '{ viewer { role } }' });
    const events = await collect(client, {
      query: 'subscription($id: ID!) { runEvents(runId: $id, afterSeq: 0) { seq type } }',
      variables: { id: runId },
    });
    console.log(JSON.stringify({ mode, role: viewer.viewer.role, seqs: events.map((e) => e.runEvents.seq) }));
  } catch (err) {
    console.log(JSON.stringify({ mode, error: String(err?.stack ?? err) }));
  } finally {
    client.dispose();
  }
}
