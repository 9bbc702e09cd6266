/* citypair: small progressive enhancements. Every page works without this file. */
(function () {
  'use strict';

  var root = document.documentElement;
  root.classList.remove('no-js');
  root.classList.add('js-enabled');

  function each(selector, fn, scope) {
    Array.prototype.forEach.call((scope || document).querySelectorAll(selector), fn);
  }

  /* Move focus to the error summary, so screen-reader users hear the problems first. */
  function focusErrorSummary() {
    var summary = document.querySelector('[data-module="error-summary"]');
    if (summary) {
      summary.focus();
    }
  }

  /* Links in the error summary focus the field instead of only scrolling to it. */
  function linkErrorSummary() {
    document.addEventListener('click', function (event) {
      var link = event.target.closest('.error-summary a[href^="#"]');
      if (!link) {
        return;
      }
      var input = document.getElementById(link.getAttribute('href').slice(1));
      if (!input) {
        return;
      }
      event.preventDefault();
      var legend = input.closest('fieldset') && input.closest('fieldset').querySelector('legend');
      var label = legend || document.querySelector('label[for="' + input.id + '"]');
      (label || input).scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }

  /* "You have 120 characters remaining" under textareas with data-maxlength. */
  function characterCounts() {
    each('textarea[data-maxlength]', function (textarea) {
      var max = parseInt(textarea.getAttribute('data-maxlength'), 10);
      var message = document.getElementById(textarea.id + '-info');
      if (!max || !message) {
        return;
      }
      var status = document.createElement('div');
      status.className = 'visually-hidden';
      status.setAttribute('aria-live', 'polite');
      message.parentNode.insertBefore(status, message.nextSibling);
      var timer = null;

      function text(count) {
        var over = count > max;
        var left = Math.abs(max - count);
        var key = over ? 'textOver' : 'textUnder';
        if (left === 1) {
          key += 'One';
        }
        return (message.dataset[key] || '{n}').replace('{n}', left);
      }

      function update(announce) {
        var count = textarea.value.length;
        var over = count > max;
        message.textContent = text(count);
        message.classList.toggle('character-count__message--over', over);
        textarea.classList.toggle('textarea--over', over);
        if (announce) {
          clearTimeout(timer);
          timer = setTimeout(function () {
            status.textContent = text(textarea.value.length);
          }, 1000);
        }
      }

      textarea.addEventListener('input', function () {
        update(true);
      });
      update(false);
    });
  }

  /* Ask before buttons or links with data-confirm="Question?" do their work. */
  function confirmations() {
    document.addEventListener('click', function (event) {
      var control = event.target.closest('[data-confirm]');
      if (control && !window.confirm(control.getAttribute('data-confirm'))) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }, true);
  }

  /* A second click on a submit button within a second does not send the form twice. */
  function preventDoubleSubmit() {
    document.addEventListener('submit', function (event) {
      var form = event.target;
      if (form.dataset.submitting === 'true') {
        event.preventDefault();
        return;
      }
      form.dataset.submitting = 'true';
      setTimeout(function () {
        delete form.dataset.submitting;
      }, 1000);
    });
  }

  /* A checkbox with data-select-all="case_ids" ticks every checkbox named case_ids. */
  function selectAll() {
    each('input[type="checkbox"][data-select-all]', function (master) {
      var name = master.getAttribute('data-select-all');
      var scope = master.closest('form') || master.closest('table') || document;
      function boxes() {
        return Array.prototype.filter.call(
          scope.querySelectorAll('input[type="checkbox"]'),
          function (box) { return box.name === name && !box.disabled; }
        );
      }
      function sync() {
        var all = boxes();
        var ticked = all.filter(function (box) { return box.checked; }).length;
        master.checked = all.length > 0 && ticked === all.length;
        master.indeterminate = ticked > 0 && ticked < all.length;
      }
      master.addEventListener('change', function () {
        boxes().forEach(function (box) { box.checked = master.checked; });
        master.indeterminate = false;
      });
      scope.addEventListener('change', function (event) {
        if (event.target !== master && event.target.name === name) {
          sync();
        }
      });
      sync();
    });
  }

  /* Links that look like buttons also respond to the space bar, like buttons. */
  function linkButtons() {
    document.addEventListener('keydown', function (event) {
      var link = event.target;
      if (event.key === ' ' && link.matches && link.matches('a[role="button"]')) {
        event.preventDefault();
        link.click();
      }
    });
  }

  function init() {
    characterCounts();
    confirmations();
    preventDoubleSubmit();
    selectAll();
    linkButtons();
    linkErrorSummary();
    focusErrorSummary();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
