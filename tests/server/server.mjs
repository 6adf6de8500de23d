#!/usr/bin/env node
// The reference server: the real SurrealDB engine behind the network protocol of `surreal start`.
//
// There is no `surreal` binary on our machines. The npm package `@surrealdb/node` ships the real
// SurrealDB 3.0.x engine as a native Node add-on, with an RPC entry point that takes one CBOR
// request and gives back one CBOR result, exactly the `RpcProtocol` core that the real server
// runs. This file puts that engine behind HTTP and WebSocket the way `surreal start` does, so
// the Python client can be tested against real bytes. Sections quoted as §N are those of
// shared/protocol.md.
//
// The rule of this file: WHAT ANSWERS IS ALWAYS THE ENGINE. The front only
//   * routes (WebSocket connection -> engine session, live notification -> owning connection),
//   * gates what the embedded engine does not (it runs with authentication off, see GATES below),
//   * formats (the response envelope of §2.5, HTTP statuses of §3).
// Where the engine cannot do what the real server does, the comment says so ("DEVIATION").
//
// Usage: node server.mjs [--port 0] [--user root] [--pass root] [--storage mem://]
//                        [--tls-cert cert.pem --tls-key key.pem] [--ping-interval 5]
// Prints `LISTENING 127.0.0.1:<port>` on stdout once it accepts connections.
// Storage: `mem://` (default) or `surrealkv://<path>` (survives a restart).

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { decode, Encoded, encode, Reader, Tagged } from "@surrealdb/cbor";
import { WebSocketServer } from "ws";

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

const { values: opts } = parseArgs({
	options: {
		port: { type: "string", default: "0" },
		user: { type: "string", default: "root" },
		pass: { type: "string", default: "root" },
		storage: { type: "string", default: "mem://" },
		"tls-cert": { type: "string" },
		"tls-key": { type: "string" },
		"ping-interval": { type: "string", default: "5" },
	},
});
const HOST = "127.0.0.1"; // loopback only, always
const PING_INTERVAL_MS = Number(opts["ping-interval"]) * 1000; // §2.8: Ping frame every 5 s
const MAX_RPC_BODY = 4 << 20; // §3.4: POST /rpc body limit, 4 MiB -> 413
const MAX_WS_MESSAGE = 128 << 20; // §1: 128 MiB WebSocket messages
const MAX_IMPORT_BODY = 256 << 20; // real: 4 GiB, streamed; here buffered, so a sane cap

// ---------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------

// `@surrealdb/node`'s JavaScript wrapper (NodeEngine) decodes every reply with the JS SDK's
// codec, throws away the notification's `session` field and re-encodes values (1.0 would come
// back as 1). We need the raw bytes, so we load the native add-on that the wrapper itself loads,
// chosen the same way (napi-rs file naming). Its API: SurrealNodeEngine.connect(url, options),
// .execute(cbor request) -> cbor result, .notifications() -> receiver, .export(cbor config),
// .free(), and SurrealNodeEngine.version().
function loadNativeEngine() {
	const require = createRequire(import.meta.url);
	const dist = path.dirname(fileURLToPath(import.meta.resolve("@surrealdb/node"))); // .../dist
	const { platform, arch } = process;
	let suffix = "";
	if (platform === "linux") {
		const musl = !process.report?.getReport?.().header?.glibcVersionRuntime;
		suffix = musl ? "-musl" : "-gnu";
	} else if (platform === "win32") {
		suffix = "-msvc";
	}
	return require(path.join(dist, `surrealdb-node.${platform}-${arch}${suffix}.node`));
}
const { SurrealNodeEngine } = loadNativeEngine();
const ENGINE_VERSION = `surrealdb-${SurrealNodeEngine.version()}`;

// `live_query_notifications` lets the engine emit notifications. Authentication cannot be turned
// on in this package (it has no option for it): see GATES.
const engine = await SurrealNodeEngine.connect(opts.storage, {
	capabilities: { live_query_notifications: true },
});

// CBOR helpers. `@surrealdb/cbor` is a plain CBOR codec: unknown tags come back as `Tagged`,
// and `Encoded` splices bytes in unchanged, which keeps float widths, integer widths and tags
// exactly as the engine wrote them.
const NONE = new Tagged(6, null);
const isNone = (v) => v === undefined || (v instanceof Tagged && v.tag === 6);

// Decode the top-level map of a message into { key -> {value, raw} }, keeping each value's raw
// bytes so that it can be forwarded untouched. Returns null when the message is not a map.
function splitMap(bytes) {
	const r = new Reader(bytes);
	const [major, info] = r.readMajor();
	if (major !== 5) {
		decode(bytes); // throws when it is not CBOR at all (a Parse error rather than Invalid request)
		return null;
	}
	const count = info === 31 ? Number.POSITIVE_INFINITY : Number(r.readMajorLength(info));
	const fields = new Map();
	for (let i = 0; i < count; i++) {
		if (info === 31 && r.peekUint8() === 0xff) {
			r.skip();
			break;
		}
		const key = decode(r);
		const start = r._pos; // the Reader keeps its offset in `_pos`
		const value = decode(r);
		fields.set(key, { value, raw: bytes.subarray(start, r._pos) });
	}
	if (r._pos !== bytes.length) throw new Error("trailing bytes after the CBOR message");
	return fields;
}

// UUIDs: the wire carries tag 37 (16 bytes), tag 9 or a plain string (§2.4). Internally we key
// everything by the 32-digit hex form.
function uuidHex(v) {
	if (v instanceof Tagged && v.tag === 37 && v.value instanceof ArrayBuffer && v.value.byteLength === 16) {
		return Buffer.from(v.value).toString("hex");
	}
	const s = v instanceof Tagged && v.tag === 9 ? v.value : v;
	if (typeof s === "string" && /^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$/i.test(s)) {
		return s.replace(/-/g, "").toLowerCase();
	}
	return null;
}
const uuidTag = (hex) => new Tagged(37, Buffer.from(hex, "hex"));
const uuidText = (hex) =>
	`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

// ---------------------------------------------------------------------------------------------
// Error objects, shaped like the real server's (§6.2; constructors of core/rpc/error.rs)
// ---------------------------------------------------------------------------------------------

// Keys in sorted order, as the real server writes them (§11); `cause` is always present.
const ANONYMOUS_MESSAGE =
	"Anonymous access not allowed: Not enough permissions to perform this action";
const rpcError = (code, kind, message, details) =>
	details === undefined
		? { cause: NONE, code, kind, message }
		: { cause: NONE, code, details, kind, message };
const E = {
	parse: () => rpcError(-32700, "Validation", "Parse error", { kind: "Parse" }),
	invalidRequest: () => rpcError(-32600, "Validation", "Invalid request", { kind: "InvalidRequest" }),
	methodNotFound: (name) =>
		rpcError(-32601, "NotFound", "Method not found", { details: { name }, kind: "Method" }),
	methodNotAllowed: (name) =>
		rpcError(-32602, "NotAllowed", "Method not allowed", { details: { name }, kind: "Method" }),
	invalidParams: (message) => rpcError(-32603, "Validation", message, { kind: "InvalidParams" }),
	liveNotSupported: () =>
		rpcError(-32604, "Configuration", "Unable to perform the realtime query", {
			kind: "LiveQueryNotSupported",
		}),
	sessionNotFound: (hex) =>
		rpcError(-32000, "NotFound", `Session not found: ${uuidText(hex)}`, {
			details: { id: uuidText(hex) },
			kind: "Session",
		}),
	sessionExpired: () =>
		rpcError(-32000, "NotAllowed", "The session has expired", {
			details: { kind: "SessionExpired" },
			kind: "Auth",
		}),
	anonymous: () =>
		rpcError(-32002, "NotAllowed", ANONYMOUS_MESSAGE, {
			details: {
				details: { action: "process", actor: "anonymous", resource: "query" },
				kind: "NotAllowed",
			},
			kind: "Auth",
		}),
	internal: (message) => rpcError(-32000, "Internal", message),
};

// The native `execute` throws a plain Error (message only) when it cannot even start: map
// those to what the real server answers (§2.5, §5.2). `noId`: the reply carries no `id`.
function thrownToError(err) {
	const m = String(err?.message ?? err);
	if (m === "Invalid request" || m.startsWith("Expected object")) {
		return { error: E.invalidRequest(), noId: true };
	}
	if (/CBOR|^Semantic\(|^Syntax/.test(m)) return { error: E.parse(), noId: true };
	// The engine could not encode its own reply (e.g. `RETURN /a/`): the real server answers
	// Parse error with the request's id (§5.2).
	if (m.startsWith("Unsupported value type")) return { error: E.parse(), noId: false };
	return { error: E.internal(m), noId: false };
}

// ---------------------------------------------------------------------------------------------
// Engine sessions and who owns them
// ---------------------------------------------------------------------------------------------
//
// The engine keeps ONE map of sessions for the whole process, while the real server keeps one
// per WebSocket connection (§9.1). So: every WebSocket connection gets its own engine session
// (its "default session", keyed by the connection id, which is what the real server reports as
// `$session.id` and in notifications, §8.2); sessions that a client `attach`es are engine
// sessions too, keyed by the client's UUID; and `sessions` below records who owns each one, so
// that a connection can never reach another connection's session or transaction.
// DEVIATION: attaching a UUID that another live connection already attached gives
// `AlreadyExists` here (one shared map); on the real server both would succeed.

/** hex -> { owner, attached, authed, exp, lqs:Set<hex>, lock, closing? } */
const sessions = new Map();
/** live-query ids the front has killed: notifications for them are dropped */
const deadLiveQueries = new Set();
/** transaction hex -> owner (§9.2: transactions belong to a connection) */
const transactions = new Map();
const HTTP_OWNER = { kind: "http" }; // owner of sessions attached over HTTP (§9.3)

// A FIFO read/write lock per session. The real server runs requests concurrently (replies may
// come out of order, §2.7) but methods that change the session take its write lock, so a
// pipelined `signin` then `query` are applied in order in practice. Same here.
class SessionLock {
	#readers = 0;
	#writer = false;
	#queue = [];
	acquire(exclusive) {
		return new Promise((resolve) => {
			this.#queue.push({ exclusive, resolve });
			this.#pump();
		});
	}
	#pump() {
		while (this.#queue.length > 0 && !this.#writer) {
			const next = this.#queue[0];
			if (next.exclusive && this.#readers > 0) return;
			this.#queue.shift();
			if (next.exclusive) this.#writer = true;
			else this.#readers++;
			next.resolve(() => {
				if (next.exclusive) this.#writer = false;
				else this.#readers--;
				this.#pump();
			});
			if (next.exclusive) return;
		}
	}
}

function newSessionState(owner, attached) {
	return { owner, attached, authed: false, exp: null, lqs: new Set(), lock: new SessionLock() };
}

// One raw engine call. `sessionHex` null = the engine's own default session (used only for
// start-up and /export). Returns { result: raw bytes } or { error: object | raw bytes }.
async function engineCall(method, params, sessionHex, extra = {}) {
	const request = { method, params: params ?? [], ...extra };
	if (sessionHex) request.session = uuidTag(sessionHex);
	return splitReply(await engine.execute(encode(request)));
}

// `execute` returns the method's result, or `{error: {...}}` when the method failed. The two
// cannot be told apart in general (a record could have a single `error` field); we treat a
// one-key map `{error: {code, message, kind, ...}}` as an error, which no real result is.
function splitReply(bytes) {
	// 0xa1 = map of one entry, 0x65 = text of 5 bytes: "error"
	if (bytes[0] === 0xa1 && bytes[1] === 0x65 && Buffer.from(bytes.subarray(2, 7)).toString() === "error") {
		const fields = splitMap(bytes);
		const e = fields.get("error")?.value;
		if (e && typeof e === "object" && "code" in e && "message" in e && "kind" in e) {
			return { error: fields.get("error").raw, errorValue: e };
		}
	}
	return { result: bytes };
}
const resultValue = (reply) => (reply.result ? decode(reply.result) : undefined);

async function attachEngineSession(owner, attached, hex = randomUUID().replace(/-/g, "")) {
	await engine.execute(encode({ method: "attach", session: uuidTag(hex) }));
	sessions.set(hex, newSessionState(owner, attached));
	return hex;
}

// Kill a session's live queries. The engine does not do it on `detach` nor on `reset` (the
// real server does, §8.1/§9.1), and KILL only works from the owning session, so this runs
// before the session goes. Whatever happens, their notifications are dropped from now on.
async function killLiveQueries(hex) {
	const state = sessions.get(hex);
	if (!state) return;
	for (const lq of state.lqs) {
		deadLiveQueries.add(lq);
		await engineCall("kill", [uuidTag(lq)], hex).catch(() => {});
	}
	state.lqs.clear();
}

async function detachEngineSession(hex) {
	await killLiveQueries(hex);
	await engineCall("detach", [], hex).catch(() => {});
	sessions.delete(hex);
}

// After a successful signin/signup/authenticate/refresh, read the session's
// expiry from the engine (`$session.exp`, epoch seconds or NONE; §7.8). The embedded engine
// records it but never enforces it (verified: queries still succeed after it), so the front
// does, below. (`RETURN $session.exp` fails on 3.0.2 without a namespace; `$session` does not.)
async function refreshExpiry(hex) {
	const state = sessions.get(hex);
	const reply = await engineCall("query", ["RETURN $session"], hex).catch(() => ({}));
	const exp = reply.result ? decode(reply.result)?.[0]?.result?.exp : undefined;
	state.exp = typeof exp === "number" || typeof exp === "bigint" ? Number(exp) : null;
}

// ---------------------------------------------------------------------------------------------
// GATES: what the embedded engine does not enforce
// ---------------------------------------------------------------------------------------------
//
// The embedded engine runs with authentication OFF: an anonymous session may do anything. The
// real server (auth on, guests denied) refuses every datastore method to an anonymous session
// with the error below (§7.9, §6.2 example). `use`, `let`/`unset`, `ping`, `version`, the auth
// methods, sessions and transactions stay open to anonymous sessions, as on the real server
// (§4.1's subject gate lets guests through by default). Once signed in, permissions and roles
// are the engine's own (it does check them for non-anonymous sessions).
const ANONYMOUS_REFUSED = new Set([
	"query", "select", "create", "insert", "insert_relation", "update", "upsert", "merge",
	"patch", "delete", "relate", "run", "live", "kill", "info",
]);
// Session expiry (§7.5): these fail with SessionExpired once `$session.exp` has passed; `ping`,
// `version`, `use`, `unset`, `sessions` and the auth methods do not check it. `invalidate` and
// `reset` do not clear the expiry (§7.9), so this check comes before the anonymous one.
const EXPIRY_CHECKED = new Set([...ANONYMOUS_REFUSED, "let", "set"]);
const isExpired = (state) => state.exp !== null && Math.floor(Date.now() / 1000) > state.exp;
// Methods that change the session take its write lock (see SessionLock).
const EXCLUSIVE = new Set([
	"use", "signin", "signup", "authenticate", "refresh", "invalidate", "reset", "let", "set", "unset",
]);
const AUTHENTICATING = new Set(["signin", "signup", "authenticate", "refresh"]);

// ---------------------------------------------------------------------------------------------
// One RPC request, for WebSocket and HTTP alike
// ---------------------------------------------------------------------------------------------
//
// `ctx` = { transport: "ws" | "http", owner, defaultSession: hex }. Returns the reply bytes, a
// map {error | result, id?, session?} (§2.5); over HTTP without `id`/`session` (§3.1).

async function handleRpc(ctx, bytes) {
	let fields;
	try {
		fields = splitMap(bytes);
	} catch {
		return reply(ctx, { error: E.parse() }); // undecodable: Parse error, no id
	}
	if (!fields) return reply(ctx, { error: E.invalidRequest() });
	const idRaw = fields.has("id") && !isNone(fields.get("id").value) ? fields.get("id").raw : undefined;
	const method = fields.get("method")?.value;
	if (typeof method !== "string") return reply(ctx, { error: E.invalidRequest() });
	const params = Array.isArray(fields.get("params")?.value) ? fields.get("params").value : [];

	// `session`: absent/null/NONE = the connection's default session (§2.4).
	const sessionValue = fields.get("session")?.value;
	let clientSession = null;
	if (sessionValue !== undefined && sessionValue !== null && !isNone(sessionValue)) {
		clientSession = uuidHex(sessionValue);
		if (!clientSession) return reply(ctx, { error: E.invalidRequest() });
	}
	const txnValue = fields.get("txn")?.value;
	const txnHex = txnValue === undefined || txnValue === null || isNone(txnValue) ? null : uuidHex(txnValue);
	const answer = (r) => reply(ctx, { ...r, id: r.noId ? undefined : idRaw, session: clientSession });

	// HTTP has no transactions and no live queries (§3.1 "Methods over HTTP /rpc", §9.2).
	if (ctx.transport === "http") {
		if (["begin", "commit", "cancel"].includes(method)) return answer({ error: E.methodNotFound(method) });
		if (fields.has("txn") && !isNone(txnValue)) return answer({ error: E.methodNotAllowed("unknown") });
		if (method === "live" || method === "kill") return answer({ error: E.liveNotSupported() });
	}

	// `sessions`: the sessions this client attached, not the default one (§9.1, [S3]).
	if (method === "sessions") {
		const mine = [...sessions].filter(([, s]) => s.owner === ctx.owner && s.attached);
		return answer({ result: mine.map(([hex]) => uuidTag(hex)) });
	}
	// `attach` / `detach` name their session in the envelope (§9.1).
	if (method === "attach" && clientSession) {
		await sessions.get(clientSession)?.closing; // its old connection is still cleaning up
		const r = await forward(method, fields, clientSession);
		if (!r.error) sessions.set(clientSession, newSessionState(ctx.owner, true));
		return answer(r);
	}
	if (method === "detach" && clientSession) {
		// Idempotent (§9.1); and never touch another connection's session.
		const state = sessions.get(clientSession);
		if (state?.owner === ctx.owner && state.attached) await detachEngineSession(clientSession);
		return answer({ result: encode(NONE) });
	}
	if (method === "attach" || method === "detach") {
		return answer(await forward(method, fields, null)); // engine: "Expected a session ID"
	}

	// Route to an engine session this connection owns.
	const sessionHex = clientSession ?? ctx.defaultSession;
	const state = sessions.get(sessionHex);
	if (!state || (clientSession && (state.owner !== ctx.owner || !state.attached))) {
		return answer({ error: E.sessionNotFound(sessionHex) });
	}
	// Transactions belong to the connection that began them (§9.2).
	const commitTxn = method === "commit" || method === "cancel" ? uuidHex(params.at(-1)) : null;
	for (const t of [txnHex, commitTxn]) {
		if (t && transactions.get(t) !== ctx.owner) {
			return answer({ error: E.invalidParams("Transaction not found") });
		}
	}

	const release = ["ping", "version", "begin", "commit", "cancel"].includes(method)
		? () => {}
		: await state.lock.acquire(EXCLUSIVE.has(method));
	try {
		if (EXPIRY_CHECKED.has(method) && isExpired(state)) return answer({ error: E.sessionExpired() });
		if (ANONYMOUS_REFUSED.has(method) && !state.authed) return answer({ error: E.anonymous() });
		if (method === "use" && (await useWouldPanic(params, sessionHex))) {
			// The 3.0.x engine panics (and aborts the process) on this; 3.2 answers this error (§4.4).
			const message = "Cannot set database without first selecting a namespace";
			return answer({ error: E.invalidParams(message) });
		}
		if (method === "reset") await killLiveQueries(sessionHex); // §4.4: reset kills live queries

		const r = await forward(method, fields, sessionHex);
		if (commitTxn) transactions.delete(commitTxn); // gone from the engine, whatever the outcome
		if (!r.error) await afterSuccess(ctx, method, sessionHex, r);
		return answer(r);
	} finally {
		release();
	}
}

// Pass the request to the engine, unchanged except for `session` (the engine session to use).
// `id`, `txn` and the rest are forwarded as-is: the engine validates them (§2.4), even though
// it does not echo `id`.
async function forward(method, fields, sessionHex) {
	const request = {};
	for (const [key, { raw }] of fields) {
		if (key !== "session") request[key] = new Encoded(raw);
	}
	if (sessionHex) request.session = uuidTag(sessionHex);
	try {
		return splitReply(await engine.execute(encode(request)));
	} catch (err) {
		return thrownToError(err);
	}
}

// `use [ns, db]` where db is a string and no namespace would be selected (§4.4).
async function useWouldPanic(params, sessionHex) {
	if (params.length !== 2 || typeof params[1] !== "string") return false;
	if (params[0] === null) return true;
	if (!isNone(params[0])) return false;
	const reply = await engineCall("query", ["RETURN $session"], sessionHex);
	return isNone(resultValue(reply)?.[0]?.result?.ns);
}

// Bookkeeping after a method succeeded.
async function afterSuccess(ctx, method, sessionHex, r) {
	const state = sessions.get(sessionHex);
	if (AUTHENTICATING.has(method)) {
		state.authed = true;
		await refreshExpiry(sessionHex);
	} else if (method === "invalidate" || method === "reset") {
		// Anonymous again; the expiry stays (§7.9: neither clears `exp` on the real server,
		// while the 3.0.2 engine does clear it, so it is not re-read here).
		state.authed = false;
	} else if (method === "begin") {
		transactions.set(uuidHex(resultValue(r)), ctx.owner);
	} else if (method === "live") {
		state.lqs.add(uuidHex(resultValue(r)));
	} else if (method === "query") {
		// LIVE SELECT inside a query: statement results of type "live" carry the id (§6.5).
		const statements = resultValue(r);
		for (const st of Array.isArray(statements) ? statements : []) {
			if (st?.type === "live" && st.status === "OK") state.lqs.add(uuidHex(st.result));
		}
		// DEVIATION: over HTTP the real server refuses LIVE inside a query; the engine cannot be
		// told so, so such live queries are killed right away (when the request's session goes).
	}
}

function reply(ctx, { error, result, id, session }) {
	const message = {};
	if (error !== undefined) message.error = error instanceof Uint8Array ? new Encoded(error) : error;
	if (ctx.transport === "ws" && id !== undefined) message.id = new Encoded(id);
	if (result !== undefined) message.result = result instanceof Uint8Array ? new Encoded(result) : result;
	if (ctx.transport === "ws" && session) message.session = uuidTag(session);
	return encode(message);
}

// ---------------------------------------------------------------------------------------------
// Authentication from HTTP headers (§2.1, §3.2)
// ---------------------------------------------------------------------------------------------
//
// The real server's auth middleware builds a session from `Authorization` (Bearer token, or
// Basic credentials checked at the level named by `Surreal-Auth-NS`/`Surreal-Auth-DB`) and
// `Surreal-NS`/`Surreal-DB`. Here the same is done on an engine session with the engine's own
// `authenticate`/`signin`/`use`. Returns { problem: the text of a 401 (§3.5) or null, authed }.
async function applyHeaders(headers, sessionHex) {
	const authorization = headers.authorization ?? "";
	let reply = null;
	const [scheme, credentials = ""] = authorization.split(/\s+/, 2);
	if (/^bearer$/i.test(scheme)) {
		reply = await engineCall("authenticate", [credentials], sessionHex);
	} else if (/^basic$/i.test(scheme)) {
		const decoded = Buffer.from(credentials, "base64").toString("utf8");
		const colon = decoded.indexOf(":");
		if (colon < 0) return { problem: "There was a problem with authentication", authed: false };
		const vars = { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
		if (headers["surreal-auth-ns"]) vars.NS = headers["surreal-auth-ns"];
		if (headers["surreal-auth-ns"] && headers["surreal-auth-db"]) vars.DB = headers["surreal-auth-db"];
		reply = await engineCall("signin", [vars], sessionHex);
	}
	if (reply?.error) {
		const problem = reply.errorValue?.message ?? "There was a problem with authentication";
		return { problem, authed: false };
	}
	if (reply && sessionHex) {
		sessions.get(sessionHex).authed = true;
		await refreshExpiry(sessionHex);
	}
	// DEVIATION: the real middleware only selects ns/db; the engine's `use` also creates them.
	// A database without a namespace is left unselected (the query then says NamespaceEmpty).
	const ns = headers["surreal-ns"];
	if (ns) await engineCall("use", [ns, headers["surreal-db"] ?? NONE], sessionHex);
	return { problem: null, authed: reply !== null };
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

const mediaType = (value) => (value ?? "").split(";")[0].trim().toLowerCase();

function send(res, status, body = "", type = "text/plain; charset=utf-8") {
	const headers = { "content-length": Buffer.byteLength(body) };
	if (body.length > 0) headers["content-type"] = type;
	res.writeHead(status, headers);
	res.end(body);
}

// The real server's JSON `ErrorMessage` (§3.5).
const BAD_REQUEST = "Request problems dectected"; // [sic]: the real server's spelling
function sendErrorMessage(res, status, details, description, information = null) {
	send(res, status, JSON.stringify({ code: status, details, description, information }), "application/json");
}

// The whole body, or null when it is over `limit` (then it is read to the end and dropped, so
// that the client, still sending, gets the 413 instead of a reset connection).
async function readBody(req, limit) {
	const chunks = [];
	let size = 0;
	for await (const chunk of req) {
		size += chunk.length;
		if (size <= limit) chunks.push(chunk);
	}
	return size > limit ? null : Buffer.concat(chunks);
}

// A fresh engine session for one stateless HTTP request, built from its headers, gone after.
async function withRequestSession(req, res, fn) {
	const owner = { kind: "http-request" };
	const hex = await attachEngineSession(owner, false);
	try {
		const { problem } = await applyHeaders(req.headers, hex);
		if (problem !== null) return send(res, 401, problem); // §3.5: plain text
		return await fn(hex);
	} finally {
		await detachEngineSession(hex);
	}
}

async function handleHttp(req, res) {
	// Identification headers, as `surreal start` sends them (§3.2).
	res.setHeader("server", "SurrealDB");
	res.setHeader("surreal-version", ENGINE_VERSION);
	const url = new URL(req.url, "http://localhost");
	const route = `${req.method} ${url.pathname}`;

	if (route === "GET /health" || route === "GET /status") return send(res, 200);
	if (route === "GET /version") return send(res, 200, ENGINE_VERSION);

	if (route === "POST /rpc") {
		// §3.1: Content-Type must be a format we speak, and Accept absent or the same.
		// DEVIATION: only CBOR; `application/json` (which the real server speaks) is a 415 too.
		const type = mediaType(req.headers["content-type"]);
		const accept = req.headers.accept === undefined ? type : mediaType(req.headers.accept);
		if (type !== "application/cbor" || accept !== type) {
			return sendErrorMessage(res, 415, "Unsupported media type",
				"The request needs to be sent with a 'Content-Type' header with a value of 'application/cbor'");
		}
		const body = await readBody(req, MAX_RPC_BODY);
		if (body === null) return send(res, 413, "Failed to buffer the request body: length limit exceeded");
		return withRequestSession(req, res, async (hex) => {
			// Sessions attached over HTTP persist between requests (§9.3); the per-request
			// session is the "default" one.
			const out = await handleRpc({ transport: "http", owner: HTTP_OWNER, defaultSession: hex }, body);
			res.writeHead(200, { "content-type": "application/cbor", "content-length": out.length });
			res.end(out);
		});
	}

	if (route === "POST /import") {
		const body = await readBody(req, MAX_IMPORT_BODY);
		if (body === null) return send(res, 413, "Failed to buffer the request body: length limit exceeded");
		return withRequestSession(req, res, async (hex) => {
			const state = sessions.get(hex);
			if (!state.authed) {
				return sendErrorMessage(res, 403, "Forbidden", "Not allowed to do this.", ANONYMOUS_MESSAGE);
			}
			// The real handler runs the text with `Datastore::import` and answers the statement
			// results (§3.3). The engine's own `import` answers nothing and hides statement
			// errors, so the text runs as a `query` in the request's session instead (an export
			// starts with `OPTION IMPORT;`, which puts the rest of the query in import mode).
			const r = await engineCall("query", [body.toString("utf8")], hex);
			if (r.error) return sendErrorMessage(res, 400, BAD_REQUEST, r.errorValue.message);
			if (mediaType(req.headers.accept) === "application/cbor") {
				res.writeHead(200, { "content-type": "application/cbor" });
				return res.end(r.result);
			}
			return send(res, 200, JSON.stringify(toSimpleJson(decode(r.result))), "application/json");
		});
	}

	if (url.pathname === "/export" && (req.method === "GET" || req.method === "POST")) {
		const body = await readBody(req, 1 << 20);
		let config;
		if (body && body.length > 0) {
			try {
				config = encode(JSON.parse(body.toString("utf8")));
			} catch {
				return sendErrorMessage(res, 400, BAD_REQUEST, "Invalid export options");
			}
		}
		// The engine's `export` always uses its own default session, so that session is set
		// up from the request's headers (one export at a time) and reset afterwards.
		return exportLock(async () => {
			try {
				const { problem, authed } = await applyHeaders(req.headers, null);
				if (problem !== null) return send(res, 401, problem);
				if (!authed) {
					return sendErrorMessage(res, 403, "Forbidden", "Not allowed to do this.", ANONYMOUS_MESSAGE);
				}
				send(res, 200, await engine.export(config), "text/plain; charset=utf-8");
			} catch (err) {
				sendErrorMessage(res, 400, BAD_REQUEST, String(err?.message ?? err));
			} finally {
				await engineCall("reset", [], null).catch(() => {});
			}
		});
	}

	if (url.pathname === "/rpc") return send(res, 405, "Method Not Allowed");
	return send(res, 404, "Not Found");
}

let exportQueue = Promise.resolve();
function exportLock(fn) {
	const run = exportQueue.then(fn, fn);
	exportQueue = run.catch(() => {});
	return run;
}

// The real server's "simplified JSON" for results (§5.5), used by POST /import.
function toSimpleJson(v) {
	if (v instanceof Tagged) {
		const x = v.value;
		switch (v.tag) {
			case 6: return null; // NONE
			case 8: { // record id -> "table:key"
				const key = typeof x[1] === "string" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(x[1])
					? `⟨${x[1]}⟩`
					: typeof x[1] === "object" ? JSON.stringify(toSimpleJson(x[1])) : String(x[1]);
				return `${x[0]}:${key}`;
			}
			case 12: // datetime [secs, nanos]
				return new Date(Number(x[0]) * 1000 + Math.floor(Number(x[1] ?? 0) / 1e6)).toISOString();
			case 14: { // duration [secs, nanos]
				const secs = Number(x[0] ?? 0);
				const nanos = Number(x[1] ?? 0);
				if (secs === 0 && nanos === 0) return "0ns";
				return `${secs ? `${secs}s` : ""}${nanos ? `${nanos}ns` : ""}`;
			}
			case 37: return uuidText(Buffer.from(x).toString("hex"));
			default: return toSimpleJson(x); // table, decimal, strings, geometries...
		}
	}
	if (typeof v === "bigint") return Number(v);
	if (v instanceof ArrayBuffer) return [...new Uint8Array(v)];
	if (Array.isArray(v)) return v.map(toSimpleJson);
	if (v && typeof v === "object") {
		return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toSimpleJson(x)]));
	}
	return v ?? null;
}

// ---------------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------------

// No permessage-deflate: the real server does not compress (and neither may we).
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_MESSAGE,
	handleProtocols: (protocols) => (protocols.has("cbor") ? "cbor" : false) });
wss.on("headers", (headers) => headers.push("server: SurrealDB", `surreal-version: ${ENGINE_VERSION}`));

/** connection id hex -> WebSocket, for notification routing */
const connections = new Map();

function rejectUpgrade(socket, status, reason, body) {
	socket.end(
		`HTTP/1.1 ${status} ${reason}\r\nserver: SurrealDB\r\ncontent-type: text/plain; charset=utf-8\r\n` +
			`content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
	);
}

async function handleUpgrade(req, socket, head) {
	socket.on("error", () => {});
	const { pathname } = new URL(req.url, "http://localhost");
	if (pathname !== "/rpc") return rejectUpgrade(socket, 404, "Not Found", "Not Found");
	// §2.2: the real server falls back to JSON when `cbor` is not offered. This server only
	// speaks CBOR, so it refuses such a client with 400 instead (DEVIATION, documented).
	const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
	if (!offered.includes("cbor")) {
		const text = "This server only speaks the `cbor` WebSocket subprotocol";
		return rejectUpgrade(socket, 400, "Bad Request", text);
	}
	// The connection's default session, authenticated from the upgrade's headers (§2.1).
	const owner = { kind: "ws" };
	const connId = await attachEngineSession(owner, false);
	const { problem } = await applyHeaders(req.headers, connId);
	if (problem !== null) {
		await detachEngineSession(connId);
		return rejectUpgrade(socket, 401, "Unauthorized", problem);
	}
	if (socket.destroyed) return detachEngineSession(connId);
	wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, owner, connId));
}

function onConnection(ws, owner, connId) {
	const ctx = { transport: "ws", owner, defaultSession: connId };
	owner.ws = ws;
	connections.set(connId, ws);
	const ping = PING_INTERVAL_MS > 0 ? setInterval(() => ws.ping(), PING_INTERVAL_MS) : null;

	ws.on("message", async (data) => {
		// Text and binary frames are both accepted and decoded as CBOR (§2.3); answers are binary.
		const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data);
		let out;
		try {
			out = await handleRpc(ctx, bytes);
		} catch (err) {
			out = reply(ctx, { error: E.internal(String(err?.message ?? err)) });
		}
		if (ws.readyState === ws.OPEN) ws.send(out, { binary: true });
	});
	ws.on("error", () => {});
	ws.on("close", () => {
		if (ping) clearInterval(ping);
		connections.delete(connId);
		// Nothing survives a disconnect (§2.9): live queries, sessions, transactions.
		// `closing` lets an `attach` of the same UUID on a new connection wait for this.
		const mine = [...sessions].filter(([, s]) => s.owner === owner).map(([hex]) => hex);
		const cleanup = Promise.resolve().then(async () => {
			for (const [txn, o] of transactions) {
				if (o !== owner) continue;
				transactions.delete(txn);
				await engineCall("cancel", [uuidTag(txn)], null).catch(() => {});
			}
			for (const hex of mine) await detachEngineSession(hex);
		});
		for (const hex of mine) sessions.get(hex).closing = cleanup;
	});
}

// Live notifications (§8.2). The engine emits every notification of the process on one channel,
// each with `session` = the engine session that owns the live query. Route it to the connection
// owning that session, as `{result: <notification>}`, plus a top-level `session` when the
// session is one the client attached. Notifications of sessions no connection owns (HTTP, gone)
// and of live queries the front killed are dropped.
// Engine quirks (not ours to fix): writes inside an RPC transaction (`begin`/`txn`) send no
// notifications; the order of notifications for consecutive writes is not guaranteed.
async function pumpNotifications() {
	const receiver = await engine.notifications();
	for (;;) {
		const bytes = await receiver.recv();
		if (bytes === null) return;
		try {
			const fields = splitMap(bytes);
			const sessionHex = uuidHex(fields.get("session")?.value);
			const state = sessionHex && sessions.get(sessionHex);
			if (!state?.owner.ws || deadLiveQueries.has(uuidHex(fields.get("id")?.value))) continue;
			const message = { result: new Encoded(bytes) };
			if (state.attached) message.session = uuidTag(sessionHex);
			const ws = state.owner.ws;
			if (ws.readyState === ws.OPEN) ws.send(encode(message), { binary: true });
		} catch (err) {
			console.error("notification dropped:", err);
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Start-up and shut-down
// ---------------------------------------------------------------------------------------------

// The root user of `--user/--pass`, like `surreal start --user --pass` (kept if it exists, so a
// restart on surrealkv storage finds the same user).
{
	const ident = `\`${opts.user.replace(/[`\\]/g, "")}\``;
	const define = await engineCall("query", [
		`DEFINE USER IF NOT EXISTS ${ident} ON ROOT PASSWORD ${JSON.stringify(opts.pass)} ROLES OWNER`,
	], null);
	if (define.error || resultValue(define)?.[0]?.status !== "OK") {
		console.error("could not define the root user:", define.errorValue ?? resultValue(define));
		process.exit(1);
	}
}
pumpNotifications().catch((err) => console.error("notifications stopped:", err));

const tls = opts["tls-cert"] && opts["tls-key"]
	? { cert: readFileSync(opts["tls-cert"]), key: readFileSync(opts["tls-key"]) }
	: null;
const handler = (req, res) =>
	handleHttp(req, res).catch((err) => {
		console.error(err);
		if (!res.headersSent) send(res, 500, "Internal Server Error");
	});
const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
server.on("upgrade", (req, socket, head) => {
	handleUpgrade(req, socket, head).catch((err) => {
		console.error(err);
		socket.destroy();
	});
});
server.on("error", (err) => {
	console.error(`cannot listen on ${HOST}:${opts.port}: ${err.message}`);
	process.exit(1);
});
server.listen(Number(opts.port), HOST, () => {
	process.stdout.write(`LISTENING ${HOST}:${server.address().port}\n`);
});

// Close cleanly so that surrealkv storage is flushed before the process ends.
let stopping = false;
async function shutdown() {
	if (stopping) return;
	stopping = true;
	server.close();
	for (const ws of connections.values()) ws.terminate();
	server.closeAllConnections?.();
	await engine.free();
	process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
