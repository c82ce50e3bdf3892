/* admin-audit.js: the audit log, newest first: every sign-in, view,
 * export and change, with who, from where, and the old and new values.
 * Filtered by user, by what it was done to (a request's reference, a
 * location, an account, a message) and by day; paged; and downloaded as
 * CSV with the same filters (GET /audit.csv). The filters live in the
 * address, so Back and a bookmark keep them. */
import { h, clear, timeEl, fullTime, showError, $ } from "./dom.js";
import { call, query, API, PREFIX } from "./api.js";
import { ADMIN, startPage, focusTitle, pageError, errorBox, table, none,
    actionLabel, detailParts } from "./admin-ui.js";

const REF = /^FD-[0-9A-HJKMNP-TV-Z]{8}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

let navigate = null;
const state = { filters: null, cursors: [""], page: 0 };

export function setupAudit(nav) {
	navigate = nav;
}

function filtersFromUrl() {
	const p = new URLSearchParams(location.search);
	return { user: p.get("user") || "", reference: p.get("reference") || "",
	    since: DAY.test(p.get("since") || "") ? p.get("since") : "" };
}

function auditUrl(f) {
	return ADMIN + "/audit" + query(f);
}

export async function showAudit() {
	const f = filtersFromUrl();
	if (JSON.stringify(f) !== JSON.stringify(state.filters)) {
		state.filters = f;
		state.cursors = [""];
		state.page = 0;
	}
	const host = startPage("Audit log");
	host.append(h("p", { class: "lead" }, "Every sign-in, every request " +
	    "opened, every download and every change, made in the console or " +
	    "with frontdeskctl, newest first. Nobody can change or remove a " +
	    "row."));
	host.append(filterForm(f));
	host.append(h("p", { class: "list-meta", id: "audit-meta",
	    tabindex: "-1" }));
	host.append(errorBox("audit-error"));
	host.append(h("div", { id: "audit-rows" }));
	host.append(h("nav", { class: "pager", "aria-label": "Pages" },
	    h("button", { type: "button", class: "quiet", id: "audit-newer",
		onclick: () => turn(-1) }, "Newer"),
	    h("span", { id: "audit-page" }),
	    h("button", { type: "button", class: "quiet", id: "audit-older",
		onclick: () => turn(1) }, "Older"),
	    h("a", { class: "export", id: "audit-export",
		href: API + "/audit.csv" + query(f) }, "Download as CSV")));
	await load();
	focusTitle();
}

function filterForm(f) {
	const user = h("input", { type: "text", id: "audit-user", name: "user",
	    value: f.user, maxlength: "80", spellcheck: "false",
	    autocapitalize: "none", autocomplete: "off",
	    "aria-describedby": "audit-user-hint" });
	const ref = h("input", { type: "text", id: "audit-reference",
	    name: "reference", value: f.reference, maxlength: "80",
	    spellcheck: "false", autocapitalize: "none", autocomplete: "off",
	    "aria-describedby": "audit-reference-hint" });
	const since = h("input", { type: "date", id: "audit-since",
	    name: "since", value: f.since });
	const form = h("form", { class: "filters", role: "search",
	    id: "audit-filters", novalidate: true, "aria-label":
	    "Filter the audit log" },
	    h("div", { class: "field" },
		h("label", { for: "audit-user" }, "Who"),
		h("p", { class: "hint", id: "audit-user-hint" }, "An account " +
		    "name, exactly"),
		user),
	    h("div", { class: "field" },
		h("label", { for: "audit-reference" }, "Done to"),
		h("p", { class: "hint", id: "audit-reference-hint" }, "A " +
		    "reference, location, account or email number"),
		ref),
	    h("div", { class: "field" },
		h("label", { for: "audit-since" }, "Since"),
		h("p", { class: "hint" }, "A day, or empty"),
		since),
	    h("div", { class: "field" },
		h("button", { type: "submit" }, "Show"), " ",
		h("button", { type: "button", class: "quiet", id: "audit-clear",
		    onclick: () => navigate(auditUrl({})) }, "Clear")));
	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		let r = ref.value.trim();
		if (REF.test(r.toUpperCase()))
			r = r.toUpperCase();
		navigate(auditUrl({ user: user.value.trim(), reference: r,
		    since: since.value }));
	});
	return form;
}

async function turn(delta) {
	if (delta > 0) {
		if (!state.next)
			return;
		state.cursors[state.page + 1] = state.next;
		state.page++;
	} else {
		if (state.page === 0)
			return;
		state.page--;
	}
	await load();
	$("audit-meta").focus();
}

function objectCell(o, action) {
	if (!o)
		return none("\u2014");
	if (action === "outbox_retry")
		return h("span", null, "email number ", h("code", null, o));
	if (REF.test(o))
		return h("a", { href: PREFIX + "/requests/" + encodeURIComponent(o),
		    "data-nav": true }, o);
	return h("code", null, o);
}

function detailCell(d) {
	const parts = detailParts(d);
	if (!parts.length)
		return none("\u2014");
	return h("ul", { class: "detail-list" }, parts.map((p) =>
	    h("li", null, h("code", null, p))));
}

async function load() {
	const f = state.filters;
	const err = $("audit-error");
	let data;
	try {
		data = await call("GET", "/audit" + query({ user: f.user,
		    reference: f.reference, since: f.since,
		    before: state.cursors[state.page] }));
	} catch (e) {
		if (e.status !== 401)
			showError(err, e.message);
		return;
	}
	showError(err, "");
	const rows = Array.isArray(data.rows) ? data.rows : [];
	state.next = data.next || null;
	const host = $("audit-rows");
	clear(host);
	if (rows.length)
		host.append(table("audit-table", "Audit log, newest first",
		    ["When", "Who", "From", "What", "Done to", "Details"],
		    rows.map((r) => [
			{ th: timeEl(r.at, fullTime(r.at)) },
			r.user || none("\u2014"),
			r.address ? h("code", null, r.address) : none("\u2014"),
			h("span", { title: r.action }, actionLabel(r.action)),
			objectCell(r.object, r.action),
			detailCell(r.detail)])));
	else
		host.append(h("p", { class: "empty", id: "audit-empty" },
		    "Nothing matches."));
	const parts = [];
	if (f.user)
		parts.push("by " + f.user);
	if (f.reference)
		parts.push("done to " + f.reference);
	if (f.since)
		parts.push("since " + f.since);
	$("audit-meta").textContent = rows.length + " shown" + (parts.length ?
	    ", " + parts.join(", ") : "") + ", newest first";
	$("audit-newer").disabled = state.page === 0;
	$("audit-older").disabled = !state.next;
	$("audit-page").textContent = "Page " + (state.page + 1);
}
