// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Audience switch: apply the choice as soon as it changes.
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    form.addEventListener("change", (event) => {
      if (event.target.name === "audience") form.requestSubmit();
    });
  }
  // Print button (printing needs script; without it the browser's own print works the same).
  for (const button of document.querySelectorAll("[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
  // INCREMENT-CPE: show only the inputs of the chosen way of giving the score.
  const block = document.querySelector("[data-increment]");
  if (block) {
    const sync = () => {
      const mode = block.querySelector("input[name='increment.mode']:checked")?.value || "none";
      block.querySelector("[data-increment-parts]").hidden = mode !== "parts";
      block.querySelector("[data-increment-score]").hidden = mode !== "score";
    };
    block.addEventListener("change", sync);
    sync();
  }
  // Move focus to the error summary so keyboard and screen-reader users land on it.
  document.getElementById("error-summary")?.focus();
  // Select the whole shareable link on focus, ready to copy.
  document.querySelector(".share-url")?.addEventListener("focus", (e) => e.target.select());
});
