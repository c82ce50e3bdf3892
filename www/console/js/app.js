/* app.js: the console's page. It starts signed out as far as it knows
 * (the page itself is served without the session cookie: a link from a
 * webmail tab is a cross-site navigation, which a SameSite=Strict cookie
 * does not follow), asks GET /me, and then shows sign-in, the enrolment
 * of a second factor, or what the address names: PREFIX/ the inbox,
 * PREFIX/requests/REF that request, PREFIX/account the account, and
 * for admins PREFIX/admin/... the admin pages (admin.js). After sign-in
 * it stays on that address, so an email's link lands on its request. */
import { $, clear, announce, zoneNote } from "./dom.js";
import { PREFIX, call, setCsrf, whenSignedOut, markActivity } from "./api.js";
import { startIdle, stopIdle } from "./idle.js";
import { setupSignIn, showSignInNotice, renderEnrol, setupPassword } from
    "./account.js";
import { setupInbox, showInbox, hideInbox, forgetInbox, inboxUrl,
    rememberRow } from
    "./inbox.js";
import { showRequest, forgetRequest } from "./request.js";
import { adminWhere, setupAdmin, showAdmin, forgetAdmin } from "./admin.js";
import { showBanner } from "./banner.js";

const VIEWS = ["loading", "signin", "enrol", "inbox", "request", "account",
    "admin", "error"];
const REF = /^FD-[0-9A-HJKMNP-TV-Z]{8}$/;
const DEFAULT_IDLE = 900;	/* [console] idle_timeout's default */
const ME_POLL_MS = 60000;	/* an admin's banner: GET /me this often */

let me = null;
let fromInbox = false;	/* the request view was opened from the list */
let remoteUser = false;	/* signed in by the web server (auth = remote_user) */
let mePoll = null;

function show(name, navPage = "") {
	for (const v of VIEWS)
		$("view-" + v).hidden = v !== name;
	if (name !== "inbox")
		hideInbox();
	$("session-bar").hidden = !me || name === "signin";
	/* the admin pages' links: admins only, once past the enrolment */
	const admin = !!me && me.role === "admin" && me.second_factor !==
	    "enrol" && name !== "signin" && name !== "enrol";
	$("admin-nav").hidden = !admin;
	for (const a of $("admin-nav").querySelectorAll("a[data-page]")) {
		if (a.dataset.page === (name === "inbox" ? "inbox" : navPage))
			a.setAttribute("aria-current", "page");
		else
			a.removeAttribute("aria-current");
	}
	if (!admin)
		$("mail-banner").hidden = true;
	else
		showBanner(me);
}

function focusTitle(id) {
	const el = $(id);
	if (el)
		el.focus();
}

/* -- where the address leads */
function where() {
	let p = location.pathname;
	if (p.startsWith(PREFIX))
		p = p.slice(PREFIX.length);
	const m = /^\/requests\/([^/]+)\/?$/.exec(p);
	if (m) {
		const ref = decodeURIComponent(m[1]).toUpperCase();
		return { view: "request", ref };
	}
	if (p === "" || p === "/" || p === "/index.html")
		return { view: "inbox" };
	if (p === "/account" || p === "/account/")
		return { view: "account" };
	const a = adminWhere(p);
	if (a)
		return { view: "admin", ...a };
	return { view: "missing" };
}

export function navigate(url, opts = {}) {
	if (opts.replace)
		history.replaceState(null, "", url);
	else if (url !== location.pathname + location.search)
		history.pushState(null, "", url);
	return route(opts);
}

async function route(opts = {}) {
	if (!me)
		return;
	if (me.second_factor === "enrol")
		return showEnrol();
	const w = where();
	if (w.view === "request") {
		fromInbox = !!opts.fromInbox;
		show("request");
		$("request-back").href = opts.fromInbox ? inboxUrl() :
		    PREFIX + "/";
		if (!REF.test(w.ref)) {
			return showError("Request not found",
			    "\u201c" + w.ref + "\u201d is not a request " +
			    "reference (FD- and 8 letters or digits).");
		}
		rememberRow(w.ref);
		return showRequest(me, w.ref);
	}
	if (w.view === "account")
		return showAccount();
	if (w.view === "admin")
		return routeAdmin(w);
	if (w.view === "missing")
		return showError("Page not found", "There is no such page " +
		    "in the console.");
	show("inbox");
	await showInbox(me, opts.back);
	if (!opts.back)
		focusTitle("inbox-title");
}

async function routeAdmin(w) {
	if (me.role !== "admin")
		return showError("For admins only", "This page is for the " +
		    "clinic's admins. Your account works the requests of your " +
		    "locations.");
	if (w.redirect)
		history.replaceState(null, "", PREFIX + "/admin/locations");
	show("admin", w.nav || w.page);
	await showAdmin(me, w);
}

/* GET /me again (in the background): the banner's mail, and the
 * locations an admin just changed. */
async function refreshMe() {
	if (!me)
		return;
	try {
		const m = await call("GET", "/me", { background: true });
		if (!me)
			return;
		me = m;
		setCsrf(me.csrf);
		if (!$("admin-nav").hidden)
			showBanner(me);
	} catch (e) {
		/* a 401 shows sign-in by itself */
	}
}

function startMePoll() {
	stopMePoll();
	if (me && me.role === "admin")
		mePoll = setInterval(() => {
			if (!document.hidden)
				refreshMe();
		}, ME_POLL_MS);
}

function stopMePoll() {
	if (mePoll)
		clearInterval(mePoll);
	mePoll = null;
}

function showError(title, text, retry) {
	show("error");
	$("error-title").textContent = title;
	$("error-text").textContent = text;
	$("error-retry").hidden = !retry;
	$("error-retry").onclick = retry || null;
	document.title = title + " - Front desk";
	focusTitle("error-title");
}

/* -- session */
async function loadMe() {
	me = await call("GET", "/me", { quiet401: true });
	setCsrf(me.csrf);
	$("who").textContent = me.username + (me.role === "admin" ?
	    " (admin)" : "");
	remoteUser = me.auth === "remote_user";
	return me;
}

function startSessionTimer() {
	const idle = Number(me.idle_timeout) > 0 ? Number(me.idle_timeout) :
	    DEFAULT_IDLE;
	/* session_ends: the earlier of the idle end and session_max's; the
	 * latter matters only when it comes first. */
	const ends = Date.parse(me.session_ends || "");
	const hard = Number.isFinite(ends) && ends < Date.now() + idle * 1000 -
	    15000 ? ends : 0;
	startIdle(idle, idleExpired, async () => {
		try {
			await call("GET", "/me");
			announce("You stay signed in.");
		} catch (e) {
			/* a 401 shows sign-in by itself */
		}
	}, hard);
}

async function afterSignIn(answer) {
	setCsrf(answer.csrf);
	markActivity();
	await loadMe();
	showSignInNotice("");
	startSessionTimer();
	startMePoll();
	await route({});
}

/* Nothing of the last session stays on the screen. */
function forget() {
	stopIdle();
	stopMePoll();
	forgetAdmin();
	$("mail-banner").hidden = true;
	$("admin-nav").hidden = true;
	me = null;
	setCsrf("");
	forgetInbox();
	forgetRequest();
	clear($("enrol-host"));
	clear($("account-enrol-host"));
	$("who").textContent = "";
}

function showSignIn(notice) {
	forget();
	show("signin");
	document.title = "Sign in - Front desk";
	showSignInNotice(notice);
	$("signin-form").hidden = remoteUser;
	$("signin-sso").hidden = !remoteUser;
	const err = $("signin-error");
	err.hidden = true;
	focusTitle(notice ? "signin-title" : "signin-username");
}

function sessionGone() {
	if (!me)
		return;
	showSignIn("Your session has ended. Sign in again to go on; you " +
	    "will come back to this page.");
}

async function idleExpired(reason) {
	const minutes = Math.round((Number(me && me.idle_timeout) ||
	    DEFAULT_IDLE) / 60);
	const max = Math.round((Number(me && me.session_max) || 0) / 3600);
	try {
		await call("DELETE", "/session", { background: true,
		    quiet401: true });
	} catch (e) {
		/* gone already */
	}
	showSignIn(reason === "max" ? "You were signed out: a session lasts " +
	    "at most " + (max || "a few") + " hour" + (max === 1 ? "" : "s") +
	    "." : "You were signed out after " + minutes + " minute" +
	    (minutes === 1 ? "" : "s") + " without activity.");
}

async function signOut() {
	try {
		await call("DELETE", "/session", { quiet401: true });
	} catch (e) {
		if (e.status !== 401) {
			announce("Signing out failed: " + e.message);
			return;
		}
	}
	history.replaceState(null, "", PREFIX + "/");
	showSignIn("You are signed out.");
}

/* -- second factor */
function showEnrol() {
	show("enrol");
	document.title = "Set up your second factor - Front desk";
	renderEnrol($("enrol-host"), "enrol", async () => {
		await loadMe();
		clear($("enrol-host"));
		await route({});
	});
	focusTitle("enrol-title");
}

function showAccount() {
	show("account");
	document.title = "Your account - Front desk";
	$("password-username").value = me.username;
	$("account-2fa-state").textContent = me.second_factor === "on" ?
	    "Your account signs in with a code from an authenticator app. " +
	    "To move it to another app, set up a new secret; the old one " +
	    "stops working once the new one is confirmed." :
	    "Your account signs in without a code. You can add one.";
	const host = $("account-enrol-host");
	clear(host);
	const start = document.createElement("button");
	start.type = "button";
	start.className = "quiet";
	start.textContent = me.second_factor === "on" ?
	    "Set up a new secret" : "Set up a second factor";
	start.addEventListener("click", () => {
		const pw = renderEnrol(host, "account-enrol", async () => {
			await loadMe();
			clear(host);
			showAccount();
		});
		pw.focus();
	});
	host.append(start);
	if (remoteUser) {
		$("password-form").hidden = true;
		$("account-2fa-state").textContent = "Your organisation's " +
		    "single sign-on handles passwords and second factors.";
		clear(host);
	}
	focusTitle("account-title");
}

/* -- links inside the page: no reload */
function onClick(ev) {
	if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey ||
	    ev.ctrlKey || ev.shiftKey || ev.altKey)
		return;
	const a = ev.target.closest("a[data-nav]");
	if (!a || a.origin !== location.origin)
		return;
	ev.preventDefault();
	const fromList = !!a.closest("#list");
	const back = a.id === "request-back" && fromInbox;
	if (back) {
		history.back();
		return;
	}
	navigate(a.pathname + a.search, { fromInbox: fromList });
}

/* Esc goes back from a request (not while typing a note), and from one
 * location or account to their list; an open dialog takes it first. */
function onKey(ev) {
	if (ev.key !== "Escape" || ev.defaultPrevented || !me)
		return;
	if ($("confirm").open)
		return;
	const t = ev.target;
	if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" &&
	    t.value && t.type !== "checkbox" && t.type !== "radio")))
		return;
	if (!$("view-admin").hidden) {
		const w = where();
		if (w.page === "location" || w.page === "account") {
			ev.preventDefault();
			navigate(PREFIX + "/admin/" + w.nav);
		}
		return;
	}
	if (!$("view-request").hidden || !$("view-account").hidden ||
	    !$("view-error").hidden) {
		ev.preventDefault();
		if (fromInbox && !$("view-request").hidden)
			history.back();
		else
			navigate(PREFIX + "/", { back: true });
	}
}

/* GET /me, then what the address names; or sign-in, or an error to retry. */
async function start() {
	try {
		await loadMe();
	} catch (e) {
		if (e.status === 401) {
			/* auth = remote_user: nginx's own 401 says so */
			remoteUser = !!(e.data && e.data.auth === "remote_user");
			showSignIn(where().view === "request" ? "Sign in to " +
			    "open this request." : "");
			return;
		}
		showError("The console is not answering", e.message, () => {
			show("loading");
			start();
		});
		return;
	}
	startSessionTimer();
	startMePoll();
	await route({});
}

function boot() {
	$("zone-note").textContent = zoneNote();
	whenSignedOut(sessionGone);
	setupSignIn(afterSignIn);
	setupInbox(navigate);
	setupPassword(() => me, async () => {
		await loadMe();
	});
	setupAdmin({ navigate, meChanged: refreshMe, selfSignedOut: () => {
		history.replaceState(null, "", PREFIX + "/");
		showSignIn("You are signed out: your own account was " +
		    "disabled, or its second factor reset.");
	} });
	for (const a of $("admin-nav").querySelectorAll("a[data-page]"))
		a.href = a.dataset.page === "inbox" ? PREFIX + "/" : PREFIX +
		    "/admin/" + a.dataset.page;
	$("mail-banner-link").href = PREFIX + "/admin/mail";
	$("sign-out").addEventListener("click", signOut);
	document.addEventListener("click", onClick);
	document.addEventListener("keydown", onKey);
	window.addEventListener("popstate", () => {
		const w = where();
		route({ back: w.view === "inbox", fromInbox: w.view ===
		    "request" && fromInbox });
	});
	start();
}

boot();
