"use strict";
// Behaviour for every admin page, attached here because the Content-Security-Policy runs no inline
// script and no onclick/onfocus attribute. Delegated from the document, so it also covers rows
// the admin adds later.

// A trader's status link (rewards StatusLinkAdmin): focusing the field selects it, and the button
// next to it copies it (the Clipboard API needs HTTPS or localhost; selecting is the fallback).
document.addEventListener("focusin", (event) => {
  if (event.target.matches("input.status-link")) {
    event.target.select();
  }
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy-status-link");
  if (!button) {
    return;
  }
  const input = button.previousElementSibling;
  input.select();
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value);
  } else {
    document.execCommand("copy");
  }
});
