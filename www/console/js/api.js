/* api.js: every call the pages make goes through here, to PREFIX/api. It
 * adds the CSRF token to every POST, PATCH and DELETE, marks background
 * polls (X-Background: 1, which the console does not count as activity),
 * records a person's activity for the idle timer, and tells the app when
 * the session is gone (401). The pages decide no access: the API does. */

/* PREFIX: this file lives at PREFIX/js/api.js. */
export const PREFIX = new URL("..", import.meta.url).pathname
    .replace(/\/$/, "");
export const API = PREFIX + "/api";

const ACTIVITY_KEY = "frontdesk.console.activity";

let csrf = "";
let onSignedOut = null;
let onActivity = null;

export function setCsrf(token) {
	csrf = typeof token === "string" ? token : "";
}

/* fn(): called once for each answer that says the session is gone. */
export function whenSignedOut(fn) {
	onSignedOut = fn;
}

/* fn(ms): called when a person's request was sent. */
export function whenActivity(fn) {
	onActivity = fn;
}

/* The last time a person used the console in this browser, across tabs:
 * the tabs share the cookie, so they share the session's idle time. */
export function lastActivity() {
	const v = Number(localStorage.getItem(ACTIVITY_KEY));
	return Number.isFinite(v) ? v : 0;
}

export function markActivity(ms = Date.now()) {
	try {
		if (ms > lastActivity())
			localStorage.setItem(ACTIVITY_KEY, String(ms));
	} catch (e) {
		/* storage full or off: this tab's timer still runs */
	}
	if (onActivity)
		onActivity(ms);
}

export class ApiError extends Error {
	constructor(status, message, data) {
		super(message);
		this.status = status;
		this.data = data;
	}
}

/* One call. opts: body (sent as JSON), background (a poll), quiet401 (the
 * caller handles a 401 itself: sign-in, the first GET /me). Resolves to
 * the parsed JSON (null for 204); rejects with an ApiError. */
export async function call(method, path, opts = {}) {
	const headers = { Accept: "application/json" };
	const init = { method, headers, credentials: "same-origin",
	    cache: "no-store", redirect: "error" };
	if (opts.body !== undefined) {
		headers["Content-Type"] = "application/json";
		init.body = JSON.stringify(opts.body);
	}
	if (method !== "GET" && method !== "HEAD" && csrf)
		headers["X-CSRF-Token"] = csrf;
	if (opts.background)
		headers["X-Background"] = "1";
	else
		markActivity();
	let r;
	try {
		r = await fetch(API + path, init);
	} catch (e) {
		throw new ApiError(0, "The console could not be reached. " +
		    "Check the connection and try again.", null);
	}
	let data = null;
	const type = r.headers.get("Content-Type") || "";
	if (r.status !== 204 && /json/.test(type)) {
		try {
			data = await r.json();
		} catch (e) {
			data = null;
		}
	}
	if (r.ok)
		return data;
	if (r.status === 401 && !opts.quiet401 && onSignedOut)
		onSignedOut();
	throw new ApiError(r.status, explain(r.status, data), data);
}

function explain(status, data) {
	const why = data && typeof data.error === "string" ? data.error : "";
	switch (status) {
	case 400: return why ? "That was not accepted: " + why + "." :
	    "That was not accepted.";
	case 401: return "You are signed out.";
	case 403: return why ? "Not allowed: " + why + "." :
	    "Your account may not do that.";
	case 404: return "Not found. It may not exist, or it belongs to " +
	    "a location you do not work with.";
	case 409: return why ? "Not done: " + why + "." :
	    "Not done: it conflicts with what is stored.";
	case 429: return "Too many attempts. Wait a moment and try again.";
	default:
		if (status >= 500)
			return "The console had a problem (HTTP " + status +
			    "). Try again in a moment.";
		return why || "HTTP " + status;
	}
}

/* Some answers use 401 for a wrong password too (POST /me/password,
 * POST /me/2fa): after one of those, ask whether the session lives. False
 * (and the app told) when it is gone. */
export async function stillSignedIn() {
	try {
		await call("GET", "/me", { background: true, quiet401: true });
		return true;
	} catch (e) {
		if (e.status !== 401)
			return true;
		if (onSignedOut)
			onSignedOut();
		return false;
	}
}

/* A query string from an object, leaving out empty values. */
export function query(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v !== undefined && v !== null && v !== "")
			q.set(k, v);
	const s = q.toString();
	return s ? "?" + s : "";
}
