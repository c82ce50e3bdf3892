/* request.js: one request, whole: every field, when it arrived, its
 * delivery attempts, triage, notes, history, resend, and for the
 * honeypot's catch "not spam". Every value is put in as text. */
import { $, h, clear, announce, showError, timeEl, TRIAGE,
    triageLabel, deliveryLabel } from "./dom.js";
import { call, PREFIX } from "./api.js";

const NOTE_MAX = 2000;

/* Keys of the whole request shown in their own place; any other key the
 * API gives is listed under "Other fields", so nothing stored is hidden. */
const FIELDS = [
	["first_name", "First name"],
	["last_name", "Last name"],
	["email", "Email"],
	["phone", "Phone"],
	["location", "Location"],
	["service", "Service or condition"],
	["preferred_time", "Preferred days and times"],
	["message", "Message"],
	["consent", "May be contacted"],
];
const PLACED = new Set(FIELDS.map((f) => f[0]).concat(["reference",
    "created_at", "status", "delivery", "triage", "unread", "notes",
    "history", "deliveries", "submission_id", "location_name"]));

const OUTCOME = {
	sent: "Sent",
	retry: "Failed, will retry",
	dead: "Failed for good",
};

const ACTION = {
	triage: "Triage changed",
	note: "Note added",
	resend: "Email resent",
	unspam: "Marked not spam",
};

let current = null;	/* the request shown */
let me = null;

export async function showRequest(caller, ref) {
	me = caller;
	const host = $("request-host");
	clear(host);
	current = null;
	document.title = ref + " - Front desk";
	host.append(h("h1", { id: "request-title", tabindex: "-1" }, ref));
	let r;
	try {
		r = await call("GET", "/requests/" + encodeURIComponent(ref));
	} catch (e) {
		if (e.status === 401)
			return;
		clear(host);
		host.append(h("h1", { id: "request-title", tabindex: "-1" },
		    e.status === 404 ? "Request not found" :
			"This request could not be opened"),
		    h("div", { class: "error-box", role: "alert" },
			e.status === 404 ? "There is no request " + ref +
			" in your locations. Check the reference, or ask an " +
			"admin." : e.message));
		$("request-title").focus();
		return;
	}
	render(r);
	$("request-title").focus();
}

export function forgetRequest() {
	current = null;
	me = null;
	clear($("request-host"));
}

function locationName(slug) {
	if (current && current.location === slug && current.location_name)
		return current.location_name;
	const l = me && me.locations.find((x) => x.slug === slug);
	return l ? l.name : slug;
}

function fullName(r) {
	return [r.first_name, r.last_name].filter(Boolean).join(" ") ||
	    "(no name)";
}

/* Re-renders; keep: the id of the element to give the focus back to. */
function render(r, keep) {
	current = r;
	const host = $("request-host");
	clear(host);
	document.title = r.reference + " " + fullName(r) + " - Front desk";
	host.append(...[
	    h("div", { class: "req-head" },
		h("h1", { id: "request-title", tabindex: "-1" }, fullName(r),
		    " ", h("span", { class: "ref" }, r.reference)),
		h("p", { class: "req-meta" },
		    locationName(r.location), " \u00b7 received ",
		    timeEl(r.created_at), " \u00b7 ",
		    h("span", { class: "badge triage-" + r.triage },
			triageLabel(r.triage)), " ",
		    h("span", { class: "badge delivery-" + (r.status === "spam" ?
			"spam" : r.delivery || "none") },
			deliveryLabel(r.delivery, r.status))),
		triageBox(r)),
	    r.status === "spam" ? spamBox(r) : null,
	    r.status !== "spam" && r.delivery === "dead" ? deadBox(r) : null,
	    h("div", { class: "req-grid" },
		h("div", { class: "req-main" }, details(r), arrival(r),
		    deliveries(r)),
		h("div", { class: "req-side" }, notes(r), history(r)))]
	    .filter(Boolean));
	/* what had the focus may be gone (a resend from the failed box):
	 * the title then */
	if (keep)
		($(keep) || $("request-title")).focus();
}

function spamBox(r) {
	return h("div", { class: "spam-box", role: "note" },
	    h("p", null, h("strong", null, "The form's honeypot caught this " +
		"request as spam."), " It was stored but not emailed. If a " +
		"person sent it, mark it not spam: it then joins the inbox " +
		"and its email is sent."),
	    h("button", { type: "button", id: "unspam", onclick: () =>
		act("POST", "/unspam", "unspam", "Marked not spam; the " +
		"email is on its way.", true) }, "Not spam"));
}

/* The email to the front desk failed for good: nobody was told by mail,
 * so the page says so plainly, at the top, with the server's reason. */
function deadBox(r) {
	const list = Array.isArray(r.deliveries) ? r.deliveries : [];
	const last = list.filter((d) => d.outcome === "dead").pop();
	return h("div", { class: "dead-box", id: "delivery-dead", role: "note",
	    "aria-labelledby": "delivery-dead-title" },
	    h("p", null, h("strong", { id: "delivery-dead-title" }, "The email " +
		"about this request could not be delivered."), " Nobody at the " +
		"front desk was told by email. Contact the patient from this " +
		"page, and tell an admin: the location's email address may be " +
		"wrong."),
	    last && last.reply ? h("p", null, "The mail server said: ",
		h("code", { class: "reply" }, last.reply)) : null,
	    h("p", { class: "dead-actions" },
		h("button", { type: "button", id: "resend-dead", onclick: () =>
		    act("POST", "/resend", "resend-dead", "A new email to the " +
		    "front desk is queued.", true) }, "Send the email again"),
		me && me.role === "admin" ? h("a", { href: PREFIX +
		    "/admin/mail", "data-nav": true }, "Failed mail") : null));
}

function value(k, v) {
	if (v === null || v === undefined || v === "")
		return h("span", { class: "none" }, "not given");
	if (k === "email")
		return h("a", { href: "mailto:" + v }, v);
	if (k === "phone")
		return h("a", { href: "tel:" + String(v).replace(/[^0-9+]/g,
		    "") }, v);
	if (k === "consent")
		return v === true ? "Yes" : "No";
	if (k === "location")
		return locationName(v);
	if (k === "message")
		return h("span", { class: "pre" }, v);
	if (typeof v === "object")
		return h("code", null, JSON.stringify(v));
	return String(v);
}

function details(r) {
	const dl = h("dl", { class: "fields" });
	for (const [k, label] of FIELDS)
		dl.append(h("div", { class: "kv" + (k === "message" ?
		    " wide" : "") }, h("dt", null, label),
		    h("dd", null, value(k, r[k]))));
	const extra = Object.keys(r).filter((k) => !PLACED.has(k));
	for (const k of extra)
		dl.append(h("div", { class: "kv" }, h("dt", null, k),
		    h("dd", null, value(k, r[k]))));
	return h("section", { "aria-labelledby": "fields-title" },
	    h("h2", { id: "fields-title" }, "The request"), dl);
}

function arrival(r) {
	return h("section", { "aria-labelledby": "arrival-title" },
	    h("h2", { id: "arrival-title" }, "How it arrived"),
	    h("dl", { class: "fields" },
		h("div", { class: "kv" }, h("dt", null, "Received"),
		    h("dd", null, timeEl(r.created_at))),
		h("div", { class: "kv" }, h("dt", null, "Through"),
		    h("dd", null, r.status === "spam" ? "The web form, " +
		    "caught by its honeypot" : "The web form")),
		h("div", { class: "kv" }, h("dt", null, "Reference"),
		    h("dd", null, h("code", null, r.reference))),
		h("div", { class: "kv" }, h("dt", null, "Form's key"),
		    h("dd", null, r.submission_id ? h("code", null,
		    r.submission_id) : h("span", { class: "none" },
		    "none sent")))));
}

function deliveries(r) {
	const list = Array.isArray(r.deliveries) ? r.deliveries : [];
	const sec = h("section", { "aria-labelledby": "deliveries-title" },
	    h("h2", { id: "deliveries-title" }, "Email to the front desk"),
	    h("p", null, deliveryLabel(r.delivery, r.status), "."));
	if (list.length) {
		const body = h("tbody");
		for (const d of list)
			body.append(h("tr", { class: "outcome-" + d.outcome },
			    h("td", null, timeEl(d.at)),
			    h("td", null, OUTCOME[d.outcome] || d.outcome),
			    h("td", null, d.reply ? h("code", { class: "reply" },
				d.reply) : h("span", { class: "none" }, "none"))));
		sec.append(h("div", { class: "table-scroll", tabindex: "0",
		    role: "region", "aria-labelledby": "deliveries-title" },
		    h("table", { class: "grid" },
			h("caption", { class: "sr-only" }, "Delivery attempts, " +
			    "oldest first"),
			h("thead", null, h("tr", null, h("th", { scope: "col" },
			    "When"), h("th", { scope: "col" }, "Outcome"),
			    h("th", { scope: "col" }, "Server's reply"))),
			body)));
	} else if (r.status !== "spam") {
		sec.append(h("p", { class: "none" }, "No attempt yet."));
	}
	if (r.status !== "spam")
		sec.append(h("p", null, h("button", { type: "button",
		    id: "resend", class: "quiet", onclick: () => act("POST",
		    "/resend", "resend", "A new email to the front desk is " +
		    "queued.", true) }, "Send the email again")));
	return sec;
}

function triageBox(r) {
	const group = h("div", { class: "triage-buttons", role: "group",
	    "aria-labelledby": "triage-title" });
	for (const t of TRIAGE) {
		const on = r.triage === t.value;
		group.append(h("button", { type: "button", id: "triage-" +
		    t.value, class: "chip triage-" + t.value, "aria-pressed":
		    on ? "true" : "false", onclick: () => {
			if (current && current.triage === t.value)
				return;
			act("PATCH", "", "triage-" + t.value, "Marked " +
			    t.label.toLowerCase() + ".", false,
			    { triage: t.value });
		} }, t.label));
	}
	return h("div", { class: "triage-box" },
	    h("h2", { id: "triage-title" }, "Triage"), group);
}

function notes(r) {
	const list = Array.isArray(r.notes) ? r.notes : [];
	const ol = h("ol", { class: "notes", id: "notes-list" });
	for (const n of list)
		ol.append(note(n));
	const err = h("div", { class: "error-box", role: "alert",
	    id: "note-error", hidden: true });
	const text = h("textarea", { id: "note-text", rows: "3",
	    maxlength: String(NOTE_MAX), "aria-describedby": "note-hint" });
	const form = h("form", { id: "note-form", novalidate: true },
	    h("div", { class: "field" },
		h("label", { for: "note-text" }, "Add a note"),
		h("p", { class: "hint", id: "note-hint" }, "Seen by everyone " +
		    "who works this location. Up to 2000 characters."),
		text),
	    h("button", { type: "submit" }, "Add note"));
	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		addNote(text, err);
	});
	return h("section", { "aria-labelledby": "notes-title" },
	    h("h2", { id: "notes-title" }, "Notes"),
	    list.length ? null : h("p", { class: "none", id: "notes-none" },
		"No notes yet."),
	    ol, err, form);
}

function note(n) {
	return h("li", null,
	    h("p", { class: "note-meta" }, h("strong", null, n.author), " ",
		timeEl(n.at)),
	    h("p", { class: "pre" }, n.text));
}

async function addNote(text, err) {
	const v = text.value.trim();
	if (!v) {
		showError(err, "Write the note first.");
		text.focus();
		return;
	}
	if ([...v].length > NOTE_MAX) {
		showError(err, "A note has at most 2000 characters.");
		text.focus();
		return;
	}
	const ref = current.reference;
	try {
		const n = await call("POST", "/requests/" +
		    encodeURIComponent(ref) + "/notes", { body: { text: v } });
		if (!current || current.reference !== ref)
			return;
		showError(err, "");
		text.value = "";
		current.notes = (current.notes || []).concat([n]);
		$("notes-list").append(note(n));
		const none = $("notes-none");
		if (none)
			none.remove();
		announce("Note added.");
		text.focus();
	} catch (e) {
		if (e.status !== 401) {
			showError(err, e.message);
			text.focus();
		}
	}
}

function history(r) {
	const list = Array.isArray(r.history) ? r.history : [];
	const sec = h("section", { "aria-labelledby": "history-title" },
	    h("h2", { id: "history-title" }, "History"));
	if (!list.length) {
		sec.append(h("p", { class: "none" }, "Nothing done yet."));
		return sec;
	}
	const ol = h("ol", { class: "history" });
	for (const e of list)
		ol.append(h("li", null, timeEl(e.at), " ",
		    h("strong", null, e.user), ": ",
		    ACTION[e.action] || e.action,
		    e.detail ? h("span", { class: "detail" }, " (" + e.detail +
			")") : null));
	sec.append(ol);
	return sec;
}

/* A change: PATCH the request, or POST to one of its actions. keep: the
 * id to put the focus back on; refetch: the answer is not the whole
 * request (resend's 202 {}), or it is but the page should load it again. */
async function act(method, suffix, keep, done, refetch, body) {
	const ref = current.reference;
	const path = "/requests/" + encodeURIComponent(ref) + suffix;
	const button = $(keep);
	if (button)
		button.setAttribute("aria-busy", "true");
	try {
		let r = await call(method, path, body ? { body } : {});
		if (refetch || !r || !r.reference)
			r = await call("GET", "/requests/" +
			    encodeURIComponent(ref));
		if (!current || current.reference !== ref)
			return;
		render(r, keep === "unspam" ? "request-title" : keep);
		announce(done);
	} catch (e) {
		if (e.status === 401)
			return;
		if (button)
			button.removeAttribute("aria-busy");
		const box = h("div", { class: "error-box", role: "alert",
		    id: "act-error" }, e.message);
		const old = $("act-error");
		if (old)
			old.remove();
		$("request-host").prepend(box);
	}
}

export function currentRequest() {
	return current;
}

