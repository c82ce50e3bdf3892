/* form.js: progressive enhancement of the appointment form. Without it the
 * form posts as plain HTML; with it: a fresh idempotency key per page view,
 * the location list refreshed, a JSON post, errors shown inline, and the
 * reference shown on success. No framework, no build step. */
(function () {
	"use strict";

	var LABELS = {
		first_name: "First name",
		last_name: "Last name",
		email: "Email address",
		phone: "Phone number",
		location: "Location",
		service: "Service or condition",
		preferred_time: "Preferred days and times",
		message: "Anything we should know?",
		consent: "Consent",
		submission_id: "This page",
		website: "This page"
	};
	var REF = /^FD-[0-9A-HJKMNP-TV-Z]{8}$/;

	var form = document.getElementById("appointment-form");
	if (!form || !window.fetch || !window.FormData ||
	    !window.URLSearchParams || !window.crypto ||
	    !window.crypto.getRandomValues)
		return;	/* the plain HTML form still works */

	var submit = document.getElementById("submit");
	var status = document.getElementById("form-status");
	var summary = document.getElementById("error-summary");
	var summaryList = document.getElementById("error-list");
	var success = document.getElementById("success");
	var submitText = submit.textContent;
	var sending = false;

	/* 128 random bits as 32 hex digits: fits [A-Za-z0-9_-]{1,64}. A new
	 * one per page view; kept across retries of this view, so a retried
	 * post is answered with the first answer, never stored twice. */
	function newKey() {
		var b = new Uint8Array(16), s = "";
		window.crypto.getRandomValues(b);
		for (var i = 0; i < b.length; i++)
			s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
		return s;
	}

	/* The page may carry a key already (nginx SSI writes one into each
	 * copy it serves) or none (served without SSI): either way, this view
	 * gets a key of its own. */
	function setKey() {
		var key = form.elements.submission_id;
		if (!key) {
			key = document.createElement("input");
			key.type = "hidden";
			key.id = key.name = "submission_id";
			form.appendChild(key);
		}
		key.value = newKey();
	}

	/* GET /locations: the list may have changed since the page was made.
	 * On any failure the list written into the page stays. */
	function refreshLocations() {
		var url = form.getAttribute("data-locations-url");
		var select = form.elements.location;
		if (!url || !select)
			return;
		fetch(url, { headers: { Accept: "application/json" },
		    credentials: "same-origin" }).then(function (r) {
			if (!r.ok)
				throw new Error("HTTP " + r.status);
			return r.json();
		}).then(function (list) {
			if (!Array.isArray(list) || list.length === 0)
				return;
			var chosen = select.value;
			while (select.options.length > 1)
				select.remove(1);
			list.forEach(function (loc) {
				if (!loc || typeof loc.slug !== "string" ||
				    typeof loc.name !== "string")
					return;
				var o = document.createElement("option");
				o.value = loc.slug;
				o.textContent = loc.name;
				select.appendChild(o);
			});
			select.value = chosen;
			if (select.value !== chosen)
				select.value = "";
		}).catch(function () { /* keep the rendered list */ });
	}

	function errorId(name) {
		return name + "-error";
	}

	function describe(field, id, add) {
		var ids = (field.getAttribute("aria-describedby") || "")
		    .split(/\s+/).filter(function (x) { return x && x !== id; });
		if (add)
			ids.push(id);
		if (ids.length)
			field.setAttribute("aria-describedby", ids.join(" "));
		else
			field.removeAttribute("aria-describedby");
	}

	function clearErrors() {
		var shown = form.querySelectorAll(".field-error");
		for (var i = 0; i < shown.length; i++) {
			shown[i].hidden = true;
			shown[i].textContent = "";
		}
		var bad = form.querySelectorAll("[aria-invalid]");
		for (var j = 0; j < bad.length; j++) {
			bad[j].removeAttribute("aria-invalid");
			describe(bad[j], errorId(bad[j].name), false);
			var wrap = bad[j].closest(".field");
			if (wrap)
				wrap.classList.remove("has-error");
		}
		summaryList.textContent = "";
		summary.hidden = true;
	}

	/* errors: {"field": "why", ...} from a 422 answer, in form order. */
	function showErrors(errors) {
		var first = null;
		clearErrors();
		Array.prototype.forEach.call(form.elements, function (field) {
			var why = field.name && errors[field.name];
			if (!why || field.type === "hidden" || field.name === "website")
				return;
			var text = LABELS[field.name] + " " + why;
			var p = document.getElementById(errorId(field.name));
			if (p) {
				p.textContent = text;
				p.hidden = false;
				describe(field, p.id, true);
			}
			field.setAttribute("aria-invalid", "true");
			var wrap = field.closest(".field");
			if (wrap)
				wrap.classList.add("has-error");
			addSummary(text, field.id);
			if (!first)
				first = field;
		});
		Object.keys(errors).forEach(function (name) {
			var f = form.elements[name];
			if (!f || f.type === "hidden" || name === "website")
				addSummary((LABELS[name] || name) + ": " + errors[name] +
				    ". Please reload the page and try again.", null);
		});
		summary.hidden = false;
		if (first)
			first.focus();
		else
			summary.focus();
	}

	function addSummary(text, fieldId) {
		var li = document.createElement("li");
		if (fieldId) {
			var a = document.createElement("a");
			a.href = "#" + fieldId;
			a.textContent = text;
			a.addEventListener("click", function (e) {
				e.preventDefault();
				document.getElementById(fieldId).focus();
			});
			li.appendChild(a);
		} else {
			li.textContent = text;
		}
		summaryList.appendChild(li);
	}

	function showProblem(text) {
		clearErrors();
		addSummary(text, null);
		summary.hidden = false;
		summary.focus();
	}

	function showSuccess(ref) {
		clearErrors();
		document.getElementById("success-ref").textContent = ref;
		var again = success.querySelector("a");
		if (again)	/* this page, wherever the site put it */
			again.href = window.location.pathname;
		form.hidden = true;
		success.hidden = false;
		success.focus();
	}

	function busy(on) {
		sending = on;
		submit.disabled = on;
		submit.setAttribute("aria-busy", on ? "true" : "false");
		submit.textContent = on ? "Sending\u2026" : submitText;
		status.textContent = on ? "Sending your request\u2026" : "";
	}

	function answer(r) {
		return r.json().catch(function () { return {}; }).then(
		    function (body) { return { status: r.status, body: body }; });
	}

	function handle(a) {
		var b = a.body || {};
		if (a.status === 201 && typeof b.reference === "string" &&
		    REF.test(b.reference))
			showSuccess(b.reference);
		else if (a.status === 422 && b.errors &&
		    typeof b.errors === "object")
			showErrors(b.errors);
		else if (a.status === 409)
			showProblem("This form was already sent with other details. " +
			    "Please reload the page to send a new request.");
		else if (a.status === 413)
			showProblem("Your request is too long to send. Please " +
			    "shorten your message and try again.");
		else if (a.status === 400 || a.status === 415)
			showProblem("Your request could not be read (error " +
			    a.status + "). Please reload the page and try again, " +
			    "or call us.");
		else if (a.status === 429)
			showProblem("Too many requests came from your network. " +
			    "Please try again later, or call us.");
		else
			showProblem("Your request could not be sent right now " +
			    "(error " + a.status + "). Please try again in a " +
			    "moment, or call us.");
	}

	form.noValidate = true;	/* the server's answer is the one truth */
	form.addEventListener("submit", function (e) {
		e.preventDefault();
		if (sending)
			return;
		busy(true);
		fetch(form.action, {
			method: "POST",
			headers: { Accept: "application/json" },
			body: new URLSearchParams(new FormData(form)),
			credentials: "same-origin"
		}).then(answer).then(handle).catch(function () {
			showProblem("Your request could not be sent: the " +
			    "connection failed. Please check it and try again.");
		}).then(function () { busy(false); });
	});

	/* Once per page view. A page restored from the back-forward cache runs
	 * no script again: a sent form stays sent, an unsent one keeps its
	 * key, which is then still unused or still this request's. */
	setKey();
	refreshLocations();
})();
