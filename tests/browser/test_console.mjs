// test_console: the staff console in Debian's headless Chromium, driven by
// playwright-core, against the real stack run_console.py starts (nginx with
// the shipped console.conf, frontdesk-console, frontdesk, the mailer,
// PostgreSQL). Accessibility by axe-core (WCAG 2.1 A and AA) on populated
// pages, under the console's real Content-Security-Policy: no bypassCSP,
// and every CSP violation any page reports fails the last test. Prints TAP.
//
// Environment (run_console.py): FD_BASE_URL, FD_WEBMAIL_URL (another site,
// a page of the emails' console links), FD_IDLE_URL (a console with a
// FD_IDLE_SECONDS idle timeout), FD_PASSWORDS, FD_REFS (references by
// first name), FD_LINKS (each email's console link by reference),
// FD_CONNINFO (the database, to check what the pages did),
// FRONTDESK_BUILD (screenshots go to $FRONTDESK_BUILD/browser-screenshots).
// The runner, the browser, axe and the screenshots: console_lib.mjs.
import { execFileSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { test, assert, sleep, sql, totp, freshStep, violations, watch,
    launch, closeBrowser, newContext, axe, shots, view, apiStatus, tabTo,
    run, CSP, signIn as signInAs } from "./console_lib.mjs";

const BASE = process.env.FD_BASE_URL;
const WEBMAIL = process.env.FD_WEBMAIL_URL;
const IDLE_URL = process.env.FD_IDLE_URL;
const IDLE_SECONDS = Number(process.env.FD_IDLE_SECONDS || 30);
const RU = process.env.FD_RU_URL;
const PW = JSON.parse(process.env.FD_PASSWORDS || "{}");
const REFS = JSON.parse(process.env.FD_REFS || "{}");
const LINKS = JSON.parse(process.env.FD_LINKS || "{}");

function signIn(page, user, code = "") {
	return signInAs(page, user, PW[user], code);
}

function rowText(page, ref) {
	return page.locator(`#list li[data-ref="${ref}"]`).innerText();
}

async function focusedRef(page) {
	return page.evaluate(() => {
		const li = document.activeElement &&
		    document.activeElement.closest("li[data-ref]");
		return li ? li.dataset.ref : null;
	});
}

let adminSecret = "";
let adminStep = 0;

test("Chromium starts headless (Debian's, no download)", async () => {
	const browser = await launch();
	assert(browser.version(), "a browser version");
});

test("the TOTP here agrees with oathtool", async () => {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
	let want;
	try {
		want = execFileSync("oathtool", ["--totp", "-b", secret],
		    { encoding: "utf-8" }).trim();
	} catch (e) {
		return; // no oathtool: the RFC vectors below still hold
	}
	const now = Math.floor(Date.now() / 30000);
	assert([totp(secret, now), totp(secret, now - 1)].includes(want),
	    "oathtool " + want);
	// RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits) -> 287082
	assert(totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1) === "287082",
	    "RFC 6238 vector");
});

test("every answer under /console/ has the security headers", async () => {
	const ctx = await newContext();
	const req = ctx.request;
	for (const path of ["/console/", "/console/requests/" + REFS.Maria,
	    "/console/account", "/console/console.css", "/console/js/app.js",
	    "/console/api/me", "/console/nothing-here"]) {
		const r = await req.get(BASE + path, { maxRedirects: 0 });
		const h = r.headers();
		assert(h["cache-control"] === "no-store", path + " cache-control " +
		    h["cache-control"]);
		assert(h["x-content-type-options"] === "nosniff", path +
		    " nosniff");
		assert(h["referrer-policy"] === "no-referrer", path + " referrer");
		assert(h["content-security-policy"] === CSP, path + " CSP: " +
		    h["content-security-policy"]);
		if (path === "/console/api/me")
			assert(r.status() === 401, "no session: 401");
		if (path === "/console/nothing-here")
			assert(r.status() === 404, "a missing file: 404");
		else if (path !== "/console/api/me")
			assert(r.status() === 200, path + " " + r.status());
	}
	const page = await (await req.get(BASE + "/console/requests/" +
	    REFS.Maria)).text();
	assert(!/<script>|<script [^>]*>[^<]|\sstyle=|\son[a-z]+=/i.test(page
	    .replace(/<!--[\s\S]*?-->/g, "")),
	    "no inline script, style or handler in the page");
	await ctx.close();
});

/* A GET from a given local address (127.0.0.2 is "another host"). */
function getFrom(url, localAddress) {
	return new Promise((resolve, reject) => {
		const r = httpRequest(url, { localAddress }, (res) => {
			res.resume();
			res.on("end", () => resolve(res.statusCode));
		});
		r.on("error", reject);
		r.end();
	});
}

test("metrics: this host only, in both nginx files", async () => {
	for (const base of [BASE, RU]) {
		const url = base + "/console/api/metrics";
		assert(await getFrom(url, "127.0.0.1") === 200, "from here: " +
		    url);
		assert(await getFrom(url, "127.0.0.2") === 403, "from another " +
		    "address: " + url);
	}
});

test("the clinic's public form and thank-you page: no axe violation",
    async () => {
	const ctx = await newContext();
	const page = watch(await ctx.newPage(), "form");
	await page.goto(BASE + "/");
	await page.waitForFunction(() =>
	    document.querySelectorAll("#location option").length > 1);
	await axe(page, "public form (www/index.html)");
	await page.click("#submit");
	await page.locator("#error-summary").waitFor({ state: "visible" });
	await axe(page, "public form with errors");
	await page.goto(BASE + "/thank-you/?ref=" + REFS.Maria);
	await axe(page, "thank-you page");
	await ctx.close();
});

let staff, staffPage;

test("sign-in page: name, password and the code field, always", async () => {
	staff = await newContext();
	staffPage = watch(await staff.newPage(), "staff");
	const page = staffPage;
	await page.goto(BASE + "/console/");
	await view(page, "signin");
	for (const id of ["signin-username", "signin-password", "signin-code"]) {
		assert(await page.locator(`label[for="${id}"]`).count() === 1,
		    "a label for " + id);
		assert(await page.locator("#" + id).isVisible(), id + " shown");
	}
	assert(await page.getAttribute("#signin-code", "autocomplete") ===
	    "one-time-code", "the code field is a one-time code");
	assert(await page.evaluate(() => document.activeElement.id) ===
	    "signin-username", "the focus starts on the name");
	await axe(page, "sign-in page");
	await shots(page, "console-signin", "sign-in page");
});

test("a wrong password: one message, and the page says so", async () => {
	const page = staffPage;
	await page.fill("#signin-username", "sam.desk");
	await page.fill("#signin-password", "not the password at all");
	const answer = page.waitForResponse((r) =>
	    r.url().endsWith("/console/api/session"));
	await page.click("#signin-submit");
	assert((await answer).status() === 401, "401");
	await page.locator("#signin-error").waitFor({ state: "visible" });
	assert(/Sign-in failed/.test(await page.innerText("#signin-error")),
	    "the error text");
	assert(await page.evaluate(() => document.activeElement.id) ===
	    "signin-error", "the focus on the error");
	assert(await page.inputValue("#signin-password") === "",
	    "the password field emptied");
	await axe(page, "sign-in page with an error");
	await shots(page, "console-signin-error");
});

test("an admin enrols a second factor: QR code or secret, then a code",
    async () => {
	const ctx = await newContext();
	const page = watch(await ctx.newPage(), "admin");
	await page.goto(BASE + "/console/");
	await signIn(page, "ada.admin");
	await view(page, "enrol");
	assert(await page.locator("#session-bar").isVisible(),
	    "sign-out is offered while enrolling");
	await page.fill("#enrol-password", PW["ada.admin"]);
	await page.click("#enrol-host button[type=submit]");
	await page.locator("#enrol-secret").waitFor();
	adminSecret = (await page.innerText("#enrol-secret")).replace(/\s/g,
	    "");
	assert(/^[A-Z2-7]{32}$/.test(adminSecret), "a base32 secret: " +
	    adminSecret);
	const link = await page.getAttribute("#enrol-host a[href^='otpauth:']",
	    "href");
	assert(link && link.includes("secret=" + adminSecret),
	    "the otpauth link carries the secret");
	const qr = page.locator("#enrol-host img.qr");
	if (await qr.count()) {
		assert(/^data:image\/svg\+xml/.test(await qr.getAttribute("src")),
		    "the QR code as a data: image");
		assert(await qr.evaluate((img) => img.complete &&
		    img.naturalWidth > 0), "the QR image renders under the CSP");
	}
	await axe(page, "second-factor enrolment");
	await shots(page, "console-enrol", "second-factor enrolment");
	// A wrong code first: the page says so and stays.
	await page.fill("#enrol-code", totp(adminSecret) === "000000" ?
	    "111111" : "000000");
	await page.click("#enrol-host form:not([hidden]) button[type=submit]");
	await page.locator("#enrol-host .error-box").waitFor({ state:
	    "visible" });
	adminStep = Math.floor(Date.now() / 30000);
	await page.fill("#enrol-code", totp(adminSecret, adminStep));
	await page.click("#enrol-host form:not([hidden]) button[type=submit]");
	await view(page, "inbox");
	await page.waitForSelector("#list li");
	const opts = await page.$$eval("#filter-location option",
	    (os) => os.map((o) => o.value));
	assert(JSON.stringify(opts) === JSON.stringify(["", "midtown", "fidi",
	    "woodbury"]), "an admin sees every location: " + opts);
	assert(sql("SELECT totp_secret IS NOT NULL FROM users WHERE " +
	    "username = 'ada.admin'") === "t", "enrolled in the database");
	// Sign out, and sign in again with a code: one step.
	await page.click("#sign-out");
	await view(page, "signin");
	const step = await freshStep(adminStep);
	await signIn(page, "ada.admin", totp(adminSecret, step));
	adminStep = step;
	await view(page, "inbox");
	assert(await page.innerText("#who") === "ada.admin (admin)", "who");
	await ctx.close();
});

test("enrolment without qr_svg: the secret and the otpauth link as text",
    async () => {
	const ctx = await newContext();
	const page = watch(await ctx.newPage(), "admin-reenrol");
	await page.goto(BASE + "/console/account");
	const step = await freshStep(adminStep);
	adminStep = step;
	await signIn(page, "ada.admin", totp(adminSecret, step));
	await view(page, "account");
	// the API's own answer, less its QR code, as an API without one
	await page.route("**/console/api/me/2fa", async (route) => {
		const r = await route.fetch();
		const body = await r.json();
		assert(typeof body.qr_svg === "string", "the API gave one");
		delete body.qr_svg;
		await route.fulfill({ response: r, json: body });
	});
	await page.click("#account-enrol-host button");
	await page.fill("#account-enrol-password", PW["ada.admin"]);
	await page.click("#account-enrol-host button[type=submit]");
	await page.locator("#account-enrol-secret").waitFor();
	assert(await page.locator("#account-enrol-host img").count() === 0,
	    "no image");
	const secret = (await page.innerText("#account-enrol-secret"))
	    .replace(/\s/g, "");
	assert(/^[A-Z2-7]{32}$/.test(secret), "the secret: " + secret);
	const text = await page.innerText("#account-enrol-host");
	assert(text.includes("otpauth://totp/") && text.includes(secret),
	    "the URI as text");
	assert(await page.locator("#account-enrol-host a[href^='otpauth:']")
	    .count() === 1, "and as a link");
	await axe(page, "second-factor enrolment without a QR code");
	await ctx.close();
});

test("an admin without the code is refused", async () => {
	const ctx = await newContext();
	const page = watch(await ctx.newPage(), "admin2");
	await page.goto(BASE + "/console/");
	await signIn(page, "ada.admin", "");
	await page.locator("#signin-error").waitFor({ state: "visible" });
	assert(await page.locator("#view-inbox").isHidden(), "no inbox");
	await ctx.close();
});

test("staff inbox: own locations, newest first, unread bold, counts",
    async () => {
	const page = staffPage;
	await signIn(page, "sam.desk");
	await view(page, "inbox");
	await page.waitForSelector("#list li");
	const opts = await page.$$eval("#filter-location option",
	    (os) => os.map((o) => o.value));
	assert(JSON.stringify(opts) === JSON.stringify(["", "midtown", "fidi"]),
	    "the staff's locations only: " + opts);
	const rows = await page.$$eval("#list li", (ls) => ls.map((l) =>
	    l.dataset.ref));
	assert(rows.length === 50, "a page of 50: " + rows.length);
	assert(!rows.includes(REFS.Dmitri), "no Woodbury request");
	const times = await page.$$eval("#list li time", (ts) =>
	    ts.map((t) => Date.parse(t.getAttribute("datetime"))));
	assert(times.every((t, i) => i === 0 || t <= times[i - 1]),
	    "newest first");
	const weight = await page.$eval("#list li.unread .r-name", (el) =>
	    getComputedStyle(el).fontWeight);
	assert(Number(weight) >= 700, "unread in bold: " + weight);
	const counts = await page.innerText("#triage-filter");
	// 37 Midtown and Financial District requests... of 56, the Woodbury
	// ones left out, plus the caught one is spam (not counted here).
	const want = Number(sql("SELECT count(*) FROM appointment_requests r " +
	    "JOIN locations l ON l.id = r.location_id WHERE l.slug IN " +
	    "('midtown', 'fidi') AND r.status = 'received'"));
	assert(counts.includes("All " + want) || counts.includes("All\n" +
	    want) || new RegExp("All\\s*" + want).test(counts),
	    "All " + want + " in " + JSON.stringify(counts));
	assert(/New\s*\d+/.test(counts), "counts per state: " + counts);
	const zone = await page.innerText("#zone-note");
	const tz = await page.evaluate(() =>
	    Intl.DateTimeFormat().resolvedOptions().timeZone);
	assert(zone.includes(tz), "the zone named: " + zone);
	await axe(page, "inbox with requests");
	await shots(page, "console-inbox", "inbox with requests");
});

test("inbox: paging, filter by location and state, search", async () => {
	const page = staffPage;
	await page.click("#page-older");
	await page.waitForFunction(() => document.getElementById(
	    "page-number").textContent === "Page 2");
	const more = await page.locator("#list li").count();
	assert(more >= 1, "a second page");
	assert(await page.locator("#page-older").isDisabled(), "the last page");
	await page.click("#page-newer");
	await page.waitForFunction(() => document.getElementById(
	    "page-number").textContent === "Page 1");

	await page.selectOption("#filter-location", "fidi");
	await page.waitForURL(/location=fidi/);
	await page.waitForFunction(() => [...document.querySelectorAll(
	    "#list .r-loc")].every((e) => e.textContent ===
	    "Financial District"));
	await page.fill("#filter-q", "O'Neil");
	await page.press("#filter-q", "Enter");
	await page.waitForURL(/q=O/);
	await page.waitForFunction(() => [...document.querySelectorAll(
	    "#list .r-name")].every((e) => /O'Neil/.test(e.textContent)));
	await page.click("#filter-clear");
	await page.waitForFunction(() => !location.search);
	// by email, any case (no digits: those would match phones too)
	await page.fill("#filter-q", "WEI.CHEN@EXAMPLE.ORG");
	await page.press("#filter-q", "Enter");
	await page.waitForFunction((ref) => {
		const ls = document.querySelectorAll("#list li");
		return ls.length === 1 && ls[0].dataset.ref === ref;
	}, REFS.Wei);
	// by phone digits and by reference
	await page.fill("#filter-q", "5550101");
	await page.press("#filter-q", "Enter");
	await page.waitForFunction(() => {
		const ns = [...document.querySelectorAll("#list .r-name")];
		return ns.length > 0 && ns.every((e) =>
		    /Aisha/.test(e.textContent));
	});
	await page.fill("#filter-q", REFS.Maria);
	await page.press("#filter-q", "Enter");
	await page.waitForFunction((ref) => {
		const ls = document.querySelectorAll("#list li");
		return ls.length === 1 && ls[0].dataset.ref === ref;
	}, REFS.Maria);
	await page.fill("#filter-q", "nobody-by-that-name");
	await page.press("#filter-q", "Enter");
	await page.locator("#list-empty").waitFor({ state: "visible" });
	await axe(page, "inbox, nothing found");
	await page.click("#filter-clear");
	await page.waitForSelector("#list li");
	// the triage filter: Closed has none yet
	await page.click("#triage-filter .triage-closed");
	await page.waitForURL(/triage=closed/);
	await page.locator("#list-empty").waitFor({ state: "visible" });
	await page.click("#triage-filter .triage-all");
	await page.waitForSelector("#list li");
	// the CSV of what the filters show, from the API
	await page.selectOption("#filter-location", "midtown");
	await page.waitForURL(/location=midtown/);
	const href = await page.getAttribute("#export", "href");
	assert(href === "/console/api/requests.csv?location=midtown",
	    "the export follows the filters: " + href);
	const csv = await page.evaluate(async (u) => {
		const r = await fetch(u);
		return [r.status, r.headers.get("Content-Type"), await r.text()];
	}, href);
	assert(csv[0] === 200 && /text\/csv/.test(csv[1]), "CSV: " + csv[0] +
	    " " + csv[1]);
	assert(csv[2].includes(REFS.Maria) && !csv[2].includes(REFS.Wei),
	    "Midtown's requests only");
	await page.click("#filter-clear");
	await page.waitForFunction(() => !location.search);
});

test("triage with the keyboard only: j/k, 1-4, Enter, Esc", async () => {
	const page = staffPage;
	const patches = [];
	page.on("request", (r) => {
		if (r.method() === "PATCH")
			patches.push(r);
	});
	await page.goto(BASE + "/console/");
	await view(page, "inbox");
	await page.waitForSelector("#list li");
	const first = await page.getAttribute("#list li:nth-child(1)",
	    "data-ref");
	const second = await page.getAttribute("#list li:nth-child(2)",
	    "data-ref");
	// into the list with Tab, as a person would
	await tabTo(page, () => !!(document.activeElement &&
	    document.activeElement.closest("#list")));
	assert(await focusedRef(page) === first, "the list starts at the top");
	await page.keyboard.press("j");
	assert(await focusedRef(page) === second, "j moves down");
	await page.keyboard.press("k");
	assert(await focusedRef(page) === first, "k moves up");
	await page.keyboard.press("ArrowDown");
	assert(await focusedRef(page) === second, "ArrowDown moves down");
	await page.keyboard.press("2");
	await page.waitForFunction((ref) => {
		const li = document.querySelector(`#list li[data-ref="${ref}"]`);
		return li && /Contacted/.test(li.textContent);
	}, second);
	assert(await focusedRef(page) === second, "the focus stays on the row");
	assert(sql(`SELECT triage FROM appointment_requests WHERE reference =
	    '${second}'`) === "contacted", "stored: contacted");
	const p = patches[patches.length - 1];
	assert(p && p.headers()["x-csrf-token"], "PATCH carries X-CSRF-Token");
	await page.keyboard.press("x");
	await page.waitForFunction((ref) => /Closed/.test(document
	    .querySelector(`#list li[data-ref="${ref}"]`).textContent), second);
	assert(sql(`SELECT triage FROM appointment_requests WHERE reference =
	    '${second}'`) === "closed", "stored: closed");
	// Enter opens it; the triage buttons there, by Tab and Space
	await page.keyboard.press("Enter");
	await view(page, "request");
	await page.waitForSelector("#triage-scheduled");
	assert(page.url().endsWith("/console/requests/" + second),
	    "the address names the request: " + page.url());
	await tabTo(page, () => document.activeElement.id ===
	    "triage-scheduled");
	await page.keyboard.press("Space");
	await page.waitForFunction(() => document.getElementById(
	    "triage-scheduled").getAttribute("aria-pressed") === "true");
	assert(sql(`SELECT triage FROM appointment_requests WHERE reference =
	    '${second}'`) === "scheduled", "stored: scheduled");
	assert(await page.evaluate(() => document.activeElement.id) ===
	    "triage-scheduled", "the focus stays on the button");
	// single-key shortcuts do nothing outside the list
	const before = patches.length;
	await page.keyboard.press("1");
	await sleep(300);
	assert(patches.length === before, "no shortcut outside the list");
	// a note, by keyboard
	await tabTo(page, () => document.activeElement.id === "note-text");
	await page.keyboard.type("Called back, left a voicemail.\nTry again " +
	    "Thursday.");
	await page.keyboard.press("Tab");
	await page.keyboard.press("Enter");
	await page.waitForFunction(() => /left a voicemail/.test(document
	    .getElementById("notes-list").textContent));
	assert(sql(`SELECT text FROM notes n JOIN appointment_requests r ON
	    r.id = n.request_id WHERE r.reference = '${second}'`).includes(
	    "Try again Thursday."), "the note is stored, line break and all");
	// Esc back to the list, the focus on the same row
	await page.keyboard.press("Tab");
	await page.keyboard.press("Escape");
	await view(page, "inbox");
	await page.waitForFunction((ref) => {
		const li = document.activeElement &&
		    document.activeElement.closest("li[data-ref]");
		return li && li.dataset.ref === ref;
	}, second);
	assert(/Scheduled/.test(await rowText(page, second)),
	    "the list shows Scheduled");
	assert(!(await page.getAttribute(`#list li[data-ref="${second}"]`,
	    "class")).includes("unread"), "opened: no longer unread");
});

test("single-key shortcuts can be turned off, and it is remembered",
    async () => {
	const page = staffPage;
	const patches = [];
	page.on("request", (r) => {
		if (r.method() === "PATCH")
			patches.push(r.url());
	});
	// from the list, back to the switch in the bar, by keyboard
	await tabTo(page, () => document.activeElement.id ===
	    "shortcuts-toggle", null, true);
	assert(await page.isChecked("#shortcuts-toggle"), "on by default");
	await page.keyboard.press("Space");
	assert(!await page.isChecked("#shortcuts-toggle"), "now off");
	await page.reload();
	await view(page, "inbox");
	await page.waitForSelector("#list li");
	assert(!await page.isChecked("#shortcuts-toggle"),
	    "still off after a reload (localStorage)");
	await tabTo(page, () => !!(document.activeElement &&
	    document.activeElement.closest("#list")));
	const at = await focusedRef(page);
	await page.keyboard.press("j");
	await page.keyboard.press("3");
	await sleep(400);
	assert(await focusedRef(page) === at, "j does nothing when off");
	assert(patches.length === 0, "3 does nothing when off");
	await page.keyboard.press("ArrowDown");
	assert(await focusedRef(page) !== at, "arrows still move");
	await tabTo(page, () => document.activeElement.id ===
	    "shortcuts-toggle", null, true);
	await page.keyboard.press("Space");
	assert(await page.isChecked("#shortcuts-toggle"), "back on");
});

test("the inbox polls in the background (X-Background: 1)", async () => {
	const page = staffPage;
	await page.goto(BASE + "/console/");
	await view(page, "inbox");
	await page.waitForSelector("#list li");
	const poll = await page.waitForRequest((r) => r.url().includes(
	    "/console/api/requests") && r.headers()["x-background"] === "1",
	    { timeout: 40000 });
	assert(poll.method() === "GET", "a GET");
});

test("spam review: the honeypot's catch, and \"Not spam\"", async () => {
	const page = staffPage;
	await page.click("#show-spam");
	await page.waitForURL(/status=spam/);
	await page.waitForSelector(`#list li[data-ref="${REFS.Spammy}"]`);
	assert(await page.locator("#triage-filter").isHidden(),
	    "no triage filter for spam");
	await axe(page, "spam review list");
	await page.click(`#list li[data-ref="${REFS.Spammy}"] a`);
	await view(page, "request");
	await page.waitForSelector("#unspam");
	assert(await page.locator("#resend").count() === 0,
	    "no resend for spam");
	await axe(page, "a spam request");
	await shots(page, "console-spam-request", "a spam request");
	await page.click("#unspam");
	await page.waitForFunction(() => !document.getElementById("unspam"));
	assert(sql(`SELECT status FROM appointment_requests WHERE reference =
	    '${REFS.Spammy}'`) === "received", "stored: received");
	assert(/Marked not spam/.test(await page.innerText("#request-host")),
	    "the history says so");
});

let wes, wesPage;
test("a request with failed deliveries, notes and resend", async () => {
	// this desk's browser is in New York: times are shown in its zone
	wes = await newContext(1280, "America/New_York");
	wesPage = watch(await wes.newPage(), "wes");
	const page = wesPage;
	const ref = REFS.Dmitri;
	await page.goto(BASE + "/console/requests/" + ref);
	await signIn(page, "wes.desk");
	await view(page, "request");
	await page.waitForSelector("#deliveries-title");
	const text = await page.innerText("#request-host");
	for (const want of ["Dmitri", "Volkov", "Woodbury", "(516) 555-0199",
	    "Back Pain & Sciatica", "Weekday mornings",
	    "Shooting pain down my left leg since March.", ref])
		assert(text.includes(want), "shows " + want);
	assert(/Failed for good/.test(text), "a dead attempt");
	assert((await page.innerText("#zone-note")).includes(
	    "America/New_York"), "the zone named");
	const shown = await page.$eval(".req-meta time", (t) =>
	    [t.getAttribute("datetime"), t.textContent]);
	const want = new Intl.DateTimeFormat("en-US", { timeZone:
	    "America/New_York", hour: "numeric", minute: "2-digit" }).format(
	    new Date(shown[0]));
	assert(shown[1].includes(want) && /E[SD]T/.test(shown[1]),
	    "received in New York time, zone named: " + shown[1] + " (" +
	    want + ")");
	assert(/550/.test(text), "the server's reply");
	for (const n of ["First note: patient prefers mornings.",
	    "Second note <b>not bold</b> & not markup"]) {
		await page.fill("#note-text", n);
		await page.click("#note-form button[type=submit]");
		await page.waitForFunction((t) => document.getElementById(
		    "notes-list").textContent.includes(t), n);
	}
	assert(await page.locator("#notes-list b").count() === 0,
	    "a note is text, never markup");
	await page.click("#resend");
	await page.waitForFunction(() => /Email resent/.test(document
	    .getElementById("request-host").textContent));
	assert(Number(sql(`SELECT count(*) FROM outbox o JOIN
	    appointment_requests r ON r.id = o.request_id WHERE r.reference =
	    '${ref}'`)) === 2, "a second message queued");
	await page.reload();
	await view(page, "request");
	await page.waitForSelector("#notes-list li");
	await axe(page, "a request with notes and failed deliveries");
	await shots(page, "console-request",
	    "a request with notes and failed deliveries");
	// an empty note is refused by the page, saying why
	await page.fill("#note-text", "   ");
	await page.click("#note-form button[type=submit]");
	await page.locator("#note-error").waitFor({ state: "visible" });
	await axe(page, "a request with a note error");
});

test("error states: another location's request, a bad reference",
    async () => {
	const page = wesPage;
	await page.goto(BASE + "/console/requests/" + REFS.Maria);
	await view(page, "request");
	await page.waitForFunction(() => /not found/i.test(document
	    .getElementById("request-title").textContent));
	assert(!(await page.innerText("#request-host")).includes("Gonzalez"),
	    "nothing of Midtown's request");
	await axe(page, "request not found (another location's)");
	await shots(page, "console-not-found", "request not found");
	await page.goto(BASE + "/console/requests/not-a-reference");
	await view(page, "error");
	await axe(page, "error page (bad reference)");
	await page.goto(BASE + "/console/account");
	await view(page, "account");
	await axe(page, "account page");
	await shots(page, "console-account");
});

test("the email's link from another site, signed in: opens the request",
    async () => {
	const ref = REFS.Aisha;
	const link = LINKS[ref];
	assert(link && link.startsWith(BASE + "/console/requests/" + ref),
	    "the email carries the console link: " + link);
	const page = await staff.newPage();
	watch(page, "staff-webmail");
	const seen = [];
	page.on("request", async (r) => seen.push({ url: r.url(),
	    cookie: (await r.allHeaders()).cookie || "" }));
	await page.goto(WEBMAIL + "/");
	await Promise.all([page.waitForURL(link), page.click("#" + ref)]);
	await view(page, "request");
	await page.waitForFunction(() => /Aisha/.test(document
	    .getElementById("request-title").textContent));
	await sleep(200);
	const doc = seen.find((s) => s.url === link);
	const me = seen.find((s) => s.url.endsWith("/console/api/me"));
	assert(doc && !doc.cookie.includes("__Host-fd_session"),
	    "the cross-site navigation carries no session cookie");
	assert(me && me.cookie.includes("__Host-fd_session"),
	    "the page's own API call does");
	await page.close();
});

test("the email's link from another site, signed out: sign in, land there",
    async () => {
	const ref = REFS.Wei;
	const ctx = await newContext();
	const page = watch(await ctx.newPage(), "webmail-signed-out");
	await page.goto(WEBMAIL + "/");
	await Promise.all([page.waitForURL(LINKS[ref]),
	    page.click("#" + ref)]);
	await view(page, "signin");
	assert(/open this request/.test(await page.innerText(
	    "#signin-notice")), "says why");
	await signIn(page, "sam.desk");
	await view(page, "request");
	await page.waitForFunction(() => /Wei/.test(document.getElementById(
	    "request-title").textContent));
	assert(page.url() === LINKS[ref], "still at the link: " + page.url());
	await ctx.close();
});

test("idle timeout: the time left, a warning, signed out at zero",
    async () => {
	// The page's own clock is Playwright's (its timers, Date.now), run
	// forward: the page's count, its warning and its polls are what is
	// tested here, without waiting; the console's side of the rule, in
	// real time, is the next test.
	const ctx = await newContext();
	const page = watch(await ctx.newPage(), "idle");
	await page.clock.install();
	const polls = [];
	page.on("request", (r) => {
		if (r.url().includes("/console/api/requests"))
			polls.push(r.headers()["x-background"] || "");
	});
	await page.goto(BASE + "/console/");
	await signIn(page, "ivy.idle");
	await view(page, "inbox");
	await page.waitForSelector("#list li");
	const idle = await page.evaluate(async () => (await (await fetch(
	    "/console/api/me", { headers: { "X-Background": "1" } })).json())
	    .idle_timeout);
	assert(idle === 900, "idle_timeout from GET /me: " + idle);
	assert(/^1[45]:\d\d$/.test(await page.innerText("#idle-left")),
	    "the time left: " + await page.innerText("#idle-left"));
	assert(await page.locator("#idle-warning").isHidden(), "no warning yet");
	// 13 minutes and a bit with nothing but the page's polls
	await page.clock.runFor((idle - 120 + 3) * 1000);
	await page.locator("#idle-warning").waitFor({ state: "visible" });
	const left = await page.innerText("#idle-warning-left");
	assert(/^1:5\d$/.test(left), "the warning's time left: " + left);
	assert(await page.locator("#stay").isVisible(), "a way to stay");
	assert(/signed out in 2 minutes/.test(await page.innerText(
	    "#idle-alert")), "announced once");
	assert(polls.length >= 20, "the list polled meanwhile: " +
	    polls.length);
	assert(polls.slice(1).every((h) => h === "1"),
	    "every poll marked X-Background: 1");
	await axe(page, "inbox with the idle warning");
	await shots(page, "console-idle-warning", "inbox with the idle warning");
	// "Stay signed in" is a person's request: the count starts again
	await page.click("#stay");
	await page.locator("#idle-warning").waitFor({ state: "hidden" });
	assert(/^1[45]:\d\d$/.test(await page.innerText("#idle-left")),
	    "back to the full time: " + await page.innerText("#idle-left"));
	await page.clock.runFor((idle + 2) * 1000);
	await view(page, "signin");
	assert(/after 15 minutes without activity/.test(await page.innerText(
	    "#signin-notice")), "says why");
	assert(await page.locator("#list li").count() === 0,
	    "no patient left on the screen");
	assert(await apiStatus(page, "/me") === 401, "the session is over");
	await ctx.close();
});

test("the console does not count background requests as activity",
    async () => {
	// Two sessions on the short-idle console, each called every 3 s from
	// a page with none of the console's scripts (its stylesheet): one
	// with X-Background: 1 only, which must end, one without, which
	// must not.
	const sessions = [];
	for (const bg of [true, false]) {
		const ctx = await newContext();
		const page = watch(await ctx.newPage(), "idle-api");
		await page.goto(IDLE_URL + "/console/console.css");
		const st = await page.evaluate(async ([user, pw]) => (await fetch(
		    "/console/api/session", { method: "POST", headers: {
		    "Content-Type": "application/json", Accept:
		    "application/json" }, body: JSON.stringify({ username: user,
		    password: pw }) })).status, ["ivy.idle", PW["ivy.idle"]]);
		assert(st === 201, "signed in: " + st);
		sessions.push({ ctx, page, bg, last: 200 });
	}
	const t0 = Date.now();
	while (Date.now() - t0 < (IDLE_SECONDS + 4) * 1000) {
		await sleep(3000);
		for (const s of sessions)
			s.last = await s.page.evaluate(async (bg) => (await fetch(
			    "/console/api/me", { headers: bg ? { "X-Background":
			    "1" } : {} })).status, s.bg);
	}
	assert(sessions[0].last === 401, "polled only in the background: " +
	    "ended (" + sessions[0].last + ")");
	assert(sessions[1].last === 200, "used by a person: alive (" +
	    sessions[1].last + ")");
	for (const s of sessions)
		await s.ctx.close();
});

test("change the password, sign out, sign in with the new one", async () => {
	const page = staffPage;
	await page.goto(BASE + "/console/account");
	await view(page, "account");
	await page.fill("#password-old", PW["sam.desk"]);
	await page.fill("#password-new", "a brand new pass phrase");
	await page.fill("#password-again", "a brand new pass phrase");
	const answer = page.waitForResponse((r) =>
	    r.url().endsWith("/console/api/me/password"));
	await page.click("#password-form button[type=submit]");
	assert((await answer).status() === 204, "204");
	await page.waitForFunction(() => /Password changed/.test(document
	    .getElementById("status").textContent));
	PW["sam.desk"] = "a brand new pass phrase";
	// a wrong current password: said, and still signed in
	await page.fill("#password-old", "wrong wrong wrong");
	await page.fill("#password-new", "another new pass phrase");
	await page.fill("#password-again", "another new pass phrase");
	await page.click("#password-form button[type=submit]");
	await page.locator("#password-error").waitFor({ state: "visible" });
	assert(await page.locator("#view-account").isVisible(),
	    "still signed in");
	await axe(page, "account page with an error");
});

test("sign out: the session ends, nothing stays on the screen", async () => {
	const page = staffPage;
	await page.goto(BASE + "/console/");
	await view(page, "inbox");
	await page.waitForSelector("#list li");
	const del = page.waitForRequest((r) => r.method() === "DELETE");
	await page.click("#sign-out");
	const d = await del;
	assert(d.headers()["x-csrf-token"], "DELETE carries X-CSRF-Token");
	await view(page, "signin");
	assert(await page.locator("#list li").count() === 0, "the list is gone");
	assert(await page.locator("#session-bar").isHidden(), "no session bar");
	assert(await apiStatus(page, "/me") === 401, "the session is over");
	await page.goBack();
	await sleep(300);
	assert(await page.locator("#list li").count() === 0,
	    "Back shows nothing either");
	assert(await page.locator("#view-signin").isVisible(),
	    "Back shows the sign-in");
	await signIn(page, "sam.desk");
	await page.locator("#session-bar").waitFor({ state: "visible" });
	await page.click("#sign-out");
	await view(page, "signin");
});

test("auth = remote_user: REMOTE_USER only from the SSO's answer",
    async () => {
	const ctx = await newContext();
	const req = ctx.request;
	const spoof = { "Remote-User": "ada.admin", "X-Remote-User": "ada.admin",
	    "X-Auth-Request-User": "ada.admin",
	    Authorization: "Basic " + Buffer.from("ada.admin:x").toString(
	    "base64"), Accept: "application/json" };
	// not signed in to the SSO: the pages go to its sign-in, the API
	// answers 401, whatever the client's headers say
	let r = await req.get(RU + "/console/requests/" + REFS.Maria,
	    { maxRedirects: 0, headers: spoof });
	assert(r.status() === 302 && /\/oauth2\/sign_in\?rd=/.test(
	    r.headers().location), "to the SSO: " + r.status() + " " +
	    r.headers().location);
	r = await req.get(RU + "/console/api/me", { headers: spoof });
	assert(r.status() === 401, "API without SSO: " + r.status());
	assert((await r.json()).auth === "remote_user", "says remote_user");
	assert(r.headers()["cache-control"] === "no-store" &&
	    r.headers()["x-content-type-options"] === "nosniff",
	    "headers on nginx's own 401");
	// signed in to the SSO as wes.desk, claiming ada.admin in headers
	r = await req.get(RU + "/console/api/me", { headers: { ...spoof,
	    Cookie: "sso=wes.desk" } });
	assert(r.status() === 200, "signed in by the SSO: " + r.status());
	const me = await r.json();
	assert(me.username === "wes.desk" && me.role === "staff",
	    "the SSO's user, never the client's headers: " + me.username);
	r = await req.post(RU + "/console/api/session", { headers: {
	    Cookie: "sso=wes.desk", "Content-Type": "application/json" },
	    data: { username: "ada.admin", password: PW["ada.admin"] } });
	assert(r.status() === 404, "no passwords here: " + r.status());
	r = await req.get(RU + "/console/api/metrics");
	assert(r.status() === 200, "metrics from this host, no SSO: " +
	    r.status());
	await ctx.close();
});

test("auth = remote_user: the email's link opens the request at once",
    async () => {
	const ctx = await newContext();
	await ctx.addCookies([{ name: "sso", value: "sam.desk", url: RU }]);
	const page = watch(await ctx.newPage(), "remote-user");
	await page.goto(RU + "/console/requests/" + REFS.Wei);
	await view(page, "request");
	await page.waitForFunction(() => /Wei/.test(document.getElementById(
	    "request-title").textContent));
	assert(await page.innerText("#who") === "sam.desk", "who");
	await ctx.close();
});

test("no page broke the Content-Security-Policy, threw, or sent a " +
    "change without its CSRF token", async () => {
	const seen = violations.splice(0);
	// The watch itself works: an inline script is refused, and reported.
	const ctx = await newContext();
	const page = watch(await ctx.newPage(), "control");
	await page.goto(BASE + "/console/");
	await view(page, "signin");
	await page.evaluate(() => {
		const s = document.createElement("script");
		s.textContent = "window.__ran = true;";
		document.head.append(s);
		const d = document.createElement("div");
		d.setAttribute("style", "color: red");
		document.body.append(d);
	});
	await sleep(300);
	assert(!await page.evaluate(() => window.__ran), "inline script ran");
	assert(violations.some((v) => /script-src/.test(v)) &&
	    violations.some((v) => /style-src/.test(v)),
	    "the control's violations were seen: " + violations.join("; "));
	await ctx.close();
	assert(seen.length === 0, seen.join("\n"));
});

test("close the browser", async () => {
	await closeBrowser();
});

await run();
