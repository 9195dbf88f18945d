// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Print button (printing needs script; without it the browser's own print works the same).
  for (const button of document.querySelectorAll("[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
  // Move focus to the error summary so keyboard and screen-reader users land on it.
  document.getElementById("error-summary")?.focus();
  // Select the whole shareable link on focus, ready to copy.
  document.querySelector(".share-url")?.addEventListener("focus", (e) => e.target.select());
});
