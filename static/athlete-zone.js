/* The plan-a-race form: put the browser's time zone in the time-zone field while the
   form is fresh (the server's default is the athlete's own zone). Only a zone the list
   knows; without JavaScript the athlete's zone stays. */
(function () {
  "use strict";
  var field = document.querySelector("input[data-browser-zone='fill']");
  if (!field || !window.Intl) { return; }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var list = document.getElementById(field.getAttribute("list"));
  if (!zone || !list) { return; }
  var known = Array.prototype.some.call(list.options, function (o) { return o.value === zone; });
  if (known) { field.value = zone; }
}());
