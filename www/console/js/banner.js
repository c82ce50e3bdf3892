/* banner.js: the admins' banner while mail is in trouble: messages that
 * died, or one waiting longer than 15 minutes. Its data is GET /me's
 * "mail": {"dead": N, "oldest_pending_seconds": S}, which the console
 * gives admins only; it links to the failed-mail page. Staff never see
 * it (a request whose email failed says so on the request). */
import { $ } from "./dom.js";

export const STUCK_SECONDS = 15 * 60;

function duration(s) {
	const m = Math.floor(s / 60);
	if (m < 120)
		return m + " minutes";
	const hours = Math.floor(m / 60);
	if (hours < 48)
		return hours + " hours";
	return Math.floor(hours / 24) + " days";
}

/* What the banner says for a /me answer; "" when it has nothing to say. */
export function bannerText(me) {
	const m = me && me.role === "admin" && me.mail &&
	    typeof me.mail === "object" ? me.mail : null;
	if (!m)
		return "";
	const dead = Number(m.dead) || 0;
	const waiting = Number(m.oldest_pending_seconds) || 0;
	const parts = [];
	if (dead > 0)
		parts.push(dead === 1 ? "1 email to a front desk could not " +
		    "be delivered." : dead + " emails to the front desks could " +
		    "not be delivered.");
	if (waiting > STUCK_SECONDS)
		parts.push("An email has been waiting to be sent for " +
		    duration(waiting) + ".");
	return parts.join(" ");
}

export function showBanner(me) {
	const text = bannerText(me);
	$("mail-banner-text").textContent = text;
	$("mail-banner").hidden = !text;
}
