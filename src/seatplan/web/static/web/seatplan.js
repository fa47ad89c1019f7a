// Small enhancements; every page works without them.
document.documentElement.classList.add("js");

function closeMenus(except) {
  document.querySelectorAll("[data-menu]").forEach((menu) => {
    if (menu === except) return;
    menu.querySelector("[aria-haspopup]").setAttribute("aria-expanded", "false");
    menu.querySelector("[role=menu]").hidden = true;
  });
}

function setUpMenus(root) {
  root.querySelectorAll("[data-menu]").forEach((menu) => {
    const button = menu.querySelector("[aria-haspopup]");
    const list = menu.querySelector("[role=menu]");
    list.hidden = true;
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") === "true";
      closeMenus(menu);
      button.setAttribute("aria-expanded", String(!open));
      list.hidden = open;
      if (!open) list.querySelector("[role=menuitem]")?.focus();
    });
    menu.addEventListener("keydown", (event) => {
      const items = [...list.querySelectorAll("[role=menuitem]")];
      const index = items.indexOf(document.activeElement);
      if (event.key === "Escape") { closeMenus(); button.focus(); }
      if (event.key === "ArrowDown" && items.length) { event.preventDefault(); items[(index + 1) % items.length].focus(); }
      if (event.key === "ArrowUp" && items.length) { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    });
  });
}

document.addEventListener("click", (event) => {
  if (!event.target.closest("[data-menu]")) closeMenus();
});

document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});

// One Checkout per page: the button disables itself once the form is on its way.
document.addEventListener("submit", (event) => {
  const submitter = event.submitter;
  if (submitter && submitter.matches("[data-once]")) {
    setTimeout(() => { submitter.disabled = true; submitter.textContent = "Processing…"; }, 0);
  }
});

// On a narrow screen the navigation is one row that scrolls sideways: bring the current page's link into view.
function showCurrentPage() {
  const nav = document.querySelector(".sidenav");
  const current = nav?.querySelector("[aria-current=page]");
  if (!current || nav.scrollWidth <= nav.clientWidth) return;
  const offset = current.getBoundingClientRect().left - nav.getBoundingClientRect().left;
  nav.scrollLeft += offset - (nav.clientWidth - current.offsetWidth) / 2;
}

document.addEventListener("DOMContentLoaded", () => { setUpMenus(document); showCurrentPage(); });
window.addEventListener("resize", showCurrentPage);
