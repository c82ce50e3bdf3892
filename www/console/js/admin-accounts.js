/* admin-accounts.js: the console's accounts. Add one (its generated
 * password shown once, with a copy button), its role and locations,
 * disable and enable it, reset its second factor; each account's last
 * sign-in and whether a lockout holds. Disabling or a reset ends the
 * account's sessions; both ask first. */
import { h, announce, showError, timeEl, shortTime, $ } from "./dom.js";
import { call, PREFIX } from "./api.js";
import { confirmAction } from "./confirm.js";
import { ADMIN, startPage, focusTitle, pageError, errorBox, fail, table,
    none, secondFactorLabel } from "./admin-ui.js";

const NAME = /^[a-z0-9._@-]{1,64}$/;

let me = null;
let navigate = null;
let signedOut = null;	/* the app's, when the admin disabled themself */

export function setupAccounts(nav, selfDisabled) {
	navigate = nav;
	signedOut = selfDisabled;
}

function accountUrl(name) {
	return ADMIN + "/accounts/" + encodeURIComponent(name);
}

function roleLabel(r) {
	return r === "admin" ? "Admin" : "Staff";
}

function states(u) {
	const out = [h("span", { class: "badge " + (u.enabled ? "state-on" :
	    "state-off") }, u.enabled ? "Enabled" : "Disabled")];
	if (u.locked)
		out.push(" ", h("span", { class: "badge state-warn" }, "Locked"));
	return out;
}

function lastSignIn(u) {
	return u.last_sign_in ? timeEl(u.last_sign_in, shortTime(
	    u.last_sign_in)) : none("never");
}

async function load() {
	const [users, locs] = await Promise.all([call("GET", "/users"),
	    call("GET", "/locations")]);
	const names = {};
	for (const l of locs)
		names[l.slug] = l.name;
	return { users, locs, names };
}

function locationNames(u, names) {
	if (u.role === "admin")
		return none("every location");
	return (u.locations || []).map((s) => names[s] || s).join(", ") ||
	    none("none");
}

/* -- the list, and adding an account */
export async function showAccounts(caller) {
	me = caller;
	let d;
	try {
		d = await load();
	} catch (e) {
		if (e.status !== 401)
			pageError("Accounts", e);
		return;
	}
	const host = startPage("Accounts");
	host.append(h("p", { class: "lead" }, "Who may sign in to the console. " +
	    "Staff see and work the requests of their locations; admins see " +
	    "every location and run this part of the console."));
	host.append(h("div", { id: "new-account-host" }));
	host.append(table("accounts-table", "Accounts, by name", ["Name",
	    "Role", "Locations", "Status", "Second factor", "Last sign-in"],
	    d.users.map((u) => [
		{ th: h("a", { href: accountUrl(u.username), "data-nav": true },
		    u.username) },
		roleLabel(u.role),
		locationNames(u, d.names),
		h("span", null, states(u)),
		secondFactorLabel(u.second_factor),
		lastSignIn(u)])));
	host.append(addForm(d.locs));
	focusTitle();
}

/* Role radios and location checkboxes; the checkboxes only for staff. */
function roleFields(prefix, locs, role, chosen) {
	const boxes = h("fieldset", { class: "checks", id: prefix + "-locs",
	    hidden: role === "admin" },
	    h("legend", null, "Locations"),
	    h("p", { class: "hint" }, "A staff account sees these locations' " +
		"requests only. At least one."),
	    locs.map((l) => h("div", { class: "check" },
		h("input", { type: "checkbox", id: prefix + "-loc-" + l.slug,
		    name: prefix + "-loc", value: l.slug,
		    checked: chosen.includes(l.slug) }),
		h("label", { for: prefix + "-loc-" + l.slug }, l.name +
		    (l.active ? "" : " (disabled)")))));
	const radio = (value, label, hint) => h("div", { class: "check" },
	    h("input", { type: "radio", id: prefix + "-role-" + value,
		name: prefix + "-role", value, checked: role === value,
		"aria-describedby": prefix + "-role-" + value + "-hint",
		onchange: () => {
			boxes.hidden = value === "admin";
		} }),
	    h("label", { for: prefix + "-role-" + value }, label),
	    h("p", { class: "hint", id: prefix + "-role-" + value + "-hint" },
		hint));
	const roles = h("fieldset", { class: "checks" },
	    h("legend", null, "Role"),
	    radio("staff", "Staff", "Works the requests of its locations."),
	    radio("admin", "Admin", "Every location, and locations, routes, " +
		"failed mail, accounts and the audit log."));
	return { roles, boxes, values: () => {
		const r = roles.querySelector("input:checked");
		const chosenRole = r ? r.value : "";
		return { role: chosenRole, locations: chosenRole === "admin" ? [] :
		    [...boxes.querySelectorAll("input:checked")].map((x) =>
		    x.value) };
	} };
}

function addForm(locs) {
	const err = errorBox("account-add-error");
	const name = h("input", { type: "text", id: "account-name",
	    maxlength: "64", required: true, spellcheck: "false",
	    autocapitalize: "none", autocomplete: "off",
	    "aria-describedby": "account-name-hint" });
	const f = roleFields("account", locs, "staff", []);
	const form = h("form", { id: "account-add", class: "admin-form panel",
	    novalidate: true, "aria-labelledby": "account-add-title" },
	    h("h2", { id: "account-add-title" }, "Add an account"),
	    err,
	    h("div", { class: "field" },
		h("label", { for: "account-name" }, "Name to sign in with"),
		h("p", { class: "hint", id: "account-name-hint" }, "Lower-case " +
		    "letters, digits, dots, hyphens, _ and @, such as " +
		    "maria.lopez."),
		name),
	    f.roles, f.boxes,
	    h("p", { class: "hint" }, "The console makes the password; you " +
		"see it once, next."),
	    h("button", { type: "submit", id: "account-add-submit" },
		"Add account"));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const username = name.value.trim().toLowerCase();
		const v = f.values();
		if (!NAME.test(username)) {
			showError(err, "The name is 1 to 64 lower-case letters, " +
			    "digits, dots, hyphens, _ or @.");
			name.focus();
			return;
		}
		if (v.role === "staff" && !v.locations.length) {
			showError(err, "Choose at least one location for a staff " +
			    "account.");
			const first = f.boxes.querySelector("input");
			if (first)
				first.focus();
			return;
		}
		try {
			const u = await call("POST", "/users", { body: { username,
			    role: v.role, locations: v.locations } });
			await showAccounts(me);
			showPassword(u);
		} catch (e) {
			fail(err, e);
		}
	});
	return form;
}

/* The generated password, this once: it is nowhere else to be had. */
function showPassword(u) {
	const host = $("new-account-host");
	const pw = String(u.password || "");
	const copyNote = h("p", { class: "hint", id: "new-password-copied",
	    "aria-live": "polite" });
	const copy = h("button", { type: "button", id: "new-password-copy",
	    class: "quiet" }, "Copy password");
	copy.addEventListener("click", async () => {
		try {
			await navigator.clipboard.writeText(pw);
			copyNote.textContent = "Copied. Paste it where the person " +
			    "will get it safely.";
		} catch (e) {
			const sel = window.getSelection();
			const range = document.createRange();
			range.selectNodeContents($("new-password"));
			sel.removeAllRanges();
			sel.addRange(range);
			copyNote.textContent = "This browser did not let the page " +
			    "copy it: it is selected, press Ctrl+C (or \u2318C).";
		}
	});
	const box = h("section", { class: "password-box", id: "new-account",
	    "aria-labelledby": "new-account-title" },
	    h("h2", { id: "new-account-title", tabindex: "-1" }, "Account " +
		u.username + " added"),
	    h("p", null, "Its password, shown only this once:"),
	    h("p", null, h("code", { class: "secret", id: "new-password" }, pw)),
	    h("p", { class: "copy-row" }, copy, " ",
		h("button", { type: "button", class: "quiet", id:
		    "new-password-done", onclick: () => {
			host.replaceChildren();
			focusTitle();
		} }, "Done")),
	    copyNote,
	    h("p", null, "Give it to the person in person or by phone, not by " +
		"email. They change it under Account after they sign in." +
		(u.second_factor === "enrol" ? " At the first sign-in they " +
		"also set up a code from an authenticator app." : "")));
	host.replaceChildren(box);
	$("new-account-title").focus();
	announce("Account " + u.username + " added.");
}

/* -- one account */
export async function showAccount(caller, name) {
	me = caller;
	const back = { href: ADMIN + "/accounts", text: "All accounts" };
	let d;
	try {
		d = await load();
	} catch (e) {
		if (e.status !== 401)
			pageError("Account", e, back);
		return;
	}
	const u = d.users.find((x) => x.username === name);
	if (!u) {
		pageError("Account not found", { status: 404 }, back);
		focusTitle();
		return;
	}
	render(u, d);
	focusTitle();
}

async function reload(name, keep) {
	const d = await load();
	const u = d.users.find((x) => x.username === name);
	if (!u)
		return showAccount(me, name);
	render(u, d);
	const el = keep && $(keep);
	if (el)
		el.focus();
	else
		focusTitle();
}

function render(u, d) {
	const host = startPage(u.username, { href: ADMIN + "/accounts",
	    text: "All accounts" });
	const self = me && me.username === u.username;
	host.append(h("dl", { class: "fields panel", id: "account-facts" },
	    fact("Role", roleLabel(u.role)),
	    fact("Locations", locationNames(u, d.names)),
	    fact("Status", h("span", null, states(u))),
	    fact("Second factor", secondFactorLabel(u.second_factor)),
	    fact("Last sign-in", lastSignIn(u))));
	if (u.locked)
		host.append(h("p", { class: "warn-box", id: "locked-note" },
		    h("strong", null, "Locked after too many failed sign-ins."),
		    " The lock ends by itself after a while; to lift it now, " +
		    "disable the account and enable it again."));
	host.append(h("div", { class: "admin-grid" },
	    h("div", null, roleForm(u, d, self)),
	    h("div", null, access(u, self))));
}

function fact(k, v) {
	return h("div", { class: "kv" }, h("dt", null, k), h("dd", null, v));
}

function roleForm(u, d, self) {
	const err = errorBox("role-error");
	const f = roleFields("edit", d.locs, u.role, u.locations || []);
	const form = h("form", { id: "role-form", class: "panel",
	    novalidate: true, "aria-labelledby": "role-title" },
	    h("h2", { id: "role-title" }, "Role and locations"),
	    err, f.roles, f.boxes,
	    h("button", { type: "submit", id: "role-save" }, "Save"));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const v = f.values();
		if (v.role === "staff" && !v.locations.length) {
			showError(err, "Choose at least one location for a staff " +
			    "account.");
			return;
		}
		try {
			await call("PATCH", "/users/" + encodeURIComponent(
			    u.username), { body: v.role === "admin" ? { role:
			    "admin" } : { role: "staff", locations: v.locations } });
			if (self && v.role !== u.role) {
				/* no longer an admin: the page starts again as staff */
				window.location.assign(PREFIX + "/");
				return;
			}
			await reload(u.username, "role-save");
			announce("Saved. It applies to " + u.username + "'s next " +
			    "request in the console.");
		} catch (e) {
			fail(err, e);
		}
	});
	return form;
}

function access(u, self) {
	const err = errorBox("access-error");
	const toggle = h("button", { type: "button", id: "account-toggle",
	    class: u.enabled ? "danger" : "" }, u.enabled ? "Disable account" :
	    "Enable account");
	toggle.addEventListener("click", async () => {
		if (u.enabled && !await confirmAction({
			title: "Disable " + u.username + "?",
			text: (self ? "This is your own account: you are signed " +
			    "out at once and cannot sign in again. " : "") +
			    u.username + " is signed out everywhere and cannot sign " +
			    "in until the account is enabled again. Its notes and " +
			    "history stay.",
			yes: "Disable account",
		}))
			return;
		try {
			await call("PATCH", "/users/" + encodeURIComponent(
			    u.username), { body: { enabled: !u.enabled } });
			if (self && u.enabled && signedOut)
				return signedOut();
			await reload(u.username, "account-toggle");
			announce(u.username + (u.enabled ? " disabled and signed " +
			    "out." : " enabled: it can sign in again."));
		} catch (e) {
			fail(err, e);
		}
	});
	const sec = h("section", { class: "panel", "aria-labelledby":
	    "access-title" },
	    h("h2", { id: "access-title", tabindex: "-1" }, "Access"),
	    err,
	    h("p", null, u.enabled ? "Enabled: it can sign in." :
		"Disabled: it cannot sign in."),
	    h("p", null, toggle));
	if (u.second_factor === "on") {
		const reset = h("button", { type: "button", id: "reset-2fa",
		    class: "danger" }, "Reset second factor");
		reset.addEventListener("click", async () => {
			if (!await confirmAction({
				title: "Reset " + u.username + "'s second factor?",
				text: "Their authenticator app's codes stop working " +
				    "and they are signed out everywhere. " + (u.role ===
				    "admin" ? "They set up a new one at their next " +
				    "sign-in." : "They can set up a new one under " +
				    "Account.") + " Do this when a phone is lost or " +
				    "replaced.",
				yes: "Reset second factor",
			}))
				return;
			try {
				await call("POST", "/users/" + encodeURIComponent(
				    u.username) + "/reset-2fa");
				if (self && signedOut)
					return signedOut();
				await reload(u.username, "access-title");
				announce(u.username + "'s second factor was reset.");
			} catch (e) {
				fail(err, e);
			}
		});
		sec.append(h("h3", null, "Second factor"),
		    h("p", null, "It signs in with a code from an authenticator " +
			"app."), h("p", null, reset));
	} else {
		sec.append(h("h3", null, "Second factor"),
		    h("p", null, u.second_factor === "enrol" ? "Not set up yet: " +
			"the account sets it up at its next sign-in." : "Not set " +
			"up. The account can add one under Account."));
	}
	return sec;
}
