// Long messages are folded: a 10,000-character text would otherwise be
// one bubble thousands of pixels tall that the reader must scroll past.
// A folded text shows its first lines and a "Show more" button that
// unfolds it (and folds it again).

// A text is folded when it has more characters or lines than this.
const FOLD_CHARS = 700;
const FOLD_LINES = 12;

// isLong reports whether a text should be folded.
export function isLong(text) {
  return [...text].length > FOLD_CHARS || text.split("\n", FOLD_LINES + 1).length > FOLD_LINES;
}

// fold folds the text element el of a message and returns the button
// that unfolds it, to put in the bubble after the text.
export function fold(el) {
  el.classList.add("folded");
  el.id ||= `text-${Math.random().toString(36).slice(2)}`;
  const b = document.createElement("button");
  b.type = "button";
  b.className = "show-more";
  b.dataset.testid = "show-more";
  b.textContent = "Show more";
  b.setAttribute("aria-expanded", "false");
  b.setAttribute("aria-controls", el.id);
  b.addEventListener("click", () => {
    const open = el.classList.toggle("folded") === false;
    b.setAttribute("aria-expanded", String(open));
    b.textContent = open ? "Show less" : "Show more";
  });
  return b;
}
