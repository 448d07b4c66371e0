import { initAll } from '/static/vendor/govuk-frontend-6.3.0/govuk-frontend.min.js';

initAll();
