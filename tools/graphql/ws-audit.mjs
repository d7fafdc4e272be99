// The registry's subscriptions as the graphql-ws client (pinned in package-lock.json) sees
// them: live delivery, resume after a cursor, the limits and the protocol's close codes.
// Run by scripts/ws-audit against a `registry serve` started with the settings it expects;
// usage: node ws-audit.mjs WS_URL SERVER_PID (READER_TOKEN and EDITOR_TOKEN in the env).
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, serverPid] = process.argv.slice(2);
const httpUrl = url.replace(/^ws/, "http");
const reader = process.env.READER_TOKEN;
const editor = process.env.EDITOR_TOKEN;
const PROTOCOL = "graphql-transport-ws";
const DELIVERY_MS = 1000;

const FOLLOW = `subscription Follow($after: String) {
  changes(after: $after, filter: {entityTypes: ["Model"]}) { cursor node { kind entityId } }
}`;
const HEAVY = `subscription Heavy {
  releaseEvents { cursor version { id model { id versions(first: 100) { id scores(first: 100) { id } } } } }
}`;

let failures = 0;
function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
  if (!ok) failures += 1;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
function within(ms, promise, what) {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`no ${what} within ${ms} ms`);
    }),
  ]);
}

function client(params, onClosed) {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: params,
    lazy: false,
    onNonLazyError: () => {}, // a refused connection is what some checks wait for
    retryAttempts: 0,
    on: { closed: (event) => onClosed?.(event) },
  });
}

// The close code a client gets when it connects with these params.
function closeCodeOf(params) {
  return new Promise((resolve) => {
    const c = client(params, (event) => {
      resolve(event.code);
      dispose(c);
    });
  });
}

// Disposing a client whose connection was refused rejects with that refusal: already seen.
async function dispose(c) {
  try {
    await c.dispose();
  } catch {}
}

// Events of one subscription, as a queue the checks can await one at a time.
function follow(c, query, variables = {}) {
  const queue = [];
  const waiting = [];
  const push = (item) => (waiting.length ? waiting.shift()(item) : queue.push(item));
  c.subscribe(
    { query, variables },
    { next: (value) => push({ value }), error: (error) => push({ error }), complete: () => {} },
  );
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r)));
}

async function createModel(slug) {
  const response = await fetch(`${httpUrl}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${editor}` },
    body: JSON.stringify({
      query: `mutation CreateModel($input: CreateModelInput!) {
        createModel(input: $input) { model { id } userErrors { field code message } }
      }`,
      variables: { input: { slug, name: slug, lab: "upstage" } },
    }),
  });
  const body = await response.json();
  return body.data.createModel.model.id;
}

// A raw socket, for what graphql-ws itself would never send.
function raw(headers = {}) {
  return new WebSocket(url, PROTOCOL, { headers });
}
function closeOf(socket) {
  return new Promise((resolve) => socket.on("close", (code) => resolve(code)));
}
function refusalOf(socket) {
  return new Promise((resolve) => {
    socket.on("unexpected-response", (_request, response) => resolve(response.statusCode));
    socket.on("open", () => resolve("open"));
  });
}
function ackOf(socket) {
  return new Promise((resolve) => socket.on("message", (data) => resolve(JSON.parse(data).type)));
}

async function auth() {
  check("no token: 4403 (the registry requires one)", (await closeCodeOf({})) === 4403);
  const wrong = await closeCodeOf({ authorization: "Bearer mrr_not-a-token" });
  check("a wrong token: 4403", wrong === 4403);
}

async function liveAndResume() {
  const c = client({ authorization: `Bearer ${reader}` });
  const next = follow(c, FOLLOW);
  await sleep(500); // the subscription starts at the feed's head once the server has it
  const ids = [];
  const cursors = [];
  for (const slug of ["ws-audit-one", "ws-audit-two"]) {
    const written = Date.now();
    ids.push(await createModel(slug));
    const event = await within(DELIVERY_MS, next(), "event");
    const took = Date.now() - written;
    const change = event.value?.data?.changes;
    cursors.push(change?.cursor);
    const ok = change?.node?.entityId === ids.at(-1);
    check(`live: ${slug}, from sending the write to the event: ${took} ms`, ok, ok ? "" : String(event.error ?? JSON.stringify(event.value)));
  }
  await dispose(c);

  const again = client({ authorization: `Bearer ${reader}` });
  const resumed = follow(again, FOLLOW, { after: cursors[0] });
  const first = await within(2000, resumed(), "resumed event");
  check("resume after a cursor: the next change, once", first.value?.data?.changes?.cursor === cursors[1]);
  await dispose(again);
}

async function limits() {
  const c = client({ authorization: `Bearer ${reader}` });
  const heavy = await within(2000, follow(c, HEAVY)(), "answer");
  const code = heavy.error?.[0]?.extensions?.code;
  check("cost limit: QUERY_TOO_COMPLEX", code === "QUERY_TOO_COMPLEX", code);
  for (let i = 0; i < 3; i += 1) follow(c, FOLLOW);
  const extra = await within(2000, follow(c, FOLLOW)(), "refusal");
  const message = extra.error?.[0]?.message;
  check("subscriptions per connection capped at 3", message === "Subscription limit reached", message);
  await dispose(c);
}

async function protocol() {
  let socket = raw();
  check("no connection_init in time: 4408", (await closeOf(socket)) === 4408);

  socket = raw();
  socket.on("open", () => socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: FOLLOW } })));
  check("subscribe before the ack: 4401", (await closeOf(socket)) === 4401);

  socket = raw();
  socket.on("open", () => socket.send("not json"));
  check("a message that is not JSON: 4400", (await closeOf(socket)) === 4400);

  socket = raw();
  const init = JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${reader}` } });
  socket.on("open", () => {
    socket.send(init);
    socket.send(init);
  });
  check("a second connection_init: 4429", (await closeOf(socket)) === 4429);
}

async function origins() {
  let socket = raw({ origin: "https://evil.example" });
  check("a page of another origin: refused (403)", (await refusalOf(socket)) === 403);
  socket = raw({ origin: "https://news.example" });
  check("an allowed origin: accepted", (await refusalOf(socket)) === "open");
  socket.close();
}

// A gauge of /metrics (open to anyone: keep it off the public ingress).
async function gauge(name) {
  const text = await (await fetch(httpUrl.replace(/\/graphql$/, "/metrics"))).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1]);
}

async function connectionCap() {
  // REGISTRY_WEBSOCKET_MAX_CONNECTIONS=4: four held, the fifth is told to retry later.
  const held = [];
  for (let i = 0; i < 4; i += 1) {
    const socket = raw();
    const acked = ackOf(socket);
    socket.on("open", () =>
      socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${reader}` } })),
    );
    check(`connection ${i + 1} of 4: acknowledged`, (await within(2000, acked, "ack")) === "connection_ack");
    held.push(socket);
  }
  check("a fifth connection: 1013 (try again later)", (await closeOf(raw())) === 1013);
  check("/metrics: 4 connections open", (await gauge("registry_websocket_connections")) === 4);
  await Promise.all(held.map((socket) => { const closed = closeOf(socket); socket.close(); return closed; }));
  await sleep(200);
  check("/metrics: none open once they closed", (await gauge("registry_websocket_connections")) === 0);
}

async function goingAway() {
  const closed = new Promise((resolve) => {
    const c = client({ authorization: `Bearer ${reader}` }, (event) => resolve(event.code));
    follow(c, FOLLOW);
  });
  await sleep(300);
  process.kill(Number(serverPid), "SIGTERM");
  check("SIGTERM: 1001 (going away)", (await within(5000, closed, "close")) === 1001);
}

try {
  // The cap first, while no other connection is open.
  for (const group of [connectionCap, auth, liveAndResume, limits, protocol, origins]) await group();
  await goingAway();
} catch (error) {
  check("the audit ran to its end", false, String(error));
}
console.log(failures === 0 ? "all checks passed" : `${failures} checks failed`);
process.exit(failures === 0 ? 0 : 1);
