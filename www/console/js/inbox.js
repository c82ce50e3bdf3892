/* inbox.js: the list of requests (newest first, the caller's locations),
 * its counts per triage state, filters, search and paging, a background
 * poll, and the list's keyboard: arrows (and j/k) move, Enter opens, and
 * single-key triage shortcuts that work only while the list has focus and
 * can be turned off (WCAG 2.1.4). */
import { $, h, clear, announce, showError, shortTime, timeEl, TRIAGE,
    triageLabel, deliveryLabel } from "./dom.js";
import { call, query, API, PREFIX } from "./api.js";

/* The list refreshes every 30 s, or three times within a short idle
 * timeout; a poll is a background request (X-Background: 1), which the
 * console does not count as activity, so it never keeps a session alive. */
function pollMs() {
	const idle = Number(state.me && state.me.idle_timeout) || 900;
	return Math.max(3000, Math.min(30000, idle * 1000 / 3));
}
const SHORTCUTS_KEY = "frontdesk.console.shortcuts";

const state = {
	me: null,
	filters: { location: "", triage: "", status: "", q: "" },
	cursors: [""],	/* cursors[i]: the `before` of page i */
	page: 0,
	next: null,
	rows: [],
	current: "",	/* the reference of the row that has (or had) focus */
	poll: null,
	open: null,	/* open(ref): show a request */
	navigate: null,
};

export function shortcutsOn() {
	try {
		return localStorage.getItem(SHORTCUTS_KEY) !== "off";
	} catch (e) {
		return true;
	}
}

function setShortcuts(on) {
	try {
		localStorage.setItem(SHORTCUTS_KEY, on ? "on" : "off");
	} catch (e) {
		/* not remembered, still applied */
	}
	announce(on ? "Single-key shortcuts are on." :
	    "Single-key shortcuts are off.");
}

export function setupInbox(navigate) {
	state.navigate = navigate;
	const toggle = $("shortcuts-toggle");
	toggle.checked = shortcutsOn();
	toggle.addEventListener("change", () => setShortcuts(toggle.checked));
	window.addEventListener("storage", (ev) => {
		if (ev.key === SHORTCUTS_KEY)
			toggle.checked = shortcutsOn();
	});

	$("filters").addEventListener("submit", (ev) => {
		ev.preventDefault();
		applyFilters({ location: $("filter-location").value,
		    q: $("filter-q").value.trim() });
	});
	$("filter-location").addEventListener("change", () => {
		applyFilters({ location: $("filter-location").value });
	});
	$("filter-clear").addEventListener("click", () => {
		$("filter-q").value = "";
		applyFilters({ location: "", q: "", triage: "" });
	});
	$("page-older").addEventListener("click", () => {
		if (!state.next)
			return;
		state.cursors[state.page + 1] = state.next;
		state.page++;
		load({ focusList: false }).then(() => $("list-meta").focus());
	});
	$("page-newer").addEventListener("click", () => {
		if (state.page === 0)
			return;
		state.page--;
		load({ focusList: false }).then(() => $("list-meta").focus());
	});
	$("list").addEventListener("keydown", onListKey);
	$("list").addEventListener("focusin", (ev) => {
		const li = ev.target.closest("li[data-ref]");
		if (li)
			setCurrent(li.dataset.ref, false);
	});
	$("list-meta").setAttribute("tabindex", "-1");
}

/* The filters live in the address (PREFIX/?location=&triage=&status=&q=),
 * so Back and a bookmark keep them. */
function filtersFromUrl() {
	const p = new URLSearchParams(location.search);
	return {
		location: p.get("location") || "",
		triage: p.get("triage") || "",
		status: p.get("status") === "spam" ? "spam" : "",
		q: p.get("q") || "",
	};
}

export function inboxUrl(f = state.filters) {
	return PREFIX + "/" + query(f);
}

function applyFilters(change) {
	const f = { ...state.filters, ...change };
	state.navigate(inboxUrl(f), { replace: false });
}

/* Shown for PREFIX/; me: the caller (GET /me). back: coming back from a
 * request, whose row then gets the focus. */
export async function showInbox(me, back) {
	state.me = me;
	const f = filtersFromUrl();
	const same = JSON.stringify(f) === JSON.stringify(state.filters);
	if (!same) {
		state.filters = f;
		state.cursors = [""];
		state.page = 0;
		if (!back)
			state.current = "";
	}
	renderFilters();
	await load({ focusList: !!back });
	startPoll();
}

/* The request shown: its row gets the focus back in the list. */
export function rememberRow(ref) {
	state.current = ref;
}

export function hideInbox() {
	stopPoll();
}

/* Sign-out: nothing of the last caller stays in the page. */
export function forgetInbox() {
	stopPoll();
	state.me = null;
	state.rows = [];
	state.current = "";
	state.filters = { location: "", triage: "", status: "", q: "" };
	state.cursors = [""];
	state.page = 0;
	clear($("list"));
	clear($("triage-filter"));
	clear($("filter-location"));
	$("filter-q").value = "";
	$("list-meta").textContent = "";
}

function renderFilters() {
	const f = state.filters;
	const sel = $("filter-location");
	clear(sel);
	sel.append(h("option", { value: "" }, state.me.locations.length > 1 ?
	    "All my locations" : "My location"));
	for (const l of state.me.locations)
		sel.append(h("option", { value: l.slug }, l.name));
	sel.value = f.location;
	$("filter-q").value = f.q;
	const spam = f.status === "spam";
	$("show-received").setAttribute("aria-current", spam ? "false" : "page");
	$("show-spam").setAttribute("aria-current", spam ? "page" : "false");
	$("show-received").href = inboxUrl({ ...f, status: "", triage: "" });
	$("show-spam").href = inboxUrl({ ...f, status: "spam", triage: "" });
	$("inbox-title").textContent = spam ? "Spam review" : "Requests";
	document.title = (spam ? "Spam review" : "Requests") +
	    " - Front desk";
	$("export").href = API + "/requests.csv" + query({
	    location: f.location, triage: f.triage, status: f.status, q: f.q });
}

function renderCounts(counts) {
	const box = $("triage-filter");
	clear(box);
	let all = 0;
	const buttons = [];
	for (const t of TRIAGE) {
		const n = counts && Number.isFinite(counts[t.value]) ?
		    counts[t.value] : 0;
		all += n;
		buttons.push(triageButton(t.value, t.label, n));
	}
	box.append(triageButton("", "All", all), ...buttons);
	/* the honeypot's catch is reviewed, not triaged */
	box.hidden = state.filters.status === "spam";
}

function triageButton(value, label, n) {
	const pressed = state.filters.triage === value;
	return h("button", { type: "button", class: "chip triage-" +
	    (value || "all"), "aria-pressed": pressed ? "true" : "false",
	    onclick: () => applyFilters({ triage: value }) },
	    label + " ", h("span", { class: "count" }, String(n)));
}

async function load({ focusList = false, background = false } = {}) {
	const f = state.filters;
	const params = { location: f.location, triage: f.triage,
	    status: f.status, q: f.q, before: state.cursors[state.page] };
	let data;
	try {
		data = await call("GET", "/requests" + query(params),
		    { background });
	} catch (e) {
		if (e.status === 401)
			return;
		if (!background) {
			showError($("inbox-error"), e.message);
			clear($("list"));
			$("list-empty").hidden = true;
		}
		return;
	}
	showError($("inbox-error"), "");
	const hadFocus = $("list").contains(document.activeElement);
	state.rows = Array.isArray(data.requests) ? data.requests : [];
	state.next = data.next || null;
	renderCounts(data.counts || {});
	renderRows();
	renderPager();
	if (focusList || hadFocus)
		focusCurrent();
}

function locationName(slug) {
	const l = state.me && state.me.locations.find((x) => x.slug === slug);
	return l ? l.name : slug;
}

function renderRows() {
	const list = $("list");
	clear(list);
	if (state.rows.length &&
	    !state.rows.some((r) => r.reference === state.current))
		state.current = state.current && state.rows.length ?
		    nearest() : state.rows[0].reference;
	if (!state.current && state.rows.length)
		state.current = state.rows[0].reference;
	for (const r of state.rows)
		list.append(row(r));
	$("list-empty").hidden = state.rows.length > 0;
	const f = state.filters;
	const parts = [];
	if (f.status === "spam")
		parts.push("caught by the form's honeypot");
	if (f.triage)
		parts.push(triageLabel(f.triage).toLowerCase());
	if (f.location)
		parts.push("at " + locationName(f.location));
	if (f.q)
		parts.push("matching \u201c" + f.q + "\u201d");
	$("list-meta").textContent = state.rows.length + " shown" +
	    (parts.length ? ", " + parts.join(", ") : "") + ", newest first";
}

/* The row to focus when the current one left the list (triaged out of
 * the filter): the one that took its place. */
let lastIndex = 0;
function nearest() {
	const i = Math.min(lastIndex, state.rows.length - 1);
	return state.rows[Math.max(0, i)].reference;
}

function row(r) {
	const unread = !!r.unread;
	const current = r.reference === state.current;
	const name = [r.first_name, r.last_name].filter(Boolean).join(" ");
	return h("li", { class: "row" + (unread ? " unread" : ""),
	    "data-ref": r.reference },
	    h("a", { href: PREFIX + "/requests/" + encodeURIComponent(
		r.reference), "data-nav": true, class: "row-link",
		tabindex: current ? "0" : "-1" },
		h("span", { class: "r-name" },
		    unread ? h("span", { class: "dot", "aria-hidden": "true" }) :
			null,
		    unread ? h("span", { class: "sr-only" }, "Unread: ") : null,
		    name || "(no name)"),
		h("span", { class: "r-time" }, timeEl(r.created_at,
		    shortTime(r.created_at))),
		h("span", { class: "r-loc" }, locationName(r.location)),
		h("span", { class: "r-ref" }, r.reference),
		h("span", { class: "badge triage-" + r.triage },
		    triageLabel(r.triage)),
		h("span", { class: "badge delivery-" + (r.status === "spam" ?
		    "spam" : r.delivery || "none") },
		    deliveryLabel(r.delivery, r.status))));
}

function renderPager() {
	$("page-newer").disabled = state.page === 0;
	$("page-older").disabled = !state.next;
	$("page-number").textContent = "Page " + (state.page + 1);
}

function links() {
	return [...$("list").querySelectorAll("a.row-link")];
}

function setCurrent(ref, focus) {
	state.current = ref;
	const all = links();
	all.forEach((a, i) => {
		const mine = a.parentElement.dataset.ref === ref;
		a.tabIndex = mine ? 0 : -1;
		if (mine) {
			lastIndex = i;
			if (focus)
				a.focus();
		}
	});
}

function focusCurrent() {
	const all = links();
	if (!all.length) {
		$("list-meta").focus();
		return;
	}
	const a = all.find((x) => x.parentElement.dataset.ref ===
	    state.current) || all[0];
	setCurrent(a.parentElement.dataset.ref, true);
}

function move(delta) {
	const all = links();
	if (!all.length)
		return;
	let i = all.findIndex((a) => a.parentElement.dataset.ref ===
	    state.current);
	i = delta === Infinity ? all.length - 1 : delta === -Infinity ? 0 :
	    Math.max(0, Math.min(all.length - 1, i + delta));
	setCurrent(all[i].parentElement.dataset.ref, true);
}

function onListKey(ev) {
	if (ev.ctrlKey || ev.altKey || ev.metaKey)
		return;
	const li = ev.target.closest("li[data-ref]");
	if (!li)
		return;
	switch (ev.key) {
	case "ArrowDown": move(1); break;
	case "ArrowUp": move(-1); break;
	case "Home": move(-Infinity); break;
	case "End": move(Infinity); break;
	default: {
		/* single-character keys: only when turned on, and only here */
		if (!shortcutsOn())
			return;
		const k = ev.key.toLowerCase();
		if (k === "j")
			move(1);
		else if (k === "k")
			move(-1);
		else if (k === "/")
			$("filter-q").focus();
		else {
			const t = TRIAGE.find((x) => x.keys.includes(k));
			if (!t)
				return;
			triage(li.dataset.ref, t.value);
		}
	}
	}
	ev.preventDefault();
}

async function triage(ref, value) {
	const r = state.rows.find((x) => x.reference === ref);
	if (r && r.triage === value) {
		announce(ref + " is already " + triageLabel(value).toLowerCase() +
		    ".");
		return;
	}
	try {
		await call("PATCH", "/requests/" + encodeURIComponent(ref),
		    { body: { triage: value } });
	} catch (e) {
		if (e.status !== 401)
			showError($("inbox-error"), e.message);
		return;
	}
	announce(ref + " marked " + triageLabel(value).toLowerCase() + ".");
	await load({ focusList: true });
}

function startPoll() {
	stopPoll();
	state.poll = setInterval(() => {
		if (!document.hidden && !$("view-inbox").hidden)
			load({ background: true });
	}, pollMs());
}

function stopPoll() {
	if (state.poll)
		clearInterval(state.poll);
	state.poll = null;
}
