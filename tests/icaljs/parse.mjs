// Parse iCalendar text from stdin with ical.js; print one JSON object per VEVENT.
// Used by tests/icaljs.py. Times are converted to UTC ISO 8601 ("...Z"); all-day
// values stay dates ("2027-05-15"). Exit 2 with the parser's message if it refuses.
import ICAL from "ical.js";

function when(time) {
  if (!time) return null;
  if (time.isDate) return time.toString();
  return new Date(time.toUnixTime() * 1000).toISOString().replace(".000Z", "Z");
}

function address(prop) {
  return {
    value: prop.getFirstValue(),
    cn: prop.getParameter("cn") ?? null,
    partstat: prop.getParameter("partstat") ?? null,
    rsvp: prop.getParameter("rsvp") ?? null,
    role: prop.getParameter("role") ?? null,
  };
}

function duration(comp, name) {
  const value = comp.getFirstPropertyValue(name);
  return value == null ? null : value.toString();
}

function vevent(calendar, comp) {
  const event = new ICAL.Event(comp);
  const alarms = comp.getAllSubcomponents("valarm");
  const organizer = comp.getFirstProperty("organizer");
  return {
    uid: event.uid,
    sequence: event.sequence,
    method: calendar.getFirstPropertyValue("method"),
    calname: calendar.getFirstPropertyValue("x-wr-calname"),
    refresh_interval: duration(calendar, "refresh-interval"),
    published_ttl: calendar.getFirstPropertyValue("x-published-ttl"),
    status: comp.getFirstPropertyValue("status"),
    summary: event.summary,
    description: event.description,
    location: event.location,
    dtstamp: when(comp.getFirstPropertyValue("dtstamp")),
    start_utc: when(event.startDate),
    end_utc: when(event.endDate),
    all_day: event.startDate.isDate,
    organizer: organizer ? address(organizer) : null,
    attendees: comp.getAllProperties("attendee").map(address),
    has_alarm: alarms.length > 0,
    alarm_triggers: alarms.map((a) => a.getFirstPropertyValue("trigger").toString()),
    properties: comp.getAllProperties().map((p) => p.name),
  };
}

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;
let out = [];
try {
  const parsed = ICAL.parse(text);
  const roots = typeof parsed[0] === "string" ? [parsed] : parsed;
  for (const jcal of roots) {
    const calendar = new ICAL.Component(jcal);
    for (const comp of calendar.getAllSubcomponents("vevent")) out.push(vevent(calendar, comp));
  }
} catch (error) {
  process.stderr.write(`ical.js refused the input: ${error.message}\n`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(out));
