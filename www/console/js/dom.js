/* dom.js: building the page from data without ever parsing it as HTML
 * (every value goes in as text), times in the browser's own zone, and the
 * one polite status line. */

/* h("p", {class: "x"}, "text", child, ...): an element; attributes that
 * are null, undefined or false are left out, true sets an empty one. */
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k.startsWith("on") && typeof v === "function")
			el.addEventListener(k.slice(2), v);
		else
			el.setAttribute(k, v === true ? "" : String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : document.createTextNode(
			    String(c)));
	}
}

export function $(id) {
	return document.getElementById(id);
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
}

let statusTimer = null;
/* A short message in the status line (announced politely). */
export function announce(text) {
	const el = $("status");
	clearTimeout(statusTimer);
	el.textContent = "";
	/* a new text node, so the same message twice is announced twice */
	requestAnimationFrame(() => {
		el.textContent = text;
	});
	statusTimer = setTimeout(() => {
		el.textContent = "";
	}, 8000);
}

export function showError(el, text) {
	el.textContent = text;
	el.hidden = !text;
}

/* -- times: always the browser's zone, and the zone named */
export const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const full = new Intl.DateTimeFormat(undefined, {
	weekday: "short", year: "numeric", month: "short", day: "numeric",
	hour: "numeric", minute: "2-digit", timeZoneName: "short",
});
const dayOnly = new Intl.DateTimeFormat(undefined, {
	month: "short", day: "numeric",
});
const dayYear = new Intl.DateTimeFormat(undefined, {
	year: "numeric", month: "short", day: "numeric",
});
const clock = new Intl.DateTimeFormat(undefined, {
	hour: "numeric", minute: "2-digit",
});
const dayKey = new Intl.DateTimeFormat("en-CA", {
	year: "numeric", month: "2-digit", day: "2-digit",
});

function parse(iso) {
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? null : d;
}

/* "Tue, Dec 1, 2026, 5:03 PM EST" */
export function fullTime(iso) {
	const d = parse(iso);
	return d ? full.format(d) : String(iso || "");
}

/* For a list: the time today, the day this year, else the date. */
export function shortTime(iso) {
	const d = parse(iso);
	if (!d)
		return String(iso || "");
	const now = new Date();
	if (dayKey.format(d) === dayKey.format(now))
		return clock.format(d);
	if (d.getFullYear() === now.getFullYear())
		return dayOnly.format(d) + ", " + clock.format(d);
	return dayYear.format(d);
}

/* <time datetime=ISO title=full>text</time> */
export function timeEl(iso, text) {
	return h("time", { datetime: iso || null, title: fullTime(iso) },
	    text === undefined ? fullTime(iso) : text);
}

export function zoneNote() {
	return "Times are shown in your browser's time zone, " + ZONE + ".";
}

/* m:ss */
export function minutes(seconds) {
	const s = Math.max(0, Math.ceil(seconds));
	return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

export const TRIAGE = [
	{ value: "new", label: "New", keys: ["1", "n"] },
	{ value: "contacted", label: "Contacted", keys: ["2", "c"] },
	{ value: "scheduled", label: "Scheduled", keys: ["3", "s"] },
	{ value: "closed", label: "Closed", keys: ["4", "x"] },
];

export function triageLabel(v) {
	const t = TRIAGE.find((x) => x.value === v);
	return t ? t.label : String(v || "");
}

export const DELIVERY = {
	pending: "Email pending",
	sent: "Email sent",
	dead: "Email failed",
};

export function deliveryLabel(v, status) {
	if (status === "spam")
		return "Spam: not emailed";
	return DELIVERY[v] || (v ? "Email " + v : "No email");
}
