/* ref.js: shows the reference from ?ref= on the thank-you page, only when it
 * is one (FD- and 8 Crockford base32 characters), and only as text. */
(function () {
	"use strict";
	var el = document.getElementById("ref");
	if (!el || !window.URLSearchParams)
		return;
	var ref = new URLSearchParams(window.location.search).get("ref");
	el.textContent = ref && /^FD-[0-9A-HJKMNP-TV-Z]{8}$/.test(ref) ? ref : "";
})();
