// The fan-out benchmark with a client that is not LeadGraph's own: graphql-ws's reference client
// (over `ws`) for the subscribers, Node's fetch for the writer. Same workload and output as
// examples/bench_events.rs: T organizations signed up, S subscribers spread over them, one lead per
// organization changed in turn at W writes per second; latency is receipt time minus the event's
// `occurredAt` (the writing transaction's start). With SERVER_PID set, the server's resident
// memory is read before the subscribers connect and once they are all subscribed and idle.
//
// node client.mjs [base url] [subscribers] [tenants] [writes/s] [seconds]
import { readFileSync } from "node:fs";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [base = "http://127.0.0.1:8000", subscribersArg = "1000", tenantsArg = "20", rateArg = "50", secondsArg = "20"] =
  process.argv.slice(2);
const subscribers = Number(subscribersArg);
const tenants = Number(tenantsArg);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const url = `${base}/graphql`;
const wsUrl = `${base.replace(/^http/, "ws")}/graphql/ws`;
const SUBSCRIPTION = "subscription { leadEvents { cursor kind occurredAt lead { id score status } } }";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nowMs = () => performance.timeOrigin + performance.now();

async function gql(query, variables, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return response.json();
}

/** RFC 3339 with microseconds to milliseconds since the epoch, keeping the fraction. */
function epochMs(text) {
  const match = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!match) throw new Error(`not a timestamp: ${text}`);
  return Date.parse(match[1] + match[3]) + Number(match[2] ?? 0) * 1000;
}

/** Resident memory of the server process in KiB, when SERVER_PID names it. */
function serverRssKiB() {
  const pid = process.env.SERVER_PID;
  if (!pid) return null;
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line.split(/\s+/)[1]);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.round((sorted.length - 1) * p)];
}

const run = Date.now().toString(16);
const orgs = [];
for (let index = 0; index < tenants; index++) {
  const slug = `bench-node-${run}-${index}`;
  const signedUp = await gql(
    "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
    { input: { organizationName: slug, organizationSlug: slug, fullName: "Bench Owner", email: `owner@${slug}.test`, password: "bench-password-123" } },
  );
  if (signedUp.errors) throw new Error(JSON.stringify(signedUp.errors));
  const token = signedUp.data.signUp.accessToken;
  const created = await gql(
    "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
    { input: { firstName: "Fan", lastName: "Out", email: `lead@${slug}.test` } },
    token,
  );
  if (created.errors) throw new Error(JSON.stringify(created.errors));
  orgs.push({ token, lead: created.data.createLead.lead.id });
}

let acknowledged = 0;
let errors = 0;
let received = 0;
let latencies = [];
const rssBefore = serverRssKiB();
const storm = performance.now();
for (let index = 0; index < subscribers; index++) {
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${orgs[index % tenants].token}` },
    lazy: false,
    retryAttempts: 0,
    on: { connected: () => acknowledged++ },
  });
  client.subscribe(
    { query: SUBSCRIPTION },
    {
      next: (message) => {
        const occurred = message.data?.leadEvents?.occurredAt;
        if (!occurred) {
          errors++;
          console.error("subscription error:", JSON.stringify(message));
          return;
        }
        latencies.push(nowMs() - epochMs(occurred));
        received++;
      },
      error: (err) => {
        errors++;
        console.error("subscription ended:", err?.reason ?? err?.message ?? String(err));
      },
      complete: () => {},
    },
  );
}
while (acknowledged + errors < subscribers && performance.now() - storm < 120_000) await sleep(10);
console.log(
  `reconnect storm: ${acknowledged} of ${subscribers} connections acknowledged in ${((performance.now() - storm) / 1000).toFixed(2)} s, ${errors} refused or failed`,
);
// Let every subscription start before writing (and before memory is read).
await sleep(3000 + Math.floor(subscribers / 1000) * 1000);
const rssIdle = serverRssKiB();
if (rssBefore !== null) {
  console.log(
    `server memory: ${rssBefore} KiB before, ${rssIdle} KiB with ${subscribers} idle subscriptions: ${((rssIdle - rssBefore) / subscribers).toFixed(1)} KiB per subscription`,
  );
}
latencies = [];
received = 0;

let writes = 0;
let expected = 0;
let refused = 0;
const started = performance.now();
const interval = 1000 / rate;
while (performance.now() - started < seconds * 1000) {
  const index = writes % tenants;
  const org = orgs[index];
  // 1..=100, never the initial 0: every write changes the score, so each is an event.
  const score = (writes % 100) + 1;
  const audience = Math.floor(subscribers / tenants) + (index < subscribers % tenants ? 1 : 0);
  gql(
    "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { id } } }",
    { input: { id: org.lead, score } },
    org.token,
  ).then((response) => {
    // A write past its organization's share of the pool is refused, and is no event.
    const code = response.errors?.[0]?.extensions?.code;
    if (code === undefined) expected += audience;
    else if (code === "RATE_LIMITED") refused++;
    else throw new Error(JSON.stringify(response));
  });
  writes++;
  const next = started + writes * interval;
  await sleep(Math.max(0, next - performance.now()));
}
const writing = (performance.now() - started) / 1000;
// Give the last events time to arrive.
await sleep(5000);
const got = received;
latencies.sort((a, b) => a - b);
console.log(
  `subscribers=${subscribers} tenants=${tenants} writes=${writes} (${(writes / writing).toFixed(0)}/s, ${refused} refused RATE_LIMITED) expected deliveries=${expected} received=${got} missing=${Math.max(0, expected - got)}`,
);
console.log(`subscriptions ended by an error: ${errors}`);
const ms = (p) => percentile(latencies, p).toFixed(1);
console.log(
  `deliveries/s=${(got / writing).toFixed(0)} latency ms: p50=${ms(0.5)} p90=${ms(0.9)} p99=${ms(0.99)} max=${ms(1)}`,
);
process.exit(0);
