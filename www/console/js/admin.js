/* admin.js: the admin pages, PREFIX/admin/...: locations and their email
 * routes, failed mail, accounts and the audit log. The page shows them to
 * admins only; the API answers them to admins only (403), which is what
 * decides. */
import { setupLocations, showLocations, showLocation } from
    "./admin-locations.js";
import { setupMail, showMail } from "./admin-mail.js";
import { setupAccounts, showAccounts, showAccount } from
    "./admin-accounts.js";
import { setupAudit, showAudit } from "./admin-audit.js";
import { dismissConfirm } from "./confirm.js";

/* The admin page an address names (p: the path below PREFIX), or null. */
export function adminWhere(p) {
	let m;
	if (p === "/admin" || p === "/admin/")
		return { page: "locations", redirect: true };
	if ((m = /^\/admin\/(locations|mail|accounts|audit)\/?$/.exec(p)))
		return { page: m[1] };
	if ((m = /^\/admin\/locations\/([^/]+)\/?$/.exec(p)))
		return { page: "location", nav: "locations",
		    slug: decodeURIComponent(m[1]) };
	if ((m = /^\/admin\/accounts\/([^/]+)\/?$/.exec(p)))
		return { page: "account", nav: "accounts",
		    name: decodeURIComponent(m[1]) };
	return null;
}

/* hooks: navigate(url), meChanged() (GET /me again: locations, the
 * banner), selfSignedOut() (the admin disabled or reset themself). */
export function setupAdmin(hooks) {
	setupLocations(hooks.navigate, hooks.meChanged);
	setupMail(hooks.meChanged);
	setupAccounts(hooks.navigate, hooks.selfSignedOut);
	setupAudit(hooks.navigate);
}

export function showAdmin(me, w) {
	switch (w.page) {
	case "locations": return showLocations();
	case "location": return showLocation(w.slug);
	case "mail": return showMail();
	case "accounts": return showAccounts(me);
	case "account": return showAccount(me, w.name);
	case "audit": return showAudit();
	}
	return undefined;
}

export function forgetAdmin() {
	dismissConfirm();
	const host = document.getElementById("admin-host");
	if (host)
		host.replaceChildren();
}
