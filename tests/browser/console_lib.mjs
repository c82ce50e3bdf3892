// console_lib: what the console's browser tests share (test_console.mjs,
// the staff pages; test_admin.mjs, the admin pages): a TAP runner, the
// browser (Debian's Chromium, headless, no download), RFC 6238 codes as an
// authenticator app makes them, the watch on every page (CSP violations,
// script errors, a change without its CSRF token), axe-core (WCAG 2.1 A
// and AA) and the screenshots at 1280 and 360 px.
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

export const SHOTS = join(process.env.FRONTDESK_BUILD || ".",
    "browser-screenshots");
const CHROMIUM = process.env.FD_CHROMIUM || "/usr/bin/chromium";
export const CSP = "default-src 'self'; script-src 'self'; style-src " +
    "'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri " +
    "'none'; form-action 'self'";
const WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

// -- a TAP runner: tests run in order; a failure does not stop the rest.
const tests = [];
export function test(name, fn) {
	tests.push({ name, fn });
}

export function assert(cond, msg) {
	if (!cond)
		throw new Error("assertion failed: " + msg);
}

export function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

export function sql(q) {
	return execFileSync("psql", ["-X", "-q", "-A", "-t", "-v",
	    "ON_ERROR_STOP=1", "-d", process.env.FD_CONNINFO, "-c", q],
	    { encoding: "utf-8" }).trim();
}

// -- RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it
function base32(s) {
	const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	let bits = "";
	for (const c of s.replace(/[\s=]/g, "").toUpperCase())
		bits += abc.indexOf(c).toString(2).padStart(5, "0");
	const out = [];
	for (let i = 0; i + 8 <= bits.length; i += 8)
		out.push(parseInt(bits.slice(i, i + 8), 2));
	return Buffer.from(out);
}

export function totp(secret, step = Math.floor(Date.now() / 30000)) {
	const counter = Buffer.alloc(8);
	counter.writeBigUInt64BE(BigInt(step));
	const mac = createHmac("sha1", base32(secret)).update(counter).digest();
	const off = mac[19] & 15;
	return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000)
	    .padStart(6, "0");
}

// A code is accepted once per step: wait for a step after `used`.
export async function freshStep(used) {
	while (Math.floor(Date.now() / 30000) <= used)
		await sleep(250);
	return Math.floor(Date.now() / 30000);
}

// -- what every page reports: CSP violations and script errors
export const violations = [];
export function watch(page, label) {
	page.on("console", (m) => {
		if (/Content.Security.Policy|Refused to/i.test(m.text()))
			violations.push(label + ": " + m.text());
	});
	page.on("pageerror", (e) => violations.push(label + ": script " +
	    "error: " + e.message));
	// every change the pages send carries the CSRF token
	page.on("request", (r) => {
		const u = new URL(r.url());
		if (["POST", "PATCH", "DELETE"].includes(r.method()) &&
		    u.pathname.startsWith("/console/api/") &&
		    u.pathname !== "/console/api/session" &&
		    !r.headers()["x-csrf-token"])
			violations.push(label + ": no X-CSRF-Token on " +
			    r.method() + " " + u.pathname);
		if (r.method() === "DELETE" && !r.headers()["x-csrf-token"])
			violations.push(label + ": no X-CSRF-Token on DELETE");
	});
	return page;
}

let browser = null;

export async function launch() {
	mkdirSync(SHOTS, { recursive: true });
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ["--headless", "--no-sandbox", "--disable-gpu",
		    "--no-first-run", "--disable-background-networking",
		    "--disable-component-update", "--disable-sync"],
	});
	return browser;
}

export async function closeBrowser() {
	if (browser)
		await browser.close().catch(() => {});
	browser = null;
}

export async function newContext(width = 1280, timezoneId = undefined,
    extra = {}) {
	const ctx = await browser.newContext({ viewport: { width,
	    height: 900 }, timezoneId, ...extra });
	// Reported by the browser itself for anything the CSP blocked.
	await ctx.addInitScript(() => {
		document.addEventListener("securitypolicyviolation", (e) => {
			console.error("Content-Security-Policy violation: " +
			    e.violatedDirective + " " + e.blockedURI);
		});
	});
	return ctx;
}

export const axeLog = [];
export async function axe(page, label) {
	const r = await new AxeBuilder({ page }).withTags(WCAG).analyze();
	const bad = r.violations.map((v) => v.id + " (" + v.impact + "): " +
	    v.nodes.map((n) => n.target.join(" ")).slice(0, 4).join(", "));
	axeLog.push(label + ": " + (bad.length ? bad.length + " violation(s)" :
	    "0 violations") + ", " + r.passes.length + " rules passed");
	assert(bad.length === 0, "axe on " + label + ":\n" + bad.join("\n"));
}

export async function shot(page, name) {
	await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

/* Screenshots at 1280 and 360 px; at 360 the page must not scroll
 * sideways, and axe runs there too (label) as the layout changes. */
export async function shots(page, name, label) {
	const vp = page.viewportSize();
	await page.setViewportSize({ width: 1280, height: 900 });
	await sleep(100);
	await shot(page, name + "-1280.png");
	await page.setViewportSize({ width: 360, height: 740 });
	await sleep(100);
	await shot(page, name + "-360.png");
	const overflow = await page.evaluate(() =>
	    document.documentElement.scrollWidth > window.innerWidth + 1);
	if (label && !overflow)
		await axe(page, label + " at 360 px");
	await page.setViewportSize(vp);
	assert(!overflow, name + ": the page scrolls sideways at 360 px");
}

export async function view(page, name, timeout = 10000) {
	await page.waitForSelector("#view-" + name + ":not([hidden])",
	    { timeout });
}

export async function signIn(page, user, password, code = "") {
	await view(page, "signin");
	await page.fill("#signin-username", user);
	await page.fill("#signin-password", password);
	await page.fill("#signin-code", code);
	await page.click("#signin-submit");
}

export async function apiStatus(page, path) {
	return page.evaluate(async (p) => (await fetch(p,
	    { headers: { Accept: "application/json" } })).status,
	    "/console/api" + path);
}

// Tab (or Shift+Tab) until the focus is where pred says; keyboard only.
export async function tabTo(page, pred, arg, back = false, max = 40) {
	for (let i = 0; i < max; i++) {
		if (await page.evaluate(pred, arg))
			return;
		await page.keyboard.press(back ? "Shift+Tab" : "Tab");
	}
	throw new Error("Tab never reached " + pred.toString());
}

/* Runs the tests in order, prints TAP and the axe summary, exits. */
export async function run(perTest = 120000) {
	let failed = 0;
	console.log("TAP version 13");
	for (let i = 0; i < tests.length; i++) {
		const t = tests[i];
		const t0 = Date.now();
		try {
			await Promise.race([t.fn(), sleep(perTest).then(() => {
				throw new Error("timed out after " + perTest / 1000 +
				    "s");
			})]);
			console.log(`ok ${i + 1} - ${t.name} (${(Date.now() - t0) /
			    1000}s)`);
		} catch (e) {
			failed++;
			console.log(`not ok ${i + 1} - ${t.name}`);
			for (const line of String(e && e.stack || e).split("\n"))
				console.log("# " + line);
		}
	}
	for (const line of axeLog)
		console.log("# axe: " + line);
	console.log(`1..${tests.length}`);
	await closeBrowser();
	process.exit(failed ? 1 : 0);
}
