/* admin-ui.js: what the admin pages share: the page's frame (a heading
 * that takes the focus, a way back), error boxes, tables that scroll
 * inside themselves on a narrow screen, and the words for the API's
 * values. Every value goes in as text (dom.js's h). */
import { $, h, clear, showError } from "./dom.js";
import { PREFIX } from "./api.js";

export const ADMIN = PREFIX + "/admin";

export const KINDS = [
	{ value: "to", label: "To" },
	{ value: "cc", label: "Cc" },
	{ value: "bcc", label: "Bcc" },
];

export function kindLabel(k) {
	const x = KINDS.find((t) => t.value === k);
	return x ? x.label : String(k || "");
}

/* Clears the admin view and starts a page: its title (the h1, which
 * takes the focus once the page is drawn) and an optional way back. */
export function startPage(title, back) {
	const host = $("admin-host");
	clear(host);
	document.title = title + " - Front desk";
	if (back)
		host.append(h("p", { class: "back" }, h("a", { href: back.href,
		    "data-nav": true, id: "admin-back" }, "\u2190 " + back.text)));
	host.append(h("h1", { id: "admin-title", tabindex: "-1" }, title));
	return host;
}

export function focusTitle() {
	const t = $("admin-title");
	if (t)
		t.focus();
}

/* A page that could not load: the reason, in place of its content. */
export function pageError(title, e, back) {
	const host = startPage(title, back);
	host.append(h("div", { class: "error-box", role: "alert" },
	    e.status === 404 ? "Not found. It may have been renamed or " +
	    "removed." : e.message));
}

export function errorBox(id) {
	return h("div", { class: "error-box", role: "alert", tabindex: "-1",
	    id, hidden: true });
}

/* An API error into box, the focus on it; a 401 shows sign-in itself. */
export function fail(box, e) {
	if (e.status === 401)
		return;
	showError(box, e.message);
	box.focus();
}

/* A data table in a region that scrolls sideways on its own when it is
 * wider than the screen (so the page never does), reachable by keyboard;
 * on a phone its rows become blocks, each cell under its column's title
 * (data-label, shown by the stylesheet). head: the column titles; rows:
 * arrays of cells, or {attrs, cells} (a cell is text, a node, {th:
 * content} for the row's header, or {action: button}, a cell of controls
 * that needs no title). */
export function table(id, caption, head, rows, cls = "") {
	const body = h("tbody");
	for (const r of rows) {
		const tr = h("tr", r.attrs || null);
		(r.cells || r).forEach((c, i) => {
			const o = c && typeof c === "object" && !(c instanceof Node);
			if (o && "th" in c)
				tr.append(h("th", { scope: "row", "data-label": head[i] },
				    c.th));
			else if (o && "action" in c)
				tr.append(h("td", { class: "actions" }, c.action));
			else
				tr.append(h("td", { "data-label": head[i] }, c));
		});
		body.append(tr);
	}
	return h("div", { class: "table-scroll", tabindex: "0", role: "region",
	    "aria-labelledby": id + "-caption" },
	    h("table", { class: "grid admin-table " + cls, id },
		h("caption", { id: id + "-caption" }, caption),
		h("thead", null, h("tr", null, head.map((t) =>
		    h("th", { scope: "col" }, t)))),
		body));
}

/* "not given"-style text for what is empty. */
export function none(text) {
	return h("span", { class: "none" }, text);
}

export function addressList(list) {
	if (!Array.isArray(list) || !list.length)
		return none("nobody");
	return h("ul", { class: "addresses" }, list.map((a) =>
	    h("li", null, h("code", null, a))));
}

/* A short summary of a location's next_email, for the list of them. */
export function nextSummary(n) {
	if (!n)
		return none("unknown");
	const parts = [];
	for (const k of KINDS)
		if (Array.isArray(n[k.value]) && n[k.value].length)
			parts.push(k.label + ": " + n[k.value].join(", "));
	if (!parts.length)
		return h("span", { class: "warn-text" }, "Nobody: its email " +
		    "cannot be delivered");
	return h("span", null, parts.join("; "), n.default ?
	    h("span", { class: "none" }, " (the clinic's default address)") :
	    null);
}

export const ACTIONS = {
	sign_in: "Signed in",
	sign_in_failed: "Sign-in failed",
	sign_out: "Signed out",
	lockout: "Account locked",
	view: "Opened a request",
	export: "Downloaded a list",
	triage: "Changed triage",
	note: "Added a note",
	resend: "Resent the email",
	unspam: "Marked not spam",
	location_add: "Added a location",
	location_change: "Changed a location",
	route_add: "Added a route",
	route_remove: "Removed a route",
	outbox_retry: "Retried an email",
	user_add: "Added an account",
	user_change: "Changed an account",
	user_passwd: "Changed a password",
	user_reset_2fa: "Reset a second factor",
	second_factor_enrol: "Set up a second factor",
};

export function actionLabel(a) {
	return ACTIONS[a] || String(a || "");
}

/* A detail ("key: value" pairs joined by "; ", values as JSON, a change
 * as "key: old -> new") split into its pairs, never inside a quoted
 * value. */
export function detailParts(detail) {
	const s = String(detail || "");
	const out = [];
	let cur = "", quoted = false;
	for (let i = 0; i < s.length; i++) {
		const c = s[i];
		if (quoted && c === "\\" && i + 1 < s.length) {
			cur += c + s[++i];
			continue;
		}
		if (c === "\"")
			quoted = !quoted;
		if (!quoted && c === ";" && s[i + 1] === " ") {
			out.push(cur);
			cur = "";
			i++;
			continue;
		}
		cur += c;
	}
	if (cur)
		out.push(cur);
	return out;
}

export function secondFactorLabel(v) {
	return v === "on" ? "On" : v === "enrol" ?
	    "Not set up yet (needed at sign-in)" : "Off";
}
