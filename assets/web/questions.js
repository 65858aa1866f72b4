// Viewers' questions the host could not answer from the catalog (talk/followup.py): each comes
// as control event `question` (and again on every change of state), and the open ones with the
// `history` reply when the dashboard opens. Each open question has an answer box that sends
// `answer`; the host says the answer at its next sentence boundary, naming the viewer. Uses the
// dashboard's `send` and `$` (operator.html); renders into <section id="questions">.
'use strict';
(() => {
  const box = document.getElementById('questions');
  if (!box) return;
  box.innerHTML = '<h2>Questions for you <span id="q-count" class="tag">0</span></h2>' +
    '<div id="q-list" class="list"></div>';
  const list = document.getElementById('q-list');
  const rows = new Map();  // question id -> element
  const state = window.questions = {open: 0, answered: 0, unanswered: 0};

  function count() {
    state.open = [...rows.values()].filter((r) => r.dataset.state === 'open').length;
    document.getElementById('q-count').textContent = String(state.open);
  }

  function row(q) {
    const d = document.createElement('div');
    d.className = 'question'; d.dataset.question = q.question;
    d.style.flexDirection = 'column'; d.style.alignItems = 'stretch';
    const head = document.createElement('div');
    head.style.display = 'flex'; head.style.gap = '6px';
    const who = document.createElement('span'); who.className = 'who'; who.textContent = q.user + ':';
    const t = document.createElement('span'); t.className = 'txt'; t.textContent = q.text;
    const st = document.createElement('span'); st.className = 'tag q-state';
    head.append(tag(q.lang || ''), who, t, st);
    const form = document.createElement('form'); form.className = 'row';
    const input = document.createElement('input');
    input.className = 'q-answer'; input.maxLength = 2000; input.style.flex = '1'; input.style.minWidth = '0';
    input.placeholder = 'answer (the host says it, naming ' + q.user + ')';
    const b = document.createElement('button'); b.className = 'primary'; b.type = 'submit'; b.textContent = 'answer';
    form.append(input, b);
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      b.disabled = true;
      send({type: 'answer', question: q.question, text}, (r) => {
        b.disabled = false;
        if (r.ok) update(r.question);
      });
    };
    d.append(head, form);
    return d;
  }

  function update(q) {
    let d = rows.get(q.question);
    if (!d) {
      d = row(q);
      rows.set(q.question, d);
      list.prepend(d);
    }
    d.dataset.state = q.state;
    const st = d.querySelector('.q-state');
    st.textContent = q.state === 'open' ? 'open' : q.state === 'answered' ? 'answered: ' + (q.answer || '') : 'closed: unanswered';
    st.className = 'tag q-state ' + (q.state === 'answered' ? 'answer' : q.state === 'open' ? 'operator' : 'blocked');
    if (q.state !== 'open') { const f = d.querySelector('form'); if (f) f.remove(); }
    while (rows.size > 200) {  // keep the newest; open ones first to stay
      const [id, el] = rows.entries().next().value; rows.delete(id); el.remove();
    }
    count();
  }

  state.onEvent = update;
  state.load = (qs) => (qs || []).forEach(update);
})();
