// test_admin: the console's admin pages in Debian's headless Chromium,
// driven by playwright-core, against the real stack run_admin.py starts
// (nginx with the shipped console.conf, frontdesk-console, frontdesk, an
// SMTP server that turns Woodbury's desk away, PostgreSQL). An admin
// changes Woodbury's email route, and the next request posted through the
// form reaches the new address at the SMTP server; failed mail is retried;
// the audit log shows who changed what, old and new; an account is added
// and disabled; a location added and renamed. axe-core (WCAG 2.1 A and AA)
// on every admin page, populated, at 1280 and 360 px, the confirmation
// dialog open and the banner shown, under the real Content-Security-Policy.
// Prints TAP.
//
// Environment (run_admin.py): FD_BASE_URL, FD_PASSWORDS, FD_REFS
// (references by first name), FD_REJECTED (the address the SMTP server
// refuses), FD_CONNINFO, FD_MAILER (frontdesk-mailer --once, as argv),
// FD_MAIL_CHECK (mail_check.py MAILDIR, as argv), FRONTDESK_BUILD.
import { execFileSync } from "node:child_process";
import { test, assert, sleep, sql, totp, violations, watch, launch,
    closeBrowser, newContext, axe, shots, view, apiStatus, run,
    signIn as signInAs } from "./console_lib.mjs";

const BASE = process.env.FD_BASE_URL;
const PW = JSON.parse(process.env.FD_PASSWORDS || "{}");
const REFS = JSON.parse(process.env.FD_REFS || "{}");
const REJECTED = process.env.FD_REJECTED;
const MAILER = JSON.parse(process.env.FD_MAILER || "[]");
const MAIL_CHECK = JSON.parse(process.env.FD_MAIL_CHECK || "[]");
const NEW_TO = "woodbury.frontdesk@clinic.example";

function signIn(page, user, code = "") {
	return signInAs(page, user, PW[user], code);
}

/* frontdesk-mailer --once: delivers what is due, then exits. */
function mailer() {
	execFileSync(MAILER[0], MAILER.slice(1), { stdio: ["ignore", "ignore",
	    "pipe"] });
}

/* What the SMTP server holds for a reference, parsed by Python's email
 * parser (mail_check.py): [{to, cc, envelope, subject, ...}]. */
function mailFor(ref) {
	return JSON.parse(execFileSync(MAIL_CHECK[0], MAIL_CHECK.slice(1)
	    .concat([ref]), { encoding: "utf-8" }));
}

function dead() {
	return Number(sql("SELECT count(*) FROM outbox WHERE status = 'dead'"));
}

async function status(page, re) {
	await page.waitForFunction((s) => new RegExp(s).test(document
	    .getElementById("status").textContent), re.source);
}

async function title(page, text) {
	await page.waitForFunction((t) => {
		const h = document.getElementById("admin-title");
		return h && h.textContent.includes(t);
	}, text);
}

async function focused(page) {
	return page.evaluate(() => document.activeElement &&
	    document.activeElement.id);
}

/* GET /me's "mail" ({"dead", "oldest_pending_seconds"}, admins only) is
 * the banner's data; `mailOverride` puts a state in its place to show
 * (mail waiting long, which a test cannot wait for), and mailFromApi
 * records that the console answered it. */
let mailFromApi = null;
let mailOverride = null;
async function mailShim(ctx) {
	await ctx.route("**/console/api/me", async (route) => {
		if (route.request().method() !== "GET")
			return route.continue();
		const r = await route.fetch();
		let body;
		try {
			body = await r.json();
		} catch (e) {
			return route.fulfill({ response: r });
		}
		if (r.status() === 200 && body.role === "admin" &&
		    body.second_factor !== "enrol") {
			if (mailFromApi === null)
				mailFromApi = !!body.mail && Number.isInteger(
				    body.mail.dead) && Number.isInteger(
				    body.mail.oldest_pending_seconds);
			if (mailOverride)
				body.mail = mailOverride;
		}
		return route.fulfill({ response: r, json: body });
	});
}

let admin, adminPage;

test("Chromium starts headless (Debian's, no download)", async () => {
	const browser = await launch();
	assert(browser.version(), "a browser version");
});

test("an admin signs in with a second factor: the admin links in the bar",
    async () => {
	admin = await newContext(1280, "America/New_York", {
	    permissions: ["clipboard-read", "clipboard-write"] });
	await mailShim(admin);
	adminPage = watch(await admin.newPage(), "admin");
	const page = adminPage;
	await page.goto(BASE + "/console/");
	await signIn(page, "ada.admin");
	await view(page, "enrol");
	assert(await page.locator("#admin-nav").isHidden(),
	    "no admin links while enrolling");
	await page.fill("#enrol-password", PW["ada.admin"]);
	await page.click("#enrol-host button[type=submit]");
	await page.locator("#enrol-secret").waitFor();
	const secret = (await page.innerText("#enrol-secret")).replace(/\s/g,
	    "");
	await page.fill("#enrol-code", totp(secret));
	await page.click("#enrol-host form:not([hidden]) button[type=submit]");
	await view(page, "inbox");
	await page.locator("#admin-nav").waitFor({ state: "visible" });
	const links = await page.$$eval("#admin-nav a", (as) => as.map((a) =>
	    [a.textContent, a.getAttribute("href")]));
	assert(JSON.stringify(links) === JSON.stringify([
	    ["Requests", "/console/"],
	    ["Locations", "/console/admin/locations"],
	    ["Failed mail", "/console/admin/mail"],
	    ["Accounts", "/console/admin/accounts"],
	    ["Audit log", "/console/admin/audit"]]), "the links: " +
	    JSON.stringify(links));
	assert(await page.getAttribute("#admin-nav a[data-page=inbox]",
	    "aria-current") === "page", "Requests is the current page");
});

test("the banner: failed mail, and mail waiting over 15 minutes",
    async () => {
	const page = adminPage;
	await page.locator("#mail-banner").waitFor({ state: "visible" });
	assert(/3 emails to the front desks could not be delivered/.test(
	    await page.innerText("#mail-banner")), "says how many: " +
	    await page.innerText("#mail-banner"));
	const mail = await page.evaluate(async () => (await (await fetch(
	    "/console/api/me", { headers: { "X-Background": "1" } })).json())
	    .mail);
	assert(mail && mail.dead === 3 && mail.oldest_pending_seconds === 0,
	    "GET /me's mail: " + JSON.stringify(mail));
	await page.waitForSelector("#list li");
	await axe(page, "inbox with the mail banner");
	await shots(page, "admin-banner", "inbox with the mail banner");
	// a message waiting for 20 minutes, none dead
	mailOverride = { dead: 0, oldest_pending_seconds: 20 * 60 };
	await page.reload();
	await view(page, "inbox");
	await page.locator("#mail-banner").waitFor({ state: "visible" });
	assert(/waiting to be sent for 20 minutes/.test(await page.innerText(
	    "#mail-banner")), "stuck: " + await page.innerText("#mail-banner"));
	assert(!/could not be delivered/.test(await page.innerText(
	    "#mail-banner")), "nothing dead said");
	// 10 minutes is not stuck: no banner
	mailOverride = { dead: 0, oldest_pending_seconds: 600 };
	await page.reload();
	await view(page, "inbox");
	await page.waitForSelector("#list li");
	await sleep(200);
	assert(await page.locator("#mail-banner").isHidden(),
	    "no banner for 10 minutes' wait");
	mailOverride = null;
	await page.reload();
	await page.locator("#mail-banner").waitFor({ state: "visible" });
	await page.click("#mail-banner-link");
	await view(page, "admin");
	await title(page, "Failed mail");
	assert(page.url() === BASE + "/console/admin/mail", page.url());
	assert(mailFromApi === true, "GET /me gives an admin its mail");
});

test("staff: no admin links, no banner; the admin pages and API refuse",
    async () => {
	const ctx = await newContext(1280, "America/New_York");
	const page = watch(await ctx.newPage(), "staff");
	await page.goto(BASE + "/console/admin/locations");
	await signIn(page, "wes.desk");
	await view(page, "error");
	assert(/For admins only/.test(await page.innerText("#error-title")),
	    "says why");
	assert(await page.locator("#admin-nav").isHidden(), "no admin links");
	assert(await page.locator("#mail-banner").isHidden(), "no banner");
	for (const p of ["/locations", "/outbox?status=dead", "/users",
	    "/audit"])
		assert(await apiStatus(page, p) === 403, "API " + p + " 403");
	// the request whose email died says so, plainly, with the reply
	await page.goto(BASE + "/console/requests/" + REFS.Dmitri);
	await view(page, "request");
	await page.locator("#delivery-dead").waitFor();
	const box = await page.innerText("#delivery-dead");
	assert(/could not be delivered/.test(box) && /550/.test(box),
	    "the failed email and the server's reply: " + box);
	assert(/Email failed/.test(await page.innerText(".req-meta")),
	    "the badge too");
	await axe(page, "staff: a request whose email failed");
	await shots(page, "admin-staff-dead-request",
	    "staff: a request whose email failed");
	await ctx.close();
});

test("failed mail: the dead messages with the server's replies; retry one",
    async () => {
	const page = adminPage;
	await page.waitForSelector("#dead-table");
	const rows = await page.$$eval("#dead-table tbody tr", (trs) =>
	    trs.map((tr) => tr.innerText));
	assert(rows.length === 3, "three failed: " + rows.length);
	for (const ref of [REFS.Dmitri, REFS.Priya, REFS.Tom])
		assert(rows.some((r) => r.includes(ref)), "lists " + ref);
	assert(rows.every((r) => /550/.test(r) && r.includes(REJECTED)),
	    "each with the server's reply");
	assert(rows.every((r) => /Woodbury/.test(r)), "the location's name");
	assert(await page.getAttribute("#admin-nav a[data-page=mail]",
	    "aria-current") === "page", "Failed mail is the current page");
	await axe(page, "failed mail");
	await shots(page, "admin-mail", "failed mail");
	const id = sql(`SELECT o.id FROM outbox o JOIN appointment_requests r
	    ON r.id = o.request_id WHERE r.reference = '${REFS.Dmitri}'`);
	await page.click("#retry-" + id);
	await status(page, /queued again/);
	assert(await page.locator("#retry-" + id).count() === 0,
	    "no longer in the failed list");
	assert(sql(`SELECT status FROM outbox WHERE id = ${id}`) === "pending",
	    "queued: pending");
	assert(sql(`SELECT actor FROM audit_log WHERE action = 'outbox_retry'
	    AND object = '${id}'`) === "ada.admin", "audited");
	assert(await page.locator("#pending-table").count() === 1,
	    "shown as waiting");
	await axe(page, "failed mail with mail waiting");
	// the mailer tries it: the route is still the refused address
	mailer();
	assert(sql(`SELECT status FROM outbox WHERE id = ${id}`) === "dead",
	    "dead again: the route is unchanged");
	assert(sql(`SELECT count(*) FROM outbox_attempts WHERE outbox_id =
	    ${id}`) === "2", "tried once more");
	await page.reload();
	await page.waitForSelector("#retry-" + id);
});

test("locations: add one, rename it, its thank-you page, disable (asked " +
    "first) and enable", async () => {
	const page = adminPage;
	await page.click("#admin-nav a[data-page=locations]");
	await title(page, "Locations");
	await page.waitForSelector("#locations-table");
	const names = await page.$$eval("#locations-table tbody th", (ths) =>
	    ths.map((t) => t.textContent));
	assert(JSON.stringify(names) === JSON.stringify(["Midtown Manhattan",
	    "Financial District", "Woodbury, Long Island"]), "the list: " +
	    names);
	assert((await page.innerText("#locations-table")).includes(REJECTED),
	    "each with who gets its next email");
	await axe(page, "locations");
	await shots(page, "admin-locations", "locations");
	// add: the short name follows the name until typed
	await page.fill("#location-name", "Brooklyn Heights");
	assert(await page.inputValue("#location-slug") === "brooklyn-heights",
	    "the short name suggested");
	await page.fill("#location-slug", "brooklyn");
	await page.click("#location-add-submit");
	await title(page, "Brooklyn Heights");
	assert(page.url() === BASE + "/console/admin/locations/brooklyn",
	    page.url());
	assert(sql("SELECT name || '|' || active FROM locations WHERE slug = " +
	    "'brooklyn'") === "Brooklyn Heights|true", "stored");
	// no routes: the preview says the default address gets it
	await page.locator("#preview-default").waitFor();
	assert((await page.innerText("#preview-to")).includes(
	    "frontdesk@clinic.example"), "[mail] default_to in the preview");
	// the form offers it at once
	let locs = await (await page.request.get(BASE + "/api/locations"))
	    .json();
	assert(locs.some((l) => l.slug === "brooklyn"), "the form's list");
	// rename, and a thank-you page
	await page.fill("#details-name", "Brooklyn");
	await page.fill("#details-url", "/thank-you/brooklyn/");
	await page.click("#details-save");
	await title(page, "Brooklyn");
	await status(page, /Saved/);
	assert(sql("SELECT name || '|' || thank_you_url FROM locations WHERE " +
	    "slug = 'brooklyn'") === "Brooklyn|/thank-you/brooklyn/",
	    "renamed, its thank-you page set");
	assert(await focused(page) === "details-save", "the focus stays");
	// disable: asked first; Esc cancels, and nothing changes
	await page.click("#location-toggle");
	await page.locator("#confirm[open]").waitFor();
	assert(await focused(page) === "confirm-no",
	    "the focus starts on Cancel");
	assert(/Disable Brooklyn\?/.test(await page.innerText(
	    "#confirm-title")), "the question");
	await axe(page, "a location, the confirmation open");
	await shots(page, "admin-confirm",
	    "a location, the confirmation open");
	await page.keyboard.press("Tab");
	assert(await focused(page) === "confirm-yes", "Tab stays inside");
	await page.keyboard.press("Tab");
	assert(await focused(page) === "confirm-no", "and wraps");
	await page.keyboard.press("Escape");
	await page.locator("#confirm").waitFor({ state: "hidden" });
	assert(await focused(page) === "location-toggle",
	    "the focus back on the button");
	assert(await page.locator("#view-admin").isVisible(),
	    "Esc closed the dialog only");
	assert(sql("SELECT active FROM locations WHERE slug = 'brooklyn'") ===
	    "t", "not disabled");
	await page.click("#location-toggle");
	await page.click("#confirm-yes");
	await status(page, /disabled/);
	assert(sql("SELECT active FROM locations WHERE slug = 'brooklyn'") ===
	    "f", "disabled");
	assert(/Disabled/.test(await page.innerText("#admin-title")),
	    "said in the title");
	locs = await (await page.request.get(BASE + "/api/locations")).json();
	assert(!locs.some((l) => l.slug === "brooklyn"), "off the form");
	// enable: nothing to ask
	await page.click("#location-toggle");
	await status(page, /enabled/);
	assert(await page.locator("#confirm").isHidden(), "no question");
	assert(sql("SELECT active FROM locations WHERE slug = 'brooklyn'") ===
	    "t", "enabled again");
	// Esc goes back to the list
	await page.locator("#admin-title").focus();
	await page.keyboard.press("Escape");
	await title(page, "Locations");
	assert((await page.innerText("#locations-table")).includes(
	    "Brooklyn"), "in the list");
});

test("Woodbury's routes: a new To, the old one removed (asked first), " +
    "the preview follows", async () => {
	const page = adminPage;
	await page.click("#locations-table a[href$='/woodbury']");
	await title(page, "Woodbury, Long Island");
	assert((await page.innerText("#preview-to")).includes(REJECTED),
	    "the preview: its route");
	assert(await page.locator("#preview-default").count() === 0,
	    "not the default address");
	await axe(page, "a location's routes with the preview");
	await shots(page, "admin-routes", "a location's routes with the preview");
	await page.fill("#route-email", NEW_TO);
	await page.selectOption("#route-kind", "to");
	await page.click("#route-add-submit");
	await status(page, /added as To/);
	await page.waitForFunction((a) => document.getElementById("preview-to")
	    .textContent.includes(a), NEW_TO);
	assert((await page.innerText("#preview-to")).includes(REJECTED),
	    "both, for now");
	// the old one, by keyboard: its button, the dialog, Shift+Tab to
	// the action, Enter
	const remove = page.locator(`#routes-table button[data-email="${
	    REJECTED}"]`);
	await remove.focus();
	await page.keyboard.press("Enter");
	await page.locator("#confirm[open]").waitFor();
	assert((await page.innerText("#confirm")).includes(REJECTED),
	    "names the address");
	await page.keyboard.press("Shift+Tab");
	assert(await focused(page) === "confirm-yes", "to Remove route");
	await page.keyboard.press("Enter");
	await status(page, /removed/);
	await page.waitForFunction((a) => !document.getElementById(
	    "preview-to").textContent.includes(a), REJECTED);
	assert((await page.innerText("#preview-to")).trim() === NEW_TO,
	    "the preview: the new address only: " + await page.innerText(
	    "#preview-to"));
	assert(sql("SELECT string_agg(email || ':' || kind, ',') FROM routes " +
	    "r JOIN locations l ON l.id = r.location_id WHERE l.slug = " +
	    "'woodbury'") === NEW_TO + ":to", "stored");
	assert(await focused(page) === "route-email",
	    "the focus on the address field");
	await axe(page, "a location's routes, changed");
});

test("a new Woodbury request through the form: its email goes to the new " +
    "address (at the SMTP server)", async () => {
	const ctx = await newContext();
	const page = watch(await ctx.newPage(), "form");
	await page.goto(BASE + "/");
	await page.waitForFunction(() =>
	    document.querySelectorAll("#location option[value=woodbury]")
	    .length === 1);
	for (const [k, v] of Object.entries({ first_name: "Nadia",
	    last_name: "Haddad", email: "nadia@example.org",
	    phone: "(516) 555-0142", preferred_time: "Friday afternoon",
	    message: "Knee pain after running." }))
		await page.fill("#" + k, v);
	await page.selectOption("#location", "woodbury");
	await page.check("#consent");
	await page.click("#submit");
	await page.locator("#success-ref").waitFor({ state: "visible" });
	const ref = (await page.innerText("#success-ref")).trim();
	await ctx.close();
	mailer();
	const got = mailFor(ref);
	assert(got.length === 1, "one message for " + ref + ": " +
	    JSON.stringify(got));
	assert(JSON.stringify(got[0].to) === JSON.stringify([NEW_TO]),
	    "To: the new address: " + JSON.stringify(got[0].to));
	assert(JSON.stringify(got[0].envelope) === JSON.stringify([NEW_TO]),
	    "the envelope too: " + JSON.stringify(got[0].envelope));
	assert(got[0].subject.includes("Woodbury"), got[0].subject);
	assert(sql(`SELECT o.status FROM outbox o JOIN appointment_requests r
	    ON r.id = o.request_id WHERE r.reference = '${ref}'`) === "sent",
	    "recorded as sent");
});

test("retry all (asked first): Woodbury's failed mail reaches the new " +
    "address", async () => {
	const page = adminPage;
	await page.click("#admin-nav a[data-page=mail]");
	await title(page, "Failed mail");
	await page.waitForSelector("#retry-all");
	assert(await page.innerText("#retry-all") === "Retry all 3",
	    await page.innerText("#retry-all"));
	await page.click("#retry-all");
	await page.locator("#confirm[open]").waitFor();
	await axe(page, "failed mail, the confirmation open");
	await page.click("#confirm-yes");
	await status(page, /3 emails queued again/);
	await page.locator("#dead-none").waitFor();
	mailer();
	for (const ref of [REFS.Dmitri, REFS.Priya, REFS.Tom]) {
		const got = mailFor(ref);
		assert(got.length === 1 && JSON.stringify(got[0].envelope) ===
		    JSON.stringify([NEW_TO]), ref + " reached " + NEW_TO + ": " +
		    JSON.stringify(got));
	}
	assert(dead() === 0, "none dead");
	await page.reload();
	await page.locator("#dead-none").waitFor();
	await page.locator("#pending-none").waitFor();
	assert(await page.locator("#mail-banner").isHidden(),
	    "no banner once all is delivered");
	await axe(page, "failed mail, none");
});

test("the audit log: who changed Woodbury's routes, when, old and new",
    async () => {
	const page = adminPage;
	await page.click("#admin-nav a[data-page=audit]");
	await title(page, "Audit log");
	await page.waitForSelector("#audit-table");
	// frontdeskctl set Woodbury up: by both, who and what
	await page.fill("#audit-user", "ada.admin");
	await page.fill("#audit-reference", "woodbury");
	await page.click("#audit-filters button[type=submit]");
	await page.waitForURL(/user=ada.admin&reference=woodbury/);
	await page.waitForFunction(() => {
		const rows = [...document.querySelectorAll(
		    "#audit-table tbody tr")];
		return rows.length === 2;
	});
	const rows = await page.$$eval("#audit-table tbody tr", (trs) =>
	    trs.map((tr) => ({ text: tr.innerText, at: tr.querySelector(
	    "time").getAttribute("datetime") })));
	// newest first: the removal, then the addition
	assert(/Removed a route/.test(rows[0].text) && rows[0].text.includes(
	    'email: "' + REJECTED + '"') && /kind: "to"/.test(rows[0].text),
	    "the old route, removed: " + rows[0].text);
	assert(/Added a route/.test(rows[1].text) && rows[1].text.includes(
	    'email: "' + NEW_TO + '"'), "the new one, added: " + rows[1].text);
	assert(rows.every((r) => r.text.includes("ada.admin")), "who");
	assert(rows.every((r) => Date.now() - Date.parse(r.at) < 15 * 60000),
	    "when: " + rows.map((r) => r.at));
	assert(rows.every((r) => /127\.0\.0\.1/.test(r.text)), "from where");
	const href = await page.getAttribute("#audit-export", "href");
	assert(href === "/console/api/audit.csv?user=ada.admin&reference=" +
	    "woodbury", "the CSV follows the filters: " + href);
	const csv = await page.evaluate(async (u) => (await fetch(u)).text(),
	    href);
	assert(csv.startsWith("at,user,address,action,object,detail") &&
	    csv.includes("route_remove") && csv.includes("route_add"),
	    "the CSV: " + csv.slice(0, 200));
	await axe(page, "audit log, by what it was done to");
	// by who: the location's rename, old and new
	await page.fill("#audit-reference", "");
	await page.fill("#audit-user", "ada.admin");
	await page.click("#audit-filters button[type=submit]");
	await page.waitForURL(/user=ada.admin/);
	await page.waitForFunction(() => /Brooklyn Heights/.test(document
	    .getElementById("audit-rows").textContent));
	const text = await page.innerText("#audit-rows");
	assert(text.includes('name: "Brooklyn Heights" -> "Brooklyn"'),
	    "old and new name");
	assert(text.includes("thank_you_url: null -> \"/thank-you/brooklyn/\""),
	    "old and new thank-you page");
	assert(text.includes("active: true -> false"), "disabled");
	assert(await page.locator("#audit-newer").isDisabled(), "page 1");
	await axe(page, "audit log, by who");
	await shots(page, "admin-audit", "audit log");
	// paged, 50 a page: sixty rows of one (made up) user
	sql("INSERT INTO audit_log (actor, action, object) SELECT " +
	    "'frontdeskctl:pager', 'export', 'row-' || n FROM " +
	    "generate_series(1, 60) n");
	await page.fill("#audit-user", "frontdeskctl:pager");
	await page.click("#audit-filters button[type=submit]");
	await page.waitForFunction(() => /^50 shown/.test(document
	    .getElementById("audit-meta").textContent));
	assert((await page.innerText("#audit-table tbody tr")).includes(
	    "row-60"), "newest first");
	assert(await page.locator("#audit-newer").isDisabled() &&
	    await page.locator("#audit-older").isEnabled(), "more to see");
	await page.click("#audit-older");
	await page.waitForFunction(() => /^10 shown/.test(document
	    .getElementById("audit-meta").textContent));
	assert(await focused(page) === "audit-meta", "the focus on the count");
	assert(await page.innerText("#audit-page") === "Page 2", "page 2");
	assert(await page.locator("#audit-older").isDisabled(), "the last");
	assert((await page.innerText("#audit-rows")).includes("row-1") &&
	    !(await page.innerText("#audit-rows")).includes("row-11"),
	    "the oldest ten");
	await page.click("#audit-newer");
	await page.waitForFunction(() => /^50 shown/.test(document
	    .getElementById("audit-meta").textContent));
	// Back keeps the filters
	await page.goBack();
	await page.goBack();
	await page.waitForURL(/reference=woodbury/);
	await page.waitForFunction(() => document.getElementById(
	    "audit-reference") && document.getElementById("audit-reference")
	    .value === "woodbury" && document.querySelectorAll(
	    "#audit-table tbody tr").length === 2);
});

let nia = "";
test("accounts: add one (its password once, copied), sign in with it, " +
    "disable it (asked first), enable it", async () => {
	const page = adminPage;
	await page.click("#admin-nav a[data-page=accounts]");
	await title(page, "Accounts");
	await page.waitForSelector("#accounts-table");
	// someone locked out, to see it
	sql("UPDATE users SET locked_until = now() + interval '10 minutes', " +
	    "failed_sign_ins = 5 WHERE username = 'wes.desk'");
	await page.reload();
	await page.waitForSelector("#accounts-table");
	const wes = await page.innerText("#accounts-table tbody tr:has(a[href$=" +
	    "'/wes.desk'])");
	assert(/Locked/.test(wes) && /Woodbury/.test(wes), "wes: " + wes);
	const ada = await page.innerText("#accounts-table tbody tr:has(a[href$=" +
	    "'/ada.admin'])");
	assert(/Admin/.test(ada) && /every location/.test(ada) &&
	    !/never/.test(ada), "ada: signed in, so a last sign-in: " + ada);
	await axe(page, "accounts");
	await shots(page, "admin-accounts", "accounts");
	// add: staff at Woodbury
	await page.fill("#account-name", "nia.desk");
	await page.check("#account-role-staff");
	await page.check("#account-loc-woodbury");
	await page.click("#account-add-submit");
	await page.locator("#new-account").waitFor();
	assert(await focused(page) === "new-account-title",
	    "the focus on the new account's box");
	nia = (await page.innerText("#new-password")).trim();
	assert(nia.length >= 12, "a password: " + nia.length);
	await page.click("#new-password-copy");
	await page.waitForFunction(() => /Copied/.test(document.getElementById(
	    "new-password-copied").textContent));
	assert(await page.evaluate(() => navigator.clipboard.readText()) ===
	    nia, "copied to the clipboard");
	assert(!sql("SELECT string_agg(coalesce(detail, ''), ' ') FROM " +
	    "audit_log").includes(nia), "never in the audit log");
	await axe(page, "accounts, a new password shown");
	await shots(page, "admin-account-added", "accounts, a new password " +
	    "shown");
	assert((await page.innerText("#accounts-table")).includes("nia.desk"),
	    "in the list");
	await page.click("#new-password-done");
	assert(await page.locator("#new-password").count() === 0,
	    "gone once done");
	// nia signs in with it
	const ctx = await newContext();
	const np = watch(await ctx.newPage(), "nia");
	await np.goto(BASE + "/console/");
	await signInAs(np, "nia.desk", nia);
	await view(np, "inbox");
	await np.waitForSelector("#list li");
	assert(await np.locator("#admin-nav").isHidden(), "staff: no links");
	// disable: asked first
	await page.click("#accounts-table a[href$='/nia.desk']");
	await title(page, "nia.desk");
	await axe(page, "an account");
	await shots(page, "admin-account", "an account");
	await page.click("#account-toggle");
	await page.locator("#confirm[open]").waitFor();
	assert(/Disable nia\.desk\?/.test(await page.innerText(
	    "#confirm-title")), "the question");
	await axe(page, "an account, the confirmation open");
	await page.click("#confirm-yes");
	await status(page, /disabled/);
	assert(sql("SELECT enabled FROM users WHERE username = 'nia.desk'") ===
	    "f", "disabled");
	assert(await apiStatus(np, "/me") === 401, "nia's session ended");
	await page.click("#account-toggle");
	await status(page, /enabled/);
	assert(sql("SELECT enabled FROM users WHERE username = 'nia.desk'") ===
	    "t", "enabled");
	// a second location
	await page.check("#edit-loc-midtown");
	await page.click("#role-save");
	await status(page, /Saved/);
	assert(sql("SELECT string_agg(l.slug, ',' ORDER BY l.slug) FROM " +
	    "user_locations ul JOIN users u ON u.id = ul.user_id JOIN " +
	    "locations l ON l.id = ul.location_id WHERE u.username = " +
	    "'nia.desk'") === "midtown,woodbury", "both locations");
	await ctx.close();
});

test("reset a second factor (asked first)", async () => {
	const page = adminPage;
	await page.goto(BASE + "/console/admin/accounts/sam.desk");
	await title(page, "sam.desk");
	await page.click("#reset-2fa");
	await page.locator("#confirm[open]").waitFor();
	assert(/second factor/.test(await page.innerText("#confirm-title")),
	    "the question");
	await page.click("#confirm-no");
	assert(sql("SELECT totp_secret IS NOT NULL FROM users WHERE username " +
	    "= 'sam.desk'") === "t", "cancelled: still on");
	await page.click("#reset-2fa");
	await page.click("#confirm-yes");
	await status(page, /was reset/);
	assert(sql("SELECT totp_secret IS NULL FROM users WHERE username = " +
	    "'sam.desk'") === "t", "reset");
	assert(sql("SELECT actor FROM audit_log WHERE action = " +
	    "'user_reset_2fa' AND object = 'sam.desk'") === "ada.admin",
	    "audited");
	assert(await page.locator("#reset-2fa").count() === 0,
	    "nothing left to reset");
});

test("no page broke the Content-Security-Policy, threw, or sent a " +
    "change without its CSRF token", async () => {
	const seen = violations.splice(0);
	assert(seen.length === 0, seen.join("\n"));
});

test("close the browser", async () => {
	await closeBrowser();
});

await run();
