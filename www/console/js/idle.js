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

/* The warning comes this many seconds before the end: two minutes, or a
 * quarter of a short timeout (at least 20 s, WCAG 2.2.1). */
function warnAt() {
	return Math.max(20, Math.min(120, Math.floor(timeoutSec / 4)));
}

export function startIdle(seconds, expire, stay) {
	stopIdle();
	timeoutSec = seconds;
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

export function secondsLeft() {
	return timeoutSec - (Date.now() - lastActivity()) / 1000;
}

function tick() {
	if (!timer && !onExpire)
		return;
	const left = secondsLeft();
	$("idle-left").textContent = minutes(left);
	$("idle-left").setAttribute("datetime", "PT" + Math.max(0,
	    Math.ceil(left)) + "S");
	const warning = $("idle-warning");
	if (left <= 0) {
		const fn = onExpire;
		stopIdle();
		onExpire = null;
		if (fn)
			fn();
		return;
	}
	if (left <= warnAt()) {
		$("idle-warning-left").textContent = minutes(left);
		if (!warned) {
			warned = true;
			warning.hidden = false;
			/* announced once; the countdown itself is not live */
			$("idle-alert").textContent = "You will be signed out in " +
			    Math.ceil(left / 60) + " minute" + (left > 60 ? "s" :
			    "") + " for inactivity. Choose Stay signed in to go on.";
		}
	} else if (warned) {
		warned = false;
		warning.hidden = true;
		$("idle-alert").textContent = "";
	}
}
