/* admin-mail.js: failed mail. The messages the mail server refused for
 * good (or that waited longer than [mail] give_up_after), each with the
 * server's last reply; retry one, or all of them (asked first). And the
 * mail still waiting, with its next try, for mail that is stuck. A retry
 * goes to the location's routes as they are now. */
import { h, announce, timeEl, shortTime } from "./dom.js";
import { call, PREFIX } from "./api.js";
import { confirmAction } from "./confirm.js";
import { startPage, focusTitle, pageError, errorBox, fail, table, none }
    from "./admin-ui.js";

let mailChanged = null;	/* the app's: refresh the banner */
let names = {};

export function setupMail(changed) {
	mailChanged = changed;
}

function requestLink(ref) {
	return h("a", { href: PREFIX + "/requests/" + encodeURIComponent(ref),
	    "data-nav": true }, ref);
}

function reply(text) {
	return text ? h("code", { class: "reply" }, text) : none("none");
}

export async function showMail(keep) {
	let dead, pending, locs;
	try {
		[dead, pending, locs] = await Promise.all([
		    call("GET", "/outbox?status=dead"),
		    call("GET", "/outbox?status=pending"),
		    call("GET", "/locations")]);
	} catch (e) {
		if (e.status !== 401)
			pageError("Failed mail", e);
		return;
	}
	names = {};
	for (const l of locs)
		names[l.slug] = l.name;
	const host = startPage("Failed mail");
	const err = errorBox("mail-error");
	host.append(h("p", { class: "lead" }, "Email to a front desk that the " +
	    "mail server turned away for good, or that could not be sent in " +
	    "time. The request itself is safe in the inbox. Fix the cause " +
	    "(often a location's email route, under Locations), then send it " +
	    "again: it goes to the location's routes as they are now."), err);
	host.append(deadSection(dead, err), pendingSection(pending));
	if (mailChanged)
		mailChanged();
	const el = keep && document.getElementById(keep);
	if (el)
		el.focus();
	else
		focusTitle();
}

function deadSection(dead, err) {
	const sec = h("section", { class: "panel", "aria-labelledby":
	    "dead-title" },
	    h("h2", { id: "dead-title", tabindex: "-1" }, dead.length === 1 ? "1 failed email" :
		dead.length + " failed emails"));
	if (!dead.length) {
		sec.append(h("p", { class: "none", id: "dead-none" }, "No failed " +
		    "mail: every email was delivered or is on its way."));
		return sec;
	}
	sec.append(h("p", null, h("button", { type: "button", id: "retry-all",
	    class: "danger", onclick: () => retryAll(dead.length, err) },
	    "Retry all " + dead.length)));
	sec.append(table("dead-table", "Failed emails, oldest first",
	    ["Request", "Location", "Queued", "Attempts", "The mail server's " +
	    "last reply", "Retry"], dead.map((m) => ({
		attrs: { "data-id": String(m.id) },
		cells: [
		    { th: requestLink(m.reference) },
		    names[m.location] || m.location,
		    timeEl(m.queued, shortTime(m.queued)),
		    String(m.attempts),
		    reply(m.last_error),
		    { action: h("button", { type: "button",
			class: "quiet small", id: "retry-" + m.id,
			"aria-label": "Retry " + m.reference, onclick: () =>
			retryOne(m, err) }, "Retry") }],
	    }))));
	return sec;
}

function pendingSection(pending) {
	const sec = h("section", { class: "panel", "aria-labelledby":
	    "pending-title" },
	    h("h2", { id: "pending-title" }, "Waiting to be sent"),
	    h("p", { class: "hint" }, "Email the mailer has not delivered " +
		"yet: new, or tried and waiting for its next attempt. Mail that " +
		"waits for long means the mail server or the mailer is in " +
		"trouble."));
	if (!pending.length) {
		sec.append(h("p", { class: "none", id: "pending-none" },
		    "Nothing is waiting."));
		return sec;
	}
	sec.append(table("pending-table", "Email waiting to be sent, oldest " +
	    "first", ["Request", "Location", "Queued", "Attempts", "Next try",
	    "The mail server's last reply"], pending.map((m) => [
		{ th: requestLink(m.reference) },
		names[m.location] || m.location,
		timeEl(m.queued, shortTime(m.queued)),
		String(m.attempts),
		m.next_or_sent ? timeEl(m.next_or_sent, shortTime(
		    m.next_or_sent)) : none("now"),
		reply(m.last_error)])));
	return sec;
}

async function retryOne(m, err) {
	try {
		await call("POST", "/outbox/" + encodeURIComponent(m.id) +
		    "/retry");
		await showMail("dead-title");
		announce("The email for " + m.reference + " is queued again; " +
		    "the mailer sends it within seconds.");
	} catch (e) {
		fail(err, e);
	}
}

async function retryAll(n, err) {
	if (!await confirmAction({
		title: "Retry all " + n + " failed emails?",
		text: "Each goes out again to its location's routes as they are " +
		    "now. If the cause is not fixed, they fail again and the " +
		    "mail server's reply shows here.",
		yes: "Retry all " + n,
	}))
		return;
	try {
		const r = await call("POST", "/outbox/retry", { body: { status:
		    "dead" } });
		await showMail("dead-title");
		announce((r && r.retried === 1 ? "1 email" : (r ? r.retried : n) +
		    " emails") + " queued again.");
	} catch (e) {
		fail(err, e);
	}
}
