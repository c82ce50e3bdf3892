/* admin-locations.js: the locations (add; rename, enable and disable, the
 * thank-you page) and each location's email routes (To, Cc, Bcc), with a
 * preview of who gets the location's next email: the API's next_email,
 * which the console computes by the mailer's own rule (its routes, else
 * [mail] default_to), so the page never guesses. Every change reaches
 * the next request and the next email at once, and is audited. */
import { h, announce, showError, $ } from "./dom.js";
import { call } from "./api.js";
import { confirmAction } from "./confirm.js";
import { ADMIN, KINDS, kindLabel, startPage, focusTitle, pageError,
    errorBox, fail, table, none, addressList, nextSummary } from
    "./admin-ui.js";

const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;

let navigate = null;
let afterChange = null;	/* the app's: the locations in GET /me changed */

export function setupLocations(nav, changed) {
	navigate = nav;
	afterChange = changed;
}

function locationUrl(slug) {
	return ADMIN + "/locations/" + encodeURIComponent(slug);
}

function statusBadge(l) {
	return h("span", { class: "badge " + (l.active ? "state-on" :
	    "state-off") }, l.active ? "Active" : "Disabled");
}

/* -- the list */
export async function showLocations() {
	let locs;
	try {
		locs = await call("GET", "/locations");
	} catch (e) {
		if (e.status !== 401)
			pageError("Locations", e);
		return;
	}
	const host = startPage("Locations");
	host.append(h("p", { class: "lead" }, "Each location is a choice on " +
	    "the appointment form and has its own front desk email. Changes " +
	    "here apply to the next request and the next email; nothing " +
	    "needs restarting."));
	host.append(table("locations-table", "Locations, in the order they " +
	    "were added", ["Location", "Status", "Its next email goes to",
	    "In the form as"], locs.map((l) => [
		{ th: h("a", { href: locationUrl(l.slug), "data-nav": true },
		    l.name) },
		statusBadge(l),
		nextSummary(l.next_email),
		h("code", null, l.slug)])));
	host.append(addForm());
	focusTitle();
}

function slugFrom(name) {
	return name.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g,
	    "").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "")
	    .slice(0, 64);
}

function addForm() {
	const err = errorBox("location-add-error");
	const name = h("input", { type: "text", id: "location-name",
	    maxlength: "100", required: true, autocomplete: "off" });
	const slug = h("input", { type: "text", id: "location-slug",
	    maxlength: "64", required: true, spellcheck: "false",
	    autocapitalize: "none", autocomplete: "off",
	    "aria-describedby": "location-slug-hint" });
	const url = h("input", { type: "text", id: "location-url",
	    maxlength: "500", spellcheck: "false", autocapitalize: "none",
	    autocomplete: "off", inputmode: "url",
	    "aria-describedby": "location-url-hint" });
	let slugTouched = false;
	slug.addEventListener("input", () => {
		slugTouched = slug.value !== "";
	});
	name.addEventListener("input", () => {
		if (!slugTouched)
			slug.value = slugFrom(name.value);
	});
	const form = h("form", { id: "location-add", class: "admin-form",
	    novalidate: true, "aria-labelledby": "location-add-title" },
	    h("h2", { id: "location-add-title" }, "Add a location"),
	    err,
	    h("div", { class: "field" },
		h("label", { for: "location-name" }, "Name"),
		name),
	    h("div", { class: "field" },
		h("label", { for: "location-slug" }, "Short name"),
		h("p", { class: "hint", id: "location-slug-hint" }, "What the " +
		    "form sends: a-z, 0-9 and hyphens, such as brooklyn. It " +
		    "cannot be changed later."),
		slug),
	    h("div", { class: "field" },
		h("label", { for: "location-url" }, "Thank-you page (optional)"),
		h("p", { class: "hint", id: "location-url-hint" }, "Where the " +
		    "form goes after a request: a path on the site (/thank-you/" +
		    "brooklyn/) or an https:// address. Empty: the clinic's " +
		    "usual thank-you page."),
		url),
	    h("button", { type: "submit", id: "location-add-submit" },
		"Add location"));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const body = { slug: slug.value.trim(), name: name.value.trim() };
		if (url.value.trim())
			body.thank_you_url = url.value.trim();
		if (!body.name) {
			showError(err, "Give the location a name.");
			name.focus();
			return;
		}
		if (!SLUG.test(body.slug)) {
			showError(err, "The short name is 1 to 64 of a-z, 0-9 and " +
			    "hyphens, starting with a letter or digit.");
			slug.focus();
			return;
		}
		try {
			const l = await call("POST", "/locations", { body });
			showError(err, "");
			if (afterChange)
				await afterChange();
			await navigate(locationUrl(l.slug));
			announce("Location " + l.name + " added. Add who gets its " +
			    "email.");
		} catch (e) {
			fail(err, e);
		}
	});
	return form;
}

/* -- one location */
export async function showLocation(slug) {
	const back = { href: ADMIN + "/locations", text: "All locations" };
	let l;
	try {
		l = (await call("GET", "/locations")).find((x) => x.slug === slug);
	} catch (e) {
		if (e.status !== 401)
			pageError("Location", e, back);
		return;
	}
	if (!l) {
		pageError("Location not found", { status: 404 }, back);
		focusTitle();
		return;
	}
	render(l);
	focusTitle();
}

async function reload(slug, keep) {
	const l = (await call("GET", "/locations")).find((x) => x.slug === slug);
	if (!l)
		return showLocation(slug);
	render(l);
	const el = keep && $(keep);
	if (el)
		el.focus();
	else
		focusTitle();
}

function render(l) {
	const host = startPage(l.name, { href: ADMIN + "/locations",
	    text: "All locations" });
	$("admin-title").append(" ", statusBadge(l));
	host.append(h("div", { class: "admin-grid" },
	    h("div", null, preview(l), routes(l)),
	    h("div", null, details(l), availability(l))));
}

function preview(l) {
	const n = l.next_email || {};
	const nobody = !["to", "cc", "bcc"].some((k) => Array.isArray(n[k]) &&
	    n[k].length);
	return h("section", { class: "panel preview", id: "preview",
	    "aria-labelledby": "preview-title" },
	    h("h2", { id: "preview-title" }, "Who gets the next email"),
	    h("p", { class: "hint" }, "As the mailer will send it, from " +
		"this location's routes now."),
	    h("dl", { class: "recipients" }, KINDS.map((k) =>
		h("div", { class: "kv" }, h("dt", null, k.label),
		    h("dd", { id: "preview-" + k.value },
			addressList(n[k.value]))))),
	    nobody ? h("p", { class: "warn-box" }, h("strong", null,
		"Nobody: the next email cannot be delivered."), " Add a To " +
		"route, or ask whoever runs the server to set [mail] " +
		"default_to.") : n.default ? h("p", { class: "notice",
		id: "preview-default" }, "This location has no routes, so " +
		"its email goes to the clinic's default address ([mail] " +
		"default_to in the mailer's configuration). Add a route to " +
		"send it to this location's desk.") : null);
}

function routes(l) {
	const err = errorBox("route-error");
	const list = Array.isArray(l.routes) ? l.routes : [];
	const sec = h("section", { class: "panel", "aria-labelledby":
	    "routes-title" },
	    h("h2", { id: "routes-title" }, "Email routes"),
	    err);
	if (list.length)
		sec.append(table("routes-table", "Who gets " + l.name + "'s " +
		    "email", ["Address", "As", "Remove"], list.map((r, i) => [
			{ th: h("code", null, r.email) },
			kindLabel(r.kind),
			{ action: h("button", { type: "button",
			    class: "quiet small", id: "route-remove-" + i,
			    "data-email": r.email, "aria-label": "Remove " +
			    r.email, onclick: () => removeRoute(l, r, err) },
			    "Remove") }])));
	else
		sec.append(h("p", { class: "none" }, "No routes yet."));
	const email = h("input", { type: "email", id: "route-email",
	    maxlength: "254", required: true, spellcheck: "false",
	    autocapitalize: "none", autocomplete: "off" });
	const kind = h("select", { id: "route-kind" }, KINDS.map((k) =>
	    h("option", { value: k.value }, k.label)));
	const form = h("form", { id: "route-add", class: "inline-form",
	    novalidate: true, "aria-labelledby": "route-add-title" },
	    h("h3", { id: "route-add-title" }, "Add an address"),
	    h("div", { class: "inline-fields" },
		h("div", { class: "field grow" },
		    h("label", { for: "route-email" }, "Email address"), email),
		h("div", { class: "field" },
		    h("label", { for: "route-kind" }, "As"), kind),
		h("div", { class: "field" },
		    h("button", { type: "submit", id: "route-add-submit" },
			"Add route"))));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const v = email.value.trim();
		if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) {
			showError(err, "Give a plain email address, such as " +
			    "frontdesk@clinic.example.");
			email.focus();
			return;
		}
		try {
			await call("POST", "/locations/" + encodeURIComponent(
			    l.slug) + "/routes", { body: { email: v,
			    kind: kind.value } });
			await reload(l.slug, "route-email");
			announce(v + " added as " + kindLabel(kind.value) + ". It " +
			    "gets " + l.name + "'s next email.");
		} catch (e) {
			fail(err, e);
		}
	});
	sec.append(form);
	return sec;
}

async function removeRoute(l, r, err) {
	const ok = await confirmAction({
		title: "Remove " + r.email + "?",
		text: "From the next email on, " + r.email + " no longer gets " +
		    l.name + "'s requests (" + kindLabel(r.kind) + "). Email " +
		    "already sent stays sent.",
		yes: "Remove route",
	});
	if (!ok)
		return;
	try {
		await call("DELETE", "/locations/" + encodeURIComponent(l.slug) +
		    "/routes/" + encodeURIComponent(r.email));
		await reload(l.slug, "route-email");
		announce(r.email + " removed from " + l.name + "'s email.");
	} catch (e) {
		fail(err, e);
	}
}

function details(l) {
	const err = errorBox("details-error");
	const name = h("input", { type: "text", id: "details-name",
	    maxlength: "100", required: true, value: l.name,
	    autocomplete: "off" });
	const url = h("input", { type: "text", id: "details-url",
	    maxlength: "500", spellcheck: "false", autocapitalize: "none",
	    autocomplete: "off", inputmode: "url", value: l.thank_you_url || "",
	    "aria-describedby": "details-url-hint" });
	const form = h("form", { id: "details-form", class: "panel",
	    novalidate: true, "aria-labelledby": "details-title" },
	    h("h2", { id: "details-title" }, "Name and thank-you page"),
	    err,
	    h("div", { class: "field" },
		h("label", { for: "details-name" }, "Name"), name),
	    h("div", { class: "field" },
		h("label", { for: "details-url" }, "Thank-you page"),
		h("p", { class: "hint", id: "details-url-hint" }, "A path on " +
		    "the site or an https:// address. Empty: the clinic's " +
		    "usual thank-you page."),
		url),
	    h("p", { class: "hint" }, "Short name: ", h("code", null, l.slug),
		" (it cannot change)."),
	    h("button", { type: "submit", id: "details-save" }, "Save"));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const body = {};
		const n = name.value.trim();
		const u = url.value.trim();
		if (!n) {
			showError(err, "A location needs a name.");
			name.focus();
			return;
		}
		if (n !== l.name)
			body.name = n;
		if (u !== (l.thank_you_url || ""))
			body.thank_you_url = u || null;
		if (!Object.keys(body).length) {
			showError(err, "");
			announce("Nothing changed.");
			return;
		}
		try {
			await call("PATCH", "/locations/" + encodeURIComponent(
			    l.slug), { body });
			if (afterChange)
				await afterChange();
			await reload(l.slug, "details-save");
			announce("Saved. The form and the next email use it now.");
		} catch (e) {
			fail(err, e);
		}
	});
	return form;
}

function availability(l) {
	const err = errorBox("active-error");
	const button = h("button", { type: "button", id: "location-toggle",
	    class: l.active ? "danger" : "" }, l.active ? "Disable location" :
	    "Enable location");
	button.addEventListener("click", async () => {
		if (l.active && !await confirmAction({
			title: "Disable " + l.name + "?",
			text: "The appointment form stops offering it. Requests " +
			    "already received stay in the inbox, and their email " +
			    "still goes out. You can enable it again at any time.",
			yes: "Disable location",
		}))
			return;
		try {
			await call("PATCH", "/locations/" + encodeURIComponent(
			    l.slug), { body: { active: !l.active } });
			if (afterChange)
				await afterChange();
			await reload(l.slug, "location-toggle");
			announce(l.name + (l.active ? " disabled: the form no " +
			    "longer offers it." : " enabled: the form offers it " +
			    "again."));
		} catch (e) {
			fail(err, e);
		}
	});
	return h("section", { class: "panel", "aria-labelledby":
	    "active-title" },
	    h("h2", { id: "active-title" }, "On the form"),
	    err,
	    h("p", null, l.active ? "Active: patients can choose it on the " +
		"appointment form." : "Disabled: the form does not offer it. " +
		"Its requests and their email are kept."),
	    button);
}
