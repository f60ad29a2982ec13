// Dates in Japan time whatever the browser's zone (the clinics and the service are in Japan),
// and sizes in binary units.

const parts = new Intl.DateTimeFormat('en-US', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function jst(unix) {
  const out = {};
  for (const p of parts.formatToParts(new Date(unix * 1000))) out[p.type] = p.value;
  return out;
}

// Unix seconds (or an RFC 3339 string) → "YYYY/MM/DD HH:mm" in JST; "—" for none.
export function formatTime(value) {
  const unix = toUnix(value);
  if (!unix) return '—';
  const p = jst(unix);
  return `${p.year}/${p.month}/${p.day} ${p.hour}:${p.minute}`;
}

export function formatDate(value) {
  const unix = toUnix(value);
  if (!unix) return '—';
  const p = jst(unix);
  return `${p.year}/${p.month}/${p.day}`;
}

// "2026-12-05" (a JST day from the server) → "12/05".
export function shortDay(day) {
  const m = /^\d{4}-(\d{2})-(\d{2})$/.exec(day || '');
  return m ? `${m[1]}/${m[2]}` : String(day || '');
}

// The last n JST days, oldest first, as "YYYY-MM-DD" (the server's day keys).
export function lastDays(n) {
  const out = [];
  const today = Date.now() + 9 * 3600 * 1000;
  for (let i = n - 1; i >= 0; i--) out.push(new Date(today - i * 86400 * 1000).toISOString().slice(0, 10));
  return out;
}

export function toUnix(value) {
  if (typeof value === 'number') return value > 1e11 ? Math.floor(value / 1000) : value;
  if (typeof value === 'string' && value) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
  }
  return 0;
}

// A "YYYY-MM-DDTHH:mm" value of <input type=datetime-local>, read as JST → Unix seconds.
export function jstInputToUnix(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/.exec(text || '');
  if (!m) return 0;
  const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0));
  return Math.floor(utc / 1000) - 9 * 3600;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n) {
  let v = Number(n) || 0;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u += 1;
  }
  const digits = u === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${UNITS[u]}`;
}

export function percent(part, whole) {
  if (!whole) return 0;
  return Math.min(100, Math.round((part / whole) * 1000) / 10);
}
