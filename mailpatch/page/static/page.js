// mailpatch serve: the page's one script (served from /page.js; the policy allows no other).
// As soon as an email is chosen, dropped or pasted, it asks this server (/inspect) for the
// email's events and lists each with its readable-id field, filled from the email's own
// calendar links or from what this tab was given before (sessionStorage: nothing outlives the
// tab). It checks that every required field is filled before a Convert, and says every gap at
// once. The server converts; nothing here changes an email. Text from an email is only ever
// set as textContent or as an input's value.
"use strict";

(() => {
  const form = document.getElementById("convert-form");
  if (!form) return;
  const fileInput = document.getElementById("email_file");
  const textArea = document.getElementById("email_text");
  const nameInput = document.getElementById("email_name");
  const endpoint = document.getElementById("endpoint");
  const endpointNote = document.getElementById("endpoint-note");
  const events = document.getElementById("events");
  const status = document.getElementById("email-status");
  const problems = document.getElementById("client-problems");
  const zone = document.getElementById("drop-zone");
  const token = form.elements.namedItem("token").value;

  function recalled(key) {
    try {
      return window.sessionStorage.getItem("mailpatch." + key) || "";
    } catch (error) {
      return ""; // storage refused (a private window): nothing is remembered
    }
  }

  function remember(key, value) {
    try {
      if (value) window.sessionStorage.setItem("mailpatch." + key, value);
    } catch (error) {
      // as above
    }
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === true) node.setAttribute(name, "");
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(typeof child === "string" ? document.createTextNode(child) : child);
      }
    }
    return node;
  }

  // ------------------------------------------------------------ the events of the email

  function eventRow(event) {
    const id = "id-" + event.guid;
    const session = "session-" + event.guid;
    const readable = event.readable_id || recalled("id." + event.guid);
    const fromLinks = Boolean(event.readable_id);
    return element(
      "div",
      { class: "event", "data-guid": event.guid },
      element(
        "p",
        { class: "event-name" },
        element("strong", {}, "Event " + event.number),
        " ",
        element("span", { class: "where" }, event.where),
        element("br"),
        element("span", { class: "guid" }, "GUID " + event.guid),
      ),
      element(
        "div",
        { class: "event-fields" },
        element(
          "div",
          {},
          element(
            "label",
            { for: id },
            "Readable event id ",
            event.needed
              ? element("span", { class: "req" }, "required")
              : element("span", { class: "opt" }, "to check its link"),
          ),
          element("input", {
            type: "text",
            id: id,
            name: id,
            value: readable,
            required: event.needed,
            "aria-required": event.needed ? "true" : null,
            "aria-describedby": "id-help",
            autocomplete: "off",
            spellcheck: "false",
          }),
          fromLinks ? element("p", { class: "note" }, "Read from its calendar link.") : null,
        ),
        element(
          "div",
          {},
          element(
            "label",
            { for: session },
            "Session id ",
            element("span", { class: "opt" }, "optional"),
          ),
          element("input", {
            type: "text",
            id: session,
            name: session,
            value: event.session || (fromLinks ? "" : recalled("session." + event.guid)),
            autocomplete: "off",
            spellcheck: "false",
          }),
        ),
      ),
    );
  }

  function listEvents(list) {
    events.replaceChildren(...list.map(eventRow));
    if (!list.length) {
      events.append(
        element(
          "p",
          { class: "hint", id: "events-hint" },
          "This email has no event QR code and no calendar button: there is nothing to convert.",
        ),
      );
    }
  }

  function say(answer) {
    const count = answer.events.length;
    const todo = answer.events.filter((event) => event.needed).length;
    let text = answer.name + " (" + answer.bytes.toLocaleString("en") + " bytes): ";
    if (!count) text += "no event QR code and no calendar button.";
    else if (count === 1) text += "one event.";
    else text += count + " events.";
    if (todo) text += " Fill in the endpoint and the readable event id" + (todo > 1 ? "s" : "") + ", then Convert.";
    else if (count) text += " It is converted already: Convert checks its links against these settings.";
    status.textContent = text;
  }

  function fillEndpoint(linked) {
    endpointNote.textContent = "";
    if (!linked) return;
    if (!endpoint.value.trim()) {
      endpoint.value = linked;
      endpointNote.textContent = "Read from this email's calendar links.";
    } else if (endpoint.value.trim() !== linked) {
      endpointNote.textContent = "This email's calendar links go to " + linked + "; Convert writes them anew with the endpoint above.";
    }
  }

  // what the page showed of the previous email no longer holds
  function forgetPrevious() {
    for (const id of ["outcome", "registrants", "changes"]) {
      const section = document.getElementById(id);
      if (section) section.hidden = true;
    }
    for (const input of form.querySelectorAll("[data-carried]")) input.remove();
    const chosen = document.getElementById("chosen-buttons");
    if (chosen) chosen.remove();
    const title = document.getElementById("form-title");
    if (title) title.textContent = "Convert an email";
    clearProblems();
  }

  async function titleOf(response) {
    try {
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const said = page.querySelector("main p");
      return said ? said.textContent : "status " + response.status;
    } catch (error) {
      return "status " + response.status;
    }
  }

  let asked = 0; // the latest question: an older answer that arrives late is dropped

  async function inspect(file, text) {
    const mine = ++asked;
    forgetPrevious();
    status.textContent = "Reading the email…";
    const body = new FormData();
    body.append("token", token);
    if (file) {
      body.append("email_file", file, file.name);
    } else {
      body.append("email_text", text);
      body.append("email_name", nameInput.value);
    }
    let answer;
    try {
      const response = await fetch("/inspect", { method: "POST", body: body, credentials: "same-origin" });
      const type = response.headers.get("Content-Type") || "";
      if (!type.startsWith("application/json")) throw new Error(await titleOf(response));
      answer = await response.json();
    } catch (error) {
      if (mine === asked) {
        status.textContent = "The page could not list this email's events (" + error.message + "). Press Convert: mailpatch lists them then.";
      }
      return;
    }
    if (mine !== asked) return;
    if (answer.problem) {
      status.textContent = answer.problem;
      listEvents([]);
      return;
    }
    say(answer);
    fillEndpoint(answer.endpoint);
    listEvents(answer.events);
    const empty = [endpoint, ...events.querySelectorAll("input[required]")].find((input) => !input.value.trim());
    if (empty) empty.focus();
  }

  fileInput.addEventListener("change", () => {
    if (!fileInput.files.length) return;
    textArea.value = "";
    showName();
    inspect(fileInput.files[0], null);
  });

  // the file name field is for a pasted email only
  const pasteName = document.getElementById("paste-name");
  const showName = () => {
    pasteName.hidden = !textArea.value.trim() && !form.querySelector('input[name="pasted"][value="1"]');
  };
  showName();

  let typing = 0;
  textArea.addEventListener("input", () => {
    showName();
    window.clearTimeout(typing);
    typing = window.setTimeout(() => {
      if (!textArea.value.trim()) return;
      fileInput.value = "";
      inspect(null, textArea.value);
    }, 400);
  });

  // a file dropped anywhere on the page is the email (the browser would leave the page for it)
  const carriesFiles = (event) => Array.from(event.dataTransfer ? event.dataTransfer.types : []).includes("Files");
  for (const kind of ["dragenter", "dragover"]) {
    document.addEventListener(kind, (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) zone.classList.remove("over");
  });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    zone.classList.remove("over");
    if (!event.dataTransfer.files.length) return;
    fileInput.files = event.dataTransfer.files;
    textArea.value = "";
    inspect(fileInput.files[0], null);
  });

  // ------------------------------------------------------------ before a Convert

  function clearProblems() {
    problems.replaceChildren();
    for (const input of form.querySelectorAll(".invalid")) {
      input.classList.remove("invalid");
      input.removeAttribute("aria-invalid");
    }
  }

  function labelOf(input) {
    const label = form.querySelector('label[for="' + input.id + '"]');
    const text = label ? label.firstChild.textContent.trim() : input.name;
    const row = input.closest(".event");
    return row ? text + " of " + row.querySelector("strong").textContent.toLowerCase() : text;
  }

  form.addEventListener("submit", (event) => {
    clearProblems();
    const gaps = [];
    const carried = form.querySelector('input[name="email_b64"]');
    if (!fileInput.files.length && !textArea.value.trim() && !carried) {
      gaps.push([fileInput, "Choose the exported email file, or paste its HTML."]);
    }
    for (const input of form.querySelectorAll("input[required]")) {
      if (!input.value.trim()) gaps.push([input, labelOf(input) + " is required."]);
    }
    if (gaps.length) {
      event.preventDefault();
      const list = element("ul");
      for (const [input, text] of gaps) {
        input.classList.add("invalid");
        input.setAttribute("aria-invalid", "true");
        list.append(element("li", {}, element("a", { href: "#" + input.id }, text)));
      }
      problems.append(element("h2", {}, "Fill in before converting:"), list);
      problems.focus();
      return;
    }
    remember("endpoint", endpoint.value.trim());
    for (const row of events.querySelectorAll(".event")) {
      const guid = row.dataset.guid;
      const readable = form.elements.namedItem("id-" + guid);
      const session = form.elements.namedItem("session-" + guid);
      if (readable) remember("id." + guid, readable.value.trim());
      if (session) remember("session." + guid, session.value.trim());
    }
    const button = document.getElementById("convert");
    button.textContent = "Converting…";
  });

  // ------------------------------------------------------------ on arrival

  if (!endpoint.value) endpoint.value = recalled("endpoint");
  for (const row of events.querySelectorAll(".event")) {
    const readable = form.elements.namedItem("id-" + row.dataset.guid);
    if (readable && !readable.value) readable.value = recalled("id." + row.dataset.guid);
  }
  const outcome = document.getElementById("outcome");
  if (outcome) outcome.focus({ preventScroll: true });
})();
