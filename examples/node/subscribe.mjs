// Follows an organization's lead events and prints each as a JSON line; resumes from the last
// cursor after a drop. Run: LEADGRAPH_API_KEY=lg_... node subscribe.mjs
// (LEADGRAPH_WS_URL defaults to ws://127.0.0.1:8000/graphql/ws; LAST_CURSOR resumes.)
import { createClient } from "graphql-ws";
import WebSocket from "ws"; // Node 20 has no global WebSocket

const credential = process.env.LEADGRAPH_API_KEY ?? process.env.LEADGRAPH_TOKEN;
if (!credential) throw new Error("set LEADGRAPH_API_KEY (or LEADGRAPH_TOKEN)");
let cursor = process.env.LAST_CURSOR || null; // persist it after each event you process

const client = createClient({
  url: process.env.LEADGRAPH_WS_URL ?? "ws://127.0.0.1:8000/graphql/ws",
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${credential}` },
  retryAttempts: Infinity,
});

function handle(event) {
  console.log(JSON.stringify(event));
}

async function run() {
  const results = client.iterate({
    query: `subscription($after: String) {
      leadEvents(after: $after) { cursor kind leadId changedFields }
    }`,
    variables: { after: cursor },
  });
  try {
    for await (const result of results) {
      if (result.errors) {
        // RESUME_REQUIRED carries the cursor to carry on from.
        cursor = result.errors[0].extensions?.cursor ?? cursor;
        console.error(JSON.stringify(result.errors));
        break;
      }
      handle(result.data.leadEvents);
      cursor = result.data.leadEvents.cursor;
    }
  } catch (dropped) {
    console.error(dropped);
  }
  setTimeout(run, 1000); // ended or dropped: resubscribe after the last cursor
}

run();
