/* idle.js: the idle timeout, visible. The console ends a session after
 * [console] idle_timeout seconds without a request made by a person; this
 * shows the time left, warns before it ends (with a way to stay), and at
 * zero ends the session and clears the screen. Polls are sent as
 * background requests and do not reset it, on the server or here. The
 * last activity is shared by the tabs of this browser (localStorage), as
 * they share the session. */
import { $, minutes } from "./dom.js";
import { lastActivity, markActivity } from "./api.js";

let timeoutSec = 0;
let timer = null;
let onExpire = null;
let onStay = null;
let warned = false;
let maxEnd = 0;	/* ms: session_max's end, when it comes before the idle one */

/* The warning comes this many seconds before the end: two minutes, or a
 * quarter of a shorter timeout, at least 20 s (WCAG 2.2.1) unless the
 * whole timeout is under 40 s (then half of it). */
function warnAt() {
	return Math.min(timeoutSec / 2, Math.max(20, Math.min(120,
	    timeoutSec / 4)));
}

/* seconds: idle_timeout; expire(reason): at zero, "idle" or "max"; stay():
 * the warning's button; hardEnd: the session's last moment (ms) when
 * session_max ends it before any idle time would, else 0. */
export function startIdle(seconds, expire, stay, hardEnd = 0) {
	stopIdle();
	timeoutSec = seconds;
	maxEnd = hardEnd;
	onExpire = expire;
	onStay = stay;
	warned = false;
	if (!lastActivity())
		markActivity();
	$("stay").onclick = () => {
		if (onStay)
			onStay();
	};
	tick();
	timer = setInterval(tick, 1000);
	window.addEventListener("storage", tick);
}

export function stopIdle() {
	if (timer)
		clearInterval(timer);
	timer = null;
	window.removeEventListener("storage", tick);
	$("idle-warning").hidden = true;
	$("idle-alert").textContent = "";
}

function idleLeft() {
	return timeoutSec - (Date.now() - lastActivity()) / 1000;
}

export function secondsLeft() {
	const idle = idleLeft();
	return maxEnd ? Math.min(idle, (maxEnd - Date.now()) / 1000) : idle;
}

function tick() {
	if (!timer && !onExpire)
		return;
	const left = secondsLeft();
	$("idle-left").textContent = minutes(left);
	$("idle-left").setAttribute("datetime", "PT" + Math.max(0,
	    Math.ceil(left)) + "S");
	const warning = $("idle-warning");
	const byMax = maxEnd && (maxEnd - Date.now()) / 1000 < idleLeft();
	if (left <= 0) {
		const fn = onExpire;
		stopIdle();
		onExpire = null;
		if (fn)
			fn(byMax ? "max" : "idle");
		return;
	}
	if (left <= warnAt()) {
		$("idle-warning-left").textContent = minutes(left);
		if (!warned) {
			warned = true;
			warning.hidden = false;
			/* announced once; the countdown itself is not live */
			const m = Math.ceil(left / 60) + " minute" + (left > 60 ?
			    "s" : "");
			$("idle-warning-why").textContent = byMax ? "Your " +
			    "session reaches its time limit; sign in again then." :
			    "for inactivity.";
			$("stay").hidden = !!byMax;
			$("idle-alert").textContent = byMax ? "Your session ends " +
			    "in " + m + ": it reaches its time limit." :
			    "You will be signed out in " + m + " for " +
			    "inactivity. Choose Stay signed in to go on.";
		}
	} else if (warned) {
		warned = false;
		warning.hidden = true;
		$("idle-alert").textContent = "";
	}
}
