// Operator presence (streamhost/presence.py): who is in charge, when the next check-in is due,
// and the check-in itself (control command `presence`). Without a check-in for
// control.presence_timeout_s the host goes to safe mode; a check-in brings it back. Uses the
// dashboard's `send`, `op` and `$` (operator.html); renders into <section id="presence">.
'use strict';
(() => {
  const box = document.getElementById('presence');
  if (!box) return;
  const state = window.presence = {status: null, checkins: 0, name: ''};
  box.innerHTML = '<h2>Operator in charge</h2>' +
    '<div id="presence-state" style="font-size:13px"></div>' +
    '<form id="presence-form" class="row">' +
    '<input id="presence-name" maxlength="80" placeholder="your name" autocomplete="name" style="flex:1;min-width:0">' +
    '<button id="presence-checkin" class="primary" type="submit">Check in</button></form>';
  const nameInput = document.getElementById('presence-name');
  const line = document.getElementById('presence-state');
  try { nameInput.value = localStorage.getItem('streamhost.operator') || ''; } catch (e) { /* private mode */ }

  function render(p) {
    state.status = p;
    if (!p) return;
    const who = p.operator ? 'in charge: ' + p.operator : 'nobody has checked in';
    if (p.safe_mode) {
      line.style.color = '#f88';
      line.textContent = 'SAFE MODE (' + p.safe_mode + ') — ' + who + '. Check in to go back to normal.';
    } else if (!p.required) {
      line.style.color = '#999';
      line.textContent = who + ' (no check-in required)';
    } else {
      const left = p.due_at == null ? null : Math.max(0, Math.round(p.due_at - (state.mediaTime || 0)));
      line.style.color = left != null && left < 60 ? '#fc6' : '#cfe';
      line.textContent = who + (left == null ? '' : ' · next check-in due in ' + left + ' s');
    }
  }

  function poll() {
    if (!op.authed) return;
    send({type: 'status'}, (r) => {
      if (!r.ok || !r.status.presence) return;
      state.mediaTime = r.status.media_time_seconds;
      render(r.status.presence);
    });
  }
  setInterval(poll, 2000);
  setTimeout(poll, 300);

  document.getElementById('presence-form').onsubmit = (ev) => {
    ev.preventDefault();
    const name = nameInput.value.trim();
    if (!name) { nameInput.focus(); return; }
    send({type: 'presence', name}, (r) => {
      if (!r.ok) return;  // the dashboard's error line shows why
      state.checkins += 1;
      state.name = name;
      state.mediaTime = r.media_time;
      try { localStorage.setItem('streamhost.operator', name); } catch (e) { /* private mode */ }
      render(r.presence);
    });
  };
})();
