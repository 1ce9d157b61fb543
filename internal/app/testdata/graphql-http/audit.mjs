// Runs graphql-http's GraphQL over HTTP audit suite against a running
// EstateFlow server and prints one JSON line per audit:
//   {"id", "name", "status": "ok"|"notice"|"warn"|"error", "reason"}
//
// Usage: ESTATEFLOW_URL=http://host:port/graphql ESTATEFLOW_TOKEN=… node audit.mjs
// The token goes in every request's Authorization header: the audits send
// none of their own, and the server refuses a request without one.
import { auditServer } from 'graphql-http';

const url = process.env.ESTATEFLOW_URL;
const token = process.env.ESTATEFLOW_TOKEN;
if (!url || !token) {
  console.error('set ESTATEFLOW_URL and ESTATEFLOW_TOKEN');
  process.exit(2);
}

function withToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: withToken });
for (const r of results) {
  const line = { id: r.id, name: r.name, status: r.status };
  if (r.status !== 'ok') {
    line.reason = r.reason;
    line.responseStatus = r.response?.status;
    try {
      line.responseBody = await r.response.clone().text();
    } catch {
      // The audit already read the body.
    }
  }
  console.log(JSON.stringify(line));
}
