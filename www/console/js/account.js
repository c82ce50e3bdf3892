/* account.js: sign-in (one step: name, password and the code field,
 * always offered), enrolling a second factor, changing the password. */
import { $, h, clear, showError, announce } from "./dom.js";
import { call, stillSignedIn } from "./api.js";

/* -- sign-in */
export function setupSignIn(signedIn) {
	const form = $("signin-form");
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const err = $("signin-error");
		const username = $("signin-username").value.trim().toLowerCase();
		const password = $("signin-password").value;
		const code = $("signin-code").value.replace(/\s+/g, "");
		if (!username || !password) {
			showError(err, "Give your name and your password.");
			(username ? $("signin-password") : $("signin-username"))
			    .focus();
			return;
		}
		const button = $("signin-submit");
		button.disabled = true;
		button.setAttribute("aria-busy", "true");
		try {
			const body = { username, password };
			if (code)
				body.code = code;
			const me = await call("POST", "/session", { body,
			    quiet401: true });
			$("signin-password").value = "";
			$("signin-code").value = "";
			showError(err, "");
			await signedIn(me);
		} catch (e) {
			$("signin-password").value = "";
			$("signin-code").value = "";
			if (e.status === 401)
				showError(err, "Sign-in failed. Check your name, " +
				    "password and code. After several failed tries " +
				    "the account is locked for a while.");
			else if (e.status === 404) {
				/* auth = remote_user: no passwords here */
				showError(err, "This console signs people in " +
				    "through your organisation's single sign-on, " +
				    "not here.");
				$("signin-form").hidden = true;
				$("signin-sso").hidden = false;
			}
			else
				showError(err, e.message);
			err.focus();
		} finally {
			button.disabled = false;
			button.removeAttribute("aria-busy");
		}
	});
}

/* what: why the sign-in page is shown (null: a plain visit). */
export function showSignInNotice(text) {
	const n = $("signin-notice");
	n.textContent = text || "";
	n.hidden = !text;
}

/* -- enrolment: password, then the secret (QR code when the API gives
 * one), then a code to confirm. done() runs once it is confirmed. */
export function renderEnrol(host, idPrefix, done) {
	clear(host);
	const err = h("div", { class: "error-box", role: "alert",
	    tabindex: "-1", hidden: true });
	const pw = h("input", { type: "password", id: idPrefix + "-password",
	    autocomplete: "current-password", maxlength: "512", required: true });
	const step1 = h("form", { class: "enrol-step", novalidate: true },
	    h("div", { class: "field" },
		h("label", { for: idPrefix + "-password" },
		    "Your password, to confirm it is you"),
		pw),
	    h("button", { type: "submit" }, "Make a secret"));
	host.append(err, step1);
	step1.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		if (!pw.value) {
			showError(err, "Give your password.");
			pw.focus();
			return;
		}
		try {
			const s = await call("POST", "/me/2fa", {
			    body: { password: pw.value }, quiet401: true });
			pw.value = "";
			showError(err, "");
			step1.hidden = true;
			host.append(secretStep(s, idPrefix, err, done));
			$(idPrefix + "-secret-title").focus();
		} catch (e) {
			pw.value = "";
			if (e.status === 401 && !await stillSignedIn())
				return;
			showError(err, e.status === 401 || e.status === 403 ?
			    "That password is not right." : e.message);
			err.focus();
		}
	});
	return pw;
}

function qrImage(svg) {
	/* An <img> of the SVG: no script in it can run, and img-src allows
	 * data: URIs (the CSP's only exception). */
	return h("img", { class: "qr", alt: "QR code of the secret, for an " +
	    "authenticator app", width: "200", height: "200",
	    src: "data:image/svg+xml;charset=utf-8," +
	    encodeURIComponent(svg) });
}

function groups(secret) {
	return String(secret).replace(/(.{4})(?=.)/g, "$1 ");
}

function secretStep(s, idPrefix, err, done) {
	const codeId = idPrefix + "-code";
	const code = h("input", { type: "text", id: codeId,
	    inputmode: "numeric", autocomplete: "one-time-code",
	    maxlength: "6", spellcheck: "false", required: true,
	    "aria-describedby": codeId + "-hint" });
	const uri = typeof s.uri === "string" && /^otpauth:\/\//.test(s.uri) ?
	    s.uri : "";
	const form = h("form", { class: "enrol-step", novalidate: true },
	    h("h2", { id: idPrefix + "-secret-title", tabindex: "-1" },
		"Add it to your authenticator app"),
	    typeof s.qr_svg === "string" && s.qr_svg ?
		h("p", null, "Scan this code with the app:") : null,
	    typeof s.qr_svg === "string" && s.qr_svg ? qrImage(s.qr_svg) : null,
	    h("p", null, "Or type the secret into the app (time-based, " +
		"6 digits, every 30 seconds):"),
	    h("p", null, h("code", { class: "secret", id: idPrefix +
		"-secret" }, groups(s.secret))),
	    uri ? h("p", { class: "uri" }, h("a", { href: uri },
		"Open in an authenticator app on this device")) : null,
	    uri ? h("p", { class: "uri" }, h("code", null, uri)) : null,
	    h("div", { class: "field" },
		h("label", { for: codeId }, "The code the app shows now"),
		h("p", { class: "hint", id: codeId + "-hint" }, "Six digits."),
		code),
	    h("button", { type: "submit" }, "Confirm"));
	form.addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const v = code.value.replace(/\s+/g, "");
		if (!/^[0-9]{6}$/.test(v)) {
			showError(err, "The code is six digits.");
			code.focus();
			return;
		}
		try {
			await call("POST", "/me/2fa", { body: { code: v },
			    quiet401: true });
			showError(err, "");
			announce("Second factor set up. From now on, sign in " +
			    "with a code.");
			await done();
		} catch (e) {
			code.value = "";
			if (e.status === 401 && !await stillSignedIn())
				return;
			showError(err, e.status === 409 ? e.message + " Start " +
			    "again with your password." : e.status === 400 ||
			    e.status === 401 || e.status === 403 ? "That code " +
			    "is not right. Wait for the next one and try again." :
			    e.message);
			err.focus();
		}
	});
	return form;
}

/* -- change password */
export function setupPassword(getMe, passwordChanged) {
	$("password-form").addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const err = $("password-error");
		const old = $("password-old").value;
		const neu = $("password-new").value;
		const again = $("password-again").value;
		let why = "";
		if (!old)
			why = "Give your current password.";
		else if ([...neu].length < 12 || [...neu].length > 128)
			why = "The new password needs 12 to 128 characters.";
		else if (neu !== again)
			why = "The two new passwords differ.";
		if (why) {
			showError(err, why);
			err.focus();
			return;
		}
		try {
			await call("POST", "/me/password", { body: {
			    password: old, new_password: neu }, quiet401: true });
			for (const id of ["password-old", "password-new",
			    "password-again"])
				$(id).value = "";
			showError(err, "");
			announce("Password changed. Your other sessions " +
			    "were ended.");
			await passwordChanged();
		} catch (e) {
			if (e.status === 401 && !await stillSignedIn())
				return;
			showError(err, e.status === 400 || e.status === 401 ||
			    e.status === 403 ?
			    "Not changed: check your current password, and " +
			    "that the new one has 12 to 128 characters." :
			    e.message);
			err.focus();
		}
	});
	$("password-username").value = getMe() ? getMe().username : "";
}
