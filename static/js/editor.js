// The challenge editor (templates/admin/challenge_form.html): fields follow the chosen type, and
// the quiz builder's buttons work in place. Without this script every field group is shown with
// a "used by" hint, and the builder's buttons submit the form (challenges/quiz_builder.py).
(() => {
  const form = document.querySelector("[data-challenge-editor]");
  if (!form) return;
  const map = JSON.parse(form.dataset.fieldMap);
  const typeSelect = form.querySelector("[name=type]");
  const verification = form.querySelector("[name=verification]");
  const effort = form.querySelector("[name=effort]");
  const evidenceBoxes = [...form.querySelectorAll("[name=evidence]")];
  const builder = form.querySelector("#quiz-builder");
  const list = builder.querySelector("[data-quiz-list]");
  const status = builder.querySelector("[data-quiz-status]");
  form.classList.add("scripted");

  // The fields in use: the type's own, its verifier's and its evidence's (verifiers.field_names_for).
  function usedFields() {
    const type = map.types[typeSelect.value];
    if (!type) return new Set();
    const ticked = evidenceBoxes.filter((box) => box.checked).map((box) => box.value);
    const evidence = ticked.length ? ticked : type.evidence;
    const names = new Set(type.fields);
    (map.verifiers[verification.value || type.verification] || []).forEach((name) => names.add(name));
    evidence.forEach((kind) => (map.evidence[kind] || []).forEach((name) => names.add(name)));
    return names;
  }
  function showUsed() {
    const used = usedFields();
    form.querySelectorAll(".type-field[data-field]").forEach((group) => {
      group.hidden = !group.dataset.field.split(" ").some((name) => used.has(name));
    });
    builder.classList.toggle("graded", typeSelect.value === "quiz");
  }
  // A new type brings its defaults: effort, verification and evidence as the type has them.
  typeSelect.addEventListener("change", () => {
    const type = map.types[typeSelect.value];
    if (!type) return;
    effort.value = type.effort;
    verification.value = type.verification;
    evidenceBoxes.forEach((box) => { box.checked = type.evidence.includes(box.value); });
  });
  form.addEventListener("change", (event) => {
    if (event.target === typeSelect || event.target === verification || evidenceBoxes.includes(event.target)) showUsed();
  });

  // Names, ids and labels follow each question's and option's place (N and M from 0).
  function renumber() {
    // Radio groups are by name: two questions sharing a name for a moment would untick one of
    // their answers, so every group first takes a name no final one has.
    list.querySelectorAll("[data-quiz-question]").forEach((question, n) => {
      question.querySelectorAll("[data-quiz-correct]").forEach((radio) => { radio.name = `renumbering-${n}`; });
    });
    list.querySelectorAll("[data-quiz-question]").forEach((question, n) => {
      const number = n + 1;
      question.querySelectorAll("[data-quiz-number]").forEach((span) => { span.textContent = number; });
      const prompt = question.querySelector("[data-quiz-prompt]");
      prompt.name = prompt.id = `questions-${n}-prompt`;
      question.querySelector("label[for]").htmlFor = prompt.id;
      question.querySelectorAll("[data-quiz-option]").forEach((option, m) => {
        const radio = option.querySelector("[data-quiz-correct]");
        radio.name = `questions-${n}-correct`;
        radio.value = String(m);
        option.querySelector("[data-quiz-correct-label]").textContent = `Right answer: option ${m + 1}`;
        const text = option.querySelector("[data-quiz-option-text]");
        text.name = `questions-${n}-options-${m}`;
        text.setAttribute("aria-label", `Option ${m + 1} of question ${number}`);
        const remove = option.querySelector("[data-quiz-op=remove-option]");
        remove.value = `remove-option-${n}-${m}`;
        remove.setAttribute("aria-label", `Remove option ${m + 1} of question ${number}`);
      });
      const ops = { "add-option": `add-option-${n}`, up: `up-${n}`, down: `down-${n}`, remove: `remove-${n}` };
      Object.entries(ops).forEach(([op, value]) => { question.querySelector(`[data-quiz-op=${op}]`).value = value; });
      question.querySelector("[data-quiz-op=up]").setAttribute("aria-label", `Move question ${number} up`);
      question.querySelector("[data-quiz-op=down]").setAttribute("aria-label", `Move question ${number} down`);
      question.querySelector("[data-quiz-op=remove]").setAttribute("aria-label", `Remove question ${number}`);
      question.querySelector(".quiz-question-actions").setAttribute("aria-label", `Question ${number}`);
    });
    builder.querySelector("[data-quiz-op=add]").disabled =
      list.children.length >= Number(builder.dataset.maxQuestions);
  }
  function changed(message) {
    renumber();
    status.textContent = message;
    // The live preview follows the quiz as it does every other field.
    form.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function addQuestion(focus = true) {
    const template = document.getElementById("quiz-question-template");
    const html = template.innerHTML.replaceAll("__NUMBER__", "0").replaceAll("__N__", "0");
    list.insertAdjacentHTML("beforeend", html);
    changed(`Question ${list.children.length} added.`);
    if (focus) list.lastElementChild.querySelector("[data-quiz-prompt]").focus();
  }
  function addOption(question) {
    const options = question.querySelector(".quiz-option-list");
    if (options.children.length >= Number(builder.dataset.maxOptions)) return;
    const copy = options.lastElementChild.cloneNode(true);
    copy.querySelector("[data-quiz-option-text]").value = "";
    copy.querySelector("[data-quiz-correct]").checked = false;
    options.append(copy);
    changed("Option added.");
    copy.querySelector("[data-quiz-option-text]").focus();
  }

  builder.addEventListener("click", (event) => {
    const button = event.target.closest("[data-quiz-op]");
    if (!button) return;
    event.preventDefault();
    const op = button.dataset.quizOp;
    const question = button.closest("[data-quiz-question]");
    if (op === "add") { addQuestion(); return; }
    if (op === "add-option") { addOption(question); return; }
    const number = [...list.children].indexOf(question) + 1;
    if (op === "remove-option") {
      const options = question.querySelector(".quiz-option-list");
      const option = button.closest("[data-quiz-option]");
      const next = option.nextElementSibling || option.previousElementSibling;
      if (options.children.length > 1) option.remove();
      else option.querySelector("[data-quiz-option-text]").value = "";
      changed(`Option removed from question ${number}.`);
      (next || question).querySelector("[data-quiz-option-text]").focus();
    } else if (op === "remove") {
      const next = question.nextElementSibling || question.previousElementSibling;
      question.remove();
      changed(`Question ${number} removed.`);
      (next ? next.querySelector("[data-quiz-prompt]") : builder.querySelector("[data-quiz-op=add]")).focus();
    } else if (op === "up" && question.previousElementSibling) {
      question.previousElementSibling.before(question);
      changed(`Question ${number} moved up to ${number - 1}.`);
      question.querySelector("[data-quiz-op=up]").focus();
    } else if (op === "down" && question.nextElementSibling) {
      question.nextElementSibling.after(question);
      changed(`Question ${number} moved down to ${number + 1}.`);
      question.querySelector("[data-quiz-op=down]").focus();
    }
  });

  renumber();
  showUsed();
})();
