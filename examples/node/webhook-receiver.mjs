// A webhook receiver to run on your machine: verifies each delivery's signature (Standard
// Webhooks) and prints `verified <type> <leadId> <webhook-id>`. Run:
// WEBHOOK_SECRET=whsec_... PORT=9000 node webhook-receiver.mjs
// and register http://127.0.0.1:9000/hook (the demo needs WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true).
import crypto from "node:crypto";
import http from "node:http";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) throw new Error("set WEBHOOK_SECRET to the endpoint's signingSecret");

// `rawBody` is the request body exactly as received (a Buffer), before any JSON parsing.
function verify(secret, headers, rawBody, toleranceSeconds = 300) {
  const id = headers["webhook-id"];
  const timestamp = Number(headers["webhook-timestamp"]);
  if (!id || Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false; // replay
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = crypto
    .createHmac("sha256", key)
    .update(`${id}.${timestamp}.`)
    .update(rawBody)
    .digest();
  return (headers["webhook-signature"] ?? "").split(" ").some((candidate) => {
    const [version, signature] = candidate.split(",");
    const given = Buffer.from(signature ?? "", "base64");
    return version === "v1" && given.length === expected.length &&
      crypto.timingSafeEqual(given, expected);
  });
}

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks);
    if (!verify(secret, request.headers, body)) {
      console.log("refused: bad signature");
      response.writeHead(401).end();
      return;
    }
    const event = JSON.parse(body);
    console.log(`verified ${event.type} ${event.data.leadId} ${request.headers["webhook-id"]}`);
    response.writeHead(204).end(); // 2xx: delivered; anything else is retried
  });
});
server.listen(Number(process.env.PORT ?? 9000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/hook`);
});
