// GOV.UK Frontend's "JavaScript is on and supported" classes, from a file so the
// Content-Security-Policy needs no inline script.
document.body.className += ' js-enabled' +
  ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
