/* citypair: keeps a call's "Closes in ..." text live and shows deadlines in the browser's
   time zone. The server renders both texts; without this file they stay as loaded. */
(function () {
  'use strict';

  var MINUTE = 60 * 1000;
  var HOUR = 60 * MINUTE;
  var DAY = 24 * HOUR;
  var reduceMotion = window.matchMedia &&
    window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  function unit(el, name, n) {
    var pattern = el.getAttribute('data-' + name + (n === 1 ? '-one' : '-other')) || '{n}';
    return pattern.replace('{n}', String(n));
  }

  /* The same words the server writes, from the time left in milliseconds. */
  function describe(el, left) {
    if (left <= 0) {
      return el.getAttribute('data-closed');
    }
    var days = Math.floor(left / DAY);
    var hours = Math.floor((left % DAY) / HOUR);
    var minutes = Math.floor((left % HOUR) / MINUTE);
    var parts = [];
    if (days) {
      parts.push(unit(el, 'day', days));
      if (hours) { parts.push(unit(el, 'hour', hours)); }
    } else if (hours) {
      parts.push(unit(el, 'hour', hours));
      if (minutes) { parts.push(unit(el, 'minute', minutes)); }
    } else if (minutes) {
      parts.push(unit(el, 'minute', minutes));
    } else {
      return el.getAttribute('data-soon');
    }
    return el.getAttribute('data-template').replace('{time}', parts.join(' '));
  }

  /* Coarse steps worth announcing: each day, then each hour of the last day, then each
     quarter of an hour in the last hour, then closing. */
  function step(left) {
    if (left <= 0) { return 'closed'; }
    if (left >= DAY) { return 'd' + Math.floor(left / DAY); }
    if (left >= HOUR) { return 'h' + Math.floor(left / HOUR); }
    return 'q' + Math.floor(left / (15 * MINUTE));
  }

  function start(el) {
    var closes = Date.parse(el.getAttribute('data-closes-at'));
    var serverNow = Date.parse(el.getAttribute('data-now'));
    if (isNaN(closes)) { return; }
    // Trust the server's clock over a wrong one on the device.
    var skew = isNaN(serverNow) ? 0 : serverNow - Date.now();
    var live = document.createElement('span');
    live.className = 'visually-hidden';
    live.setAttribute('aria-live', 'polite');
    el.parentNode.appendChild(live);
    var lastStep = step(closes - (Date.now() + skew));
    var timer = null;

    function tick() {
      var left = closes - (Date.now() + skew);
      var now = step(left);
      var changed = now !== lastStep;
      // With reduced motion the text changes only at the coarse steps, not every minute.
      if (!reduceMotion || changed) {
        el.textContent = describe(el, left);
      }
      if (changed) {
        lastStep = now;
        live.textContent = describe(el, left);
      }
      if (left <= 0 && timer) {
        window.clearInterval(timer);
      }
    }

    tick();
    timer = window.setInterval(tick, 15 * 1000);
  }

  /* "Your time: ..." beside a deadline, when the browser's zone is not the call's. */
  function localTime(el) {
    if (!window.Intl || !Intl.DateTimeFormat) { return; }
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    if (!zone || zone === el.getAttribute('data-zone')) { return; }
    var when = new Date(el.getAttribute('data-local-time'));
    if (isNaN(when.getTime())) { return; }
    var text = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      // dateStyle cannot be combined with timeZoneName, so the parts are named one by one.
      year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit',
      timeZoneName: 'short'
    }).format(when);
    el.textContent = el.getAttribute('data-label').replace('{when}', text);
    el.insertAdjacentHTML('beforebegin', '<br>');
    el.hidden = false;
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-countdown]'), start);
    Array.prototype.forEach.call(document.querySelectorAll('[data-local-time]'), localTime);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
