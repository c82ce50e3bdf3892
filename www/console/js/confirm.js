/* confirm.js: the confirmation a destructive change asks for (disable a
 * location or an account, remove a route, reset a second factor, retry
 * all failed mail). One modal <dialog> in the page: showModal() makes the
 * rest of the page inert, Tab goes round its buttons; the focus starts on
 * Cancel, the choice that changes nothing; Esc cancels; and the focus goes
 * back to the button that asked. Never window.confirm. */
import { $ } from "./dom.js";

let pending = null;	/* resolve() of the question on screen */

/* Tab and Shift+Tab go round the dialog's buttons: a modal dialog makes
 * the page behind it inert, but the browser would Tab out of the page. */
function trap(ev) {
	if (ev.key !== "Tab" || ev.altKey || ev.ctrlKey || ev.metaKey)
		return;
	const b = [...$("confirm").querySelectorAll("button")];
	const i = b.indexOf(document.activeElement);
	const next = ev.shiftKey ? (i <= 0 ? b.length - 1 : i - 1) :
	    (i < 0 || i === b.length - 1 ? 0 : i + 1);
	ev.preventDefault();
	b[next].focus();
}

/* Resolves to true when confirmed, false when cancelled.
 * title: the question; text: what will happen; yes: the button's label
 * (the action, in words: "Disable location"). */
export function confirmAction({ title, text, yes }) {
	const d = $("confirm");
	const opener = document.activeElement;
	if (pending)
		pending(false);
	$("confirm-title").textContent = title;
	$("confirm-text").textContent = text;
	$("confirm-yes").textContent = yes;
	return new Promise((resolve) => {
		const done = (answer) => {
			pending = null;
			$("confirm-yes").onclick = null;
			$("confirm-no").onclick = null;
			d.oncancel = null;
			d.onkeydown = null;
			if (d.open)
				d.close();
			if (opener && opener.isConnected &&
			    typeof opener.focus === "function")
				opener.focus();
			resolve(answer);
		};
		pending = done;
		$("confirm-yes").onclick = () => done(true);
		$("confirm-no").onclick = () => done(false);
		d.oncancel = (ev) => {
			ev.preventDefault();
			done(false);
		};
		d.onkeydown = trap;
		d.showModal();
		$("confirm-no").focus();
	});
}

/* Sign-out or an expired session: no question stays on screen. */
export function dismissConfirm() {
	if (pending)
		pending(false);
}
