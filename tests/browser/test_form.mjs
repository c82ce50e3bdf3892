// test_form: the appointment form in Debian's headless Chromium, driven by
// playwright-core, with JavaScript on and off, against the real stack that
// run_browser.py starts (nginx, frontdesk, PostgreSQL, the mailer, an SMTP
// server writing a maildir). Prints TAP.
//
// Environment: FD_BASE_URL (http://127.0.0.1:PORT), FD_MAILDIR,
// FD_EXTRA_LOCATION (a slug added after the page was rendered), FD_WWW (the
// folder nginx serves),
// FRONTDESK_BUILD (screenshots go to $FRONTDESK_BUILD/browser-screenshots).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.FD_BASE_URL;
const MAILDIR = process.env.FD_MAILDIR;
const EXTRA = process.env.FD_EXTRA_LOCATION || "";
const WWW = process.env.FD_WWW;
const SHOTS = join(process.env.FRONTDESK_BUILD || ".", "browser-screenshots");
const CHROMIUM = process.env.FD_CHROMIUM || "/usr/bin/chromium";
const REF = /^FD-[0-9A-HJKMNP-TV-Z]{8}$/;

const patient = {
	first_name: "Maria",
	last_name: "Gonzalez",
	email: "maria.gonzalez@example.com",
	phone: "(212) 555-0143",
	service: "Back Pain & Sciatica",
	preferred_time: "Weekday mornings",
	message: "Shooting pain down my left leg since March.",
};

// -- a TAP runner: tests run in order; a failure does not stop the rest.
const tests = [];
function test(name, fn) {
	tests.push({ name, fn });
}

function assert(cond, msg) {
	if (!cond)
		throw new Error("assertion failed: " + msg);
}

function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

// Every message in the maildir, parsed by Python's MIME parser.
function mailbox() {
	const py = `
import email, email.policy, json, os, sys
out = []
for sub in ("new", "cur"):
    d = os.path.join(sys.argv[1], sub)
    if not os.path.isdir(d):
        continue
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        body = m.get_body(preferencelist=("plain",))
        out.append({"subject": str(m["subject"] or ""),
                    "reply_to": str(m["reply-to"] or ""),
                    "to": str(m["to"] or ""), "from": str(m["from"] or ""),
                    "content_type": m.get_content_type(),
                    "body": body.get_content() if body else ""})
print(json.dumps(out))
`;
	return JSON.parse(execFileSync("/usr/bin/python3", ["-c", py, MAILDIR],
	    { encoding: "utf-8" }));
}

async function mailFor(ref, timeoutMs = 30000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const found = mailbox().filter((m) => m.subject.includes(ref));
		if (found.length)
			return found;
		if (Date.now() > deadline)
			throw new Error("no email for " + ref + " within " +
			    timeoutMs / 1000 + "s");
		await sleep(250);
	}
}

async function fill(page, over = {}) {
	const f = { ...patient, ...over };
	for (const k of ["first_name", "last_name", "email", "phone",
	    "preferred_time", "message"])
		await page.fill("#" + k, f[k] || "");
	if (f.location !== undefined)
		await page.selectOption("#location", f.location);
	await page.selectOption("#service", { label: f.service });
	await page.check("#consent");
}

async function shot(page, name) {
	await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

let browser, js, nojs;

test("Chromium starts headless (Debian's, no download)", async () => {
	mkdirSync(SHOTS, { recursive: true });
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ["--headless", "--no-sandbox", "--disable-gpu",
		    "--no-first-run", "--disable-background-networking",
		    "--disable-component-update", "--disable-sync"],
	});
	js = await browser.newContext({ javaScriptEnabled: true });
	nojs = await browser.newContext({ javaScriptEnabled: false });
	assert(browser.version(), "a browser version");
});

test("JS on: the form has labels, fieldsets and a fresh key per view",
    async () => {
	const page = await js.newPage();
	await page.goto(BASE + "/");
	const ids = ["first_name", "last_name", "email", "phone", "location",
	    "service", "preferred_time", "message", "consent"];
	for (const id of ids) {
		const n = await page.locator(`label[for="${id}"]`).count();
		assert(n === 1, "a label for " + id);
	}
	assert(await page.locator("fieldset > legend").count() >= 3,
	    "fieldsets with legends");
	const k1 = await page.inputValue("#submission_id");
	await page.reload();
	const k2 = await page.inputValue("#submission_id");
	assert(/^[A-Za-z0-9_-]{1,64}$/.test(k1), "key shape: " + k1);
	assert(k1 !== k2, "a new key per page view");
	await page.close();
});

test("JS on, the page served without SSI: form.js adds the key itself",
    async () => {
	const page = await js.newPage();
	const r = await page.goto(BASE + "/plain/");
	const raw = await r.text();
	const outsideComments = raw.replace(/<!--[\s\S]*?-->/g, "");
	assert(raw.includes("<!--# echo") &&
	    !/submission_id/.test(outsideComments),
	    "served as is: the SSI lines left as comments, no key field");
	const k = await page.inputValue("#appointment-form " +
	    "input[type=hidden][name=submission_id]");
	assert(/^[0-9a-f]{32}$/.test(k), "a key from form.js: " + k);
	await page.close();
});

test("JS on: the location list is refreshed from GET /api/locations",
    async () => {
	const page = await js.newPage();
	await page.goto(BASE + "/");
	const want = ["midtown", "fidi", "woodbury"].concat(EXTRA ? [EXTRA] : []);
	await page.waitForFunction((n) =>
	    document.querySelectorAll("#location option").length === n + 1,
	    want.length, { timeout: 5000 });
	const got = await page.$$eval("#location option", (os) =>
	    os.map((o) => o.value));
	assert(JSON.stringify(got) === JSON.stringify([""].concat(want)),
	    "options " + JSON.stringify(got));
	await page.close();
});

test("the honeypot is hidden from people, keyboards and autofill",
    async () => {
	const page = await js.newPage();
	await page.goto(BASE + "/");
	const hp = page.locator("#website");
	assert(await hp.getAttribute("autocomplete") === "off", "autocomplete");
	assert(await hp.getAttribute("tabindex") === "-1", "tabindex");
	const hidden = await hp.evaluate((el) =>
	    el.closest("[aria-hidden='true']") !== null);
	assert(hidden, "inside aria-hidden");
	const box = await hp.boundingBox();
	assert(box && box.x + box.width <= 0, "off-screen: " +
	    JSON.stringify(box));
	const display = await hp.evaluate((el) => getComputedStyle(
	    el.parentElement).display);
	assert(display !== "none", "not display:none");
	// Tab from the consent box goes to the button, never the trap.
	await page.focus("#consent");
	await page.keyboard.press("Tab");
	const focused = await page.evaluate(() => document.activeElement.id);
	assert(focused === "submit", "Tab went to " + focused);
	await page.close();
});

test("JS on: a missing field shows its error inline, focused", async () => {
	const page = await js.newPage();
	await page.goto(BASE + "/");
	await fill(page, { first_name: "", location: "midtown" });
	const answer = page.waitForResponse((r) =>
	    r.url().endsWith("/api/appointments"));
	await page.click("#submit");
	assert((await answer).status() === 422, "a 422 answer");
	const err = page.locator("#first_name-error");
	await err.waitFor({ state: "visible", timeout: 5000 });
	const text = await err.textContent();
	assert(/First name is required/.test(text), "error text: " + text);
	const input = page.locator("#first_name");
	assert(await input.getAttribute("aria-invalid") === "true",
	    "aria-invalid");
	assert((await input.getAttribute("aria-describedby") || "")
	    .split(" ").includes("first_name-error"), "aria-describedby");
	assert(await page.evaluate(() => document.activeElement.id) ===
	    "first_name", "focus on the first error");
	assert(await page.locator("#error-summary").isVisible(),
	    "the error summary");
	assert(await page.locator("#last_name").getAttribute("aria-invalid") ===
	    null, "no error on a good field");
	await shot(page, "form-errors-js.png");
	await page.close();
});

test("JS on: no email and no phone marks both", async () => {
	const page = await js.newPage();
	await page.goto(BASE + "/");
	await fill(page, { email: "", phone: "", location: "fidi" });
	await page.click("#submit");
	await page.locator("#phone-error").waitFor({ state: "visible" });
	assert(await page.locator("#email-error").isVisible(), "email error");
	assert(await page.evaluate(() => document.activeElement.id) ===
	    "email", "focus on email, the first in the form");
	await page.close();
});

let jsRef = "";
test("JS on: submit shows the reference inline; button off while sending",
    async () => {
	const page = await js.newPage();
	await page.goto(BASE + "/");
	await fill(page, { location: "midtown" });
	await shot(page, "form-filled-js.png");
	// Hold the post a moment, to see the page while it is in flight.
	let release;
	const held = new Promise((r) => { release = r; });
	let seen = null;
	await page.route("**/api/appointments", async (route) => {
		seen = route.request();
		await held;
		await route.continue();
	});
	await page.click("#submit");
	await page.waitForFunction(() =>
	    document.getElementById("submit").disabled, null, { timeout: 5000 });
	assert(await page.locator("#submit").getAttribute("aria-busy") ===
	    "true", "aria-busy while sending");
	release();
	const ref = page.locator("#success-ref");
	await ref.waitFor({ state: "visible", timeout: 10000 });
	jsRef = (await ref.textContent()).trim();
	assert(REF.test(jsRef), "reference " + jsRef);
	assert(await page.locator("#appointment-form").isHidden(),
	    "form hidden after success");
	assert(seen && /application\/json/.test(seen.headers()["accept"]),
	    "a JSON-mode post");
	assert(/application\/x-www-form-urlencoded/.test(
	    seen.headers()["content-type"]), "a form-encoded body");
	const body = new URLSearchParams(seen.postData());
	assert(/^[0-9a-f]{32}$/.test(body.get("submission_id")),
	    "submission_id sent: " + body.get("submission_id"));
	assert(body.get("website") === "", "the honeypot sent empty");
	await shot(page, "success-js.png");
	await page.close();
});

test("JS on: the email with the same reference arrives", async () => {
	assert(jsRef, "a reference from the previous test");
	const mails = await mailFor(jsRef);
	assert(mails.length === 1, "exactly one email: " + mails.length);
	const m = mails[0];
	assert(m.subject.includes("Midtown Manhattan"), "subject: " + m.subject);
	assert(m.reply_to.includes("maria.gonzalez@example.com"),
	    "Reply-To: " + m.reply_to);
	assert(m.to.includes("midtown.desk@clinic.example"), "To: " + m.to);
	assert(m.body.includes("Maria") && m.body.includes(jsRef),
	    "body names the patient and the reference");
});

test("JS off: the page carries the rendered locations and its own key",
    async () => {
	const page = await nojs.newPage();
	await page.goto(BASE + "/");
	const got = await page.$$eval("#location option", (os) =>
	    os.map((o) => o.value));
	assert(JSON.stringify(got) ===
	    JSON.stringify(["", "midtown", "fidi", "woodbury"]),
	    "rendered options " + JSON.stringify(got));
	// nginx (conf/nginx/form.conf) writes a fresh key into each copy
	const k1 = await page.inputValue("#submission_id");
	await page.reload();
	const k2 = await page.inputValue("#submission_id");
	assert(/^[0-9a-f]{32}$/.test(k1), "a key from nginx: " + k1);
	assert(k1 !== k2, "a new key per page view, without JavaScript too");
	await page.close();
});

let nojsRef = "";
test("JS off: a plain POST, 303 to the thank-you page with the reference",
    async () => {
	const page = await nojs.newPage();
	await page.goto(BASE + "/");
	await fill(page, { location: "woodbury", first_name: "Jos\u00e9" });
	await shot(page, "form-filled-nojs.png");
	const posted = page.waitForResponse((r) =>
	    r.url().endsWith("/api/appointments"));
	await Promise.all([page.waitForURL(/\/thank-you\/\?ref=/),
	    page.click("#submit")]);
	const r = await posted;
	assert(r.status() === 303, "303, got " + r.status());
	assert(!/application\/json/.test(r.request().headers()["accept"] || ""),
	    "an HTML-mode post");
	const fromUrl = new URL(page.url()).searchParams.get("ref");
	assert(REF.test(fromUrl), "ref in the URL: " + page.url());
	const shown = (await page.locator("#ref").textContent()).trim();
	assert(shown === fromUrl, "the page shows " + JSON.stringify(shown));
	assert(await page.locator("#ref-line").isVisible(), "visible");
	nojsRef = fromUrl;
	await shot(page, "thank-you-nojs.png");
	await page.close();
});

test("JS off: the email with the same reference arrives", async () => {
	assert(nojsRef, "a reference from the previous test");
	const mails = await mailFor(nojsRef);
	assert(mails.length === 1, "exactly one email");
	assert(mails[0].subject.includes("Woodbury"), mails[0].subject);
	assert(mails[0].body.includes("Jos\u00e9"), "UTF-8 name in the body");
});

test("JS off: no email and no phone gives the error page", async () => {
	const page = await nojs.newPage();
	await page.goto(BASE + "/");
	await fill(page, { email: "", phone: "", location: "fidi" });
	const posted = page.waitForResponse((r) =>
	    r.url().endsWith("/api/appointments"));
	await page.click("#submit");
	const r = await posted;
	assert(r.status() === 422, "422, got " + r.status());
	await page.waitForLoadState();
	const text = await page.locator("body").textContent();
	assert(/email/.test(text) && /phone/.test(text), "lists both fields");
	await page.close();
});

test("the thank-you page shows only a valid reference, as text", async () => {
	for (const ctx of [js, nojs]) {
		const page = await ctx.newPage();
		let alerted = false;
		page.on("dialog", (d) => { alerted = true; d.dismiss(); });
		const bad = encodeURIComponent("<img src=x onerror=alert(1)>");
		await page.goto(BASE + "/thank-you/?ref=" + bad);
		assert((await page.locator("#ref").textContent()).trim() === "",
		    "nothing shown for a bad ref");
		assert(await page.locator("#ref-line").isHidden(),
		    "no empty reference line");
		assert(await page.locator("img").count() === 0, "no markup");
		await page.goto(BASE + "/thank-you/?ref=FD-ABCDEFGU");
		assert((await page.locator("#ref").textContent()).trim() === "",
		    "U is not Crockford base32");
		await page.goto(BASE + "/thank-you/?ref=FD-0123ABCD");
		assert((await page.locator("#ref").textContent()).trim() ===
		    "FD-0123ABCD", "a valid ref is shown");
		assert(!alerted, "no script ran");
		await page.close();
	}
});

test("JS on: the thank-you page shows the reference without SSI too",
    async () => {
	// ref.js alone: the page as a server without SSI would send it.
	const page = await js.newPage();
	const raw = readFileSync(join(WWW, "thank-you", "index.html"), "utf-8");
	assert(raw.includes("<!--# if"), "raw page still has its SSI block");
	await page.route("**/thank-you/?ref=*", (route) =>
	    route.fulfill({ status: 200, contentType: "text/html", body: raw }));
	await page.goto(BASE + "/thank-you/?ref=FD-0123ABCD");
	await page.waitForFunction(() =>
	    document.getElementById("ref").textContent === "FD-0123ABCD",
	    null, { timeout: 5000 });
	await page.close();
});

test("close the browser", async () => {
	await browser.close();
});

let failed = 0;
console.log("TAP version 13");
for (let i = 0; i < tests.length; i++) {
	const t = tests[i];
	const t0 = Date.now();
	try {
		await Promise.race([t.fn(), sleep(60000).then(() => {
			throw new Error("timed out after 60s");
		})]);
		console.log(`ok ${i + 1} - ${t.name} (${(Date.now() - t0) / 1000}s)`);
	} catch (e) {
		failed++;
		console.log(`not ok ${i + 1} - ${t.name}`);
		for (const line of String(e && e.stack || e).split("\n"))
			console.log("# " + line);
	}
}
console.log(`1..${tests.length}`);
if (browser)
	await browser.close().catch(() => {});
process.exit(failed ? 1 : 0);
